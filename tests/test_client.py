from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from qops import (
    AsyncClient,
    Client,
    DuplicateTaskError,
    InvalidTaskError,
    Task,
    TaskIdConflictError,
    TaskState,
)
from qops.storage import wire


def _msg(r: redis.Redis, queue: str, task_id: str) -> Any:
    return wire.decode_task(r.hget(f"asynq:{{{queue}}}:t:{task_id}", "msg"), "test")


@pytest.fixture
def client(redis_url: str) -> Any:
    with Client(redis_url) as c:
        yield c


def test_enqueue_pending_defaults(client: Client, r: redis.Redis) -> None:
    info = client.enqueue("email:send", {"to": "ada"})
    assert info.state is TaskState.PENDING
    assert info.queue == "default"
    assert info.max_retry == 25
    assert info.timeout == 1800
    assert info.next_process_at is not None
    assert info.pending_since == info.next_process_at
    msg = _msg(r, "default", info.id)
    assert (msg.type, msg.payload, msg.retry, msg.timeout) == (
        "email:send",
        b'{"to":"ada"}',
        25,
        1800,
    )
    assert r.lrange("asynq:{default}:pending", 0, -1) == [info.id.encode()]
    assert r.smembers("asynq:queues") == {b"default"}


@pytest.mark.parametrize(
    ("payload", "stored"),
    [
        (b"\x00\xff", b"\x00\xff"),
        (bytearray(b"ab"), b"ab"),
        ({"a": [1, 2]}, b'{"a":[1,2]}'),
        ([1, "x"], b'[1,"x"]'),
        ("héllo", '"héllo"'.encode()),
        (42, b"42"),
        (1.5, b"1.5"),
        (None, b""),
    ],
)
def test_payload_encoding(client: Client, r: redis.Redis, payload: Any, stored: bytes) -> None:
    info = client.enqueue("t", payload)
    assert _msg(r, "default", info.id).payload == stored
    assert info.payload == stored


def test_options_are_stored(client: Client, r: redis.Redis) -> None:
    deadline = datetime.now(UTC) + timedelta(hours=2)
    info = client.enqueue(
        "report",
        b"x",
        queue="critical",
        max_retry=3,
        timeout=timedelta(seconds=90.5),
        deadline=deadline,
        retention=600,
        task_id="my-id",
        headers={"trace": "abc"},
    )
    msg = _msg(r, "critical", "my-id")
    assert msg.retry == 3
    assert msg.timeout == 91  # whole seconds, rounded up so it never becomes 0
    assert msg.deadline == int(deadline.timestamp())
    assert msg.retention == 600
    assert dict(msg.headers) == {"trace": "abc"}
    assert info.deadline is not None and abs(info.deadline.timestamp() - deadline.timestamp()) < 1


def test_deadline_only_has_no_timeout(client: Client, r: redis.Redis) -> None:
    info = client.enqueue("t", deadline=time.time() + 60)
    assert _msg(r, "default", info.id).timeout == 0


def test_scheduled_with_process_at_and_process_in(client: Client, r: redis.Redis) -> None:
    at = datetime.now(UTC) + timedelta(minutes=5)
    a = client.enqueue("t", process_at=at)
    b = client.enqueue("t", process_in=timedelta(minutes=10))
    assert a.state is b.state is TaskState.SCHEDULED
    assert r.zscore("asynq:{default}:scheduled", a.id) == int(at.timestamp())
    score = r.zscore("asynq:{default}:scheduled", b.id)
    assert score is not None and abs(score - (time.time() + 600)) < 3
    assert r.hget(f"asynq:{{default}}:t:{a.id}", "state") == b"scheduled"
    assert r.llen("asynq:{default}:pending") == 0


def test_process_at_in_the_past_is_pending(client: Client) -> None:
    assert client.enqueue("t", process_at=time.time() - 10).state is TaskState.PENDING


def test_group_goes_to_aggregating(client: Client, r: redis.Redis) -> None:
    info = client.enqueue("agg", b"1", group="batch")
    assert info.state is TaskState.AGGREGATING
    assert info.next_process_at is None
    assert info.pending_since is None
    assert r.zscore("asynq:{default}:g:batch", info.id) is not None
    assert r.smembers("asynq:{default}:groups") == {b"batch"}
    assert r.hget(f"asynq:{{default}}:t:{info.id}", "group") == b"batch"


def test_scheduled_group_task_keeps_its_group(client: Client, r: redis.Redis) -> None:
    info = client.enqueue("agg", b"1", group="batch", process_in=60)
    assert info.state is TaskState.SCHEDULED
    assert r.hget(f"asynq:{{default}}:t:{info.id}", "group") == b"batch"


def test_unique_refuses_duplicates_until_lock_expires(client: Client, r: redis.Redis) -> None:
    first = client.enqueue("t", {"k": 1}, unique=60)
    with pytest.raises(DuplicateTaskError):
        client.enqueue("t", {"k": 1}, unique=60)
    client.enqueue("t", {"k": 2}, unique=60)  # another payload is another task
    client.enqueue("t", {"k": 1}, unique=60, queue="other")  # and so is another queue
    lock = first.unique_key
    assert r.get(lock) == first.id.encode()
    assert 55 <= r.ttl(lock) <= 60
    assert r.hget(f"asynq:{{default}}:t:{first.id}", "unique_key") == lock.encode()
    r.delete(lock)
    assert client.enqueue("t", {"k": 1}, unique=60).state is TaskState.PENDING


def test_unique_group_task_records_its_lock(client: Client, r: redis.Redis) -> None:
    info = client.enqueue("agg", b"1", group="g", unique=60)
    assert r.hget(f"asynq:{{default}}:t:{info.id}", "unique_key") == info.unique_key.encode()
    with pytest.raises(DuplicateTaskError):
        client.enqueue("agg", b"1", group="g", unique=60)


def test_task_id_conflict(client: Client, r: redis.Redis) -> None:
    client.enqueue("t", b"a", task_id="x")
    with pytest.raises(TaskIdConflictError):
        client.enqueue("t", b"b", task_id="x")
    assert r.llen("asynq:{default}:pending") == 1
    assert _msg(r, "default", "x").payload == b"a"


def test_enqueue_accepts_a_task_object(client: Client) -> None:
    info = client.enqueue(Task("t", b"z", queue="low"))
    assert info.queue == "low"
    with pytest.raises(TypeError):
        client.enqueue(Task("t"), b"payload")


def test_enqueue_many_reports_per_task(client: Client, r: redis.Redis) -> None:
    client.enqueue("t", task_id="taken")
    tasks = [Task("t", {"i": i}) for i in range(1200)]
    tasks += [
        Task("t", task_id="taken"),
        Task("u", b"same", unique=30),
        Task("u", b"same", unique=30),
        Task("later", process_in=60),
        Task("agg", group="g"),
        Task("t", queue="critical"),
    ]
    results = client.enqueue_many(tasks)
    assert len(results) == len(tasks)
    assert all(not isinstance(x, Exception) for x in results[:1200])
    assert isinstance(results[1200], TaskIdConflictError)
    assert not isinstance(results[1201], Exception)
    assert isinstance(results[1202], DuplicateTaskError)
    assert [getattr(x, "state", None) for x in results[1203:]] == [
        TaskState.SCHEDULED,
        TaskState.AGGREGATING,
        TaskState.PENDING,
    ]
    assert r.llen("asynq:{default}:pending") == 1 + 1200 + 1
    # Oldest first at the right end, as Asynq's workers pop from the right.
    oldest = r.lindex("asynq:{default}:pending", -2)  # after "taken"
    assert oldest is not None and json.loads(_msg(r, "default", oldest.decode()).payload) == {
        "i": 0
    }
    assert r.smembers("asynq:queues") == {b"default", b"critical"}
    assert client.enqueue_many([]) == []


def test_enqueue_publishes_wake_for_pending_only(client: Client, r: redis.Redis) -> None:
    pubsub = r.pubsub()
    pubsub.subscribe("qops:wake:{default}")
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"  # type: ignore[index]
    client.enqueue("t", process_in=60)
    client.enqueue("t")
    message = pubsub.get_message(timeout=1)
    assert message is not None and message["data"] == b"1"
    assert pubsub.get_message(timeout=0.1) is None
    pubsub.close()


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("",), {}, "task type"),
        (("  ",), {}, "task type"),
        (("t",), {"queue": ""}, "queue name"),
        (("t",), {"queue": "has space"}, "invalid queue name"),
        (("t",), {"queue": "bad{tag}"}, "invalid queue name"),
        (("t",), {"process_in": -1}, "process_in"),
        (("t",), {"timeout": -5}, "timeout"),
        (("t",), {"timeout": 0}, "timeout"),
        (("t",), {"deadline": time.time() - 1}, "deadline is in the past"),
        (("t",), {"deadline": datetime(2030, 1, 1)}, "timezone-aware"),
        (("t",), {"process_at": "tomorrow"}, "process_at"),
        (("t",), {"process_at": time.time(), "process_in": 5}, "not both"),
        (("t",), {"unique": 0.5}, "unique"),
        (("t",), {"max_retry": -1}, "max_retry"),
        (("t",), {"task_id": ""}, "task_id"),
        (("t",), {"group": ""}, "group"),
        (("t",), {"retention": -1}, "retention"),
        (("t", {1, 2}), {}, "JSON"),
    ],
)
def test_invalid_input_writes_nothing(
    client: Client, r: redis.Redis, args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidTaskError, match=match) as exc_info:
        client.enqueue(*args, **kwargs)
    assert isinstance(exc_info.value, ValueError)
    assert r.dbsize() == 0


async def test_async_client_same_surface(redis_url: str, r: redis.Redis) -> None:
    async with AsyncClient(redis_url) as client:
        info = await client.enqueue("t", {"a": 1}, queue="q1")
        with pytest.raises(TaskIdConflictError):
            await client.enqueue("t", task_id=info.id, queue="q1")
        results = await client.enqueue_many(Task("t", i, queue="q1") for i in range(10))
    assert all(x.state is TaskState.PENDING for x in results if not isinstance(x, Exception))
    assert r.llen("asynq:{q1}:pending") == 11


def test_scripts_reload_after_script_flush(client: Client, r: redis.Redis) -> None:
    client.enqueue("t")
    r.script_flush()
    client.enqueue("t")
    r.script_flush()
    client.enqueue_many([Task("t"), Task("t", unique=10)])
    assert r.llen("asynq:{default}:pending") == 4
