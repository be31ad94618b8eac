"""A task qops enqueues lands exactly as Go Asynq v0.26 writes it (fixture data from real Asynq)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import redis

from qops import Client, Task
from qops.storage import wire
from tests.conftest import FIXTURES

STATIC = FIXTURES / "asynq-v0.26.0-static.json"


def _fixture_keys() -> dict[str, dict[str, Any]]:
    data = json.loads(STATIC.read_text())
    return {e["key_text"]: e for e in data["keys"]}


def _hash(entry: dict[str, Any]) -> dict[bytes, bytes]:
    b = base64.b64decode
    return {b(f): b(v) for f, v in entry["value"].items()}


def _task_from_message(msg: Any, **extra: Any) -> Task:
    """The qops Task that describes the same task as a Go-written message."""
    options: dict[str, Any] = {"queue": msg.queue, "max_retry": msg.retry, "task_id": msg.id}
    if msg.timeout:
        options["timeout"] = msg.timeout
    if msg.deadline:
        options["deadline"] = msg.deadline
    if msg.retention:
        options["retention"] = msg.retention
    if msg.group_key:
        options["group"] = msg.group_key
    options.update(extra)
    return Task(msg.type, bytes(msg.payload), **options)


GO_TASKS = {
    # role in the fixture -> key, extra options Asynq was given that the message does not show
    "pending-default": ("asynq:{default}:t:40f141bb-e4a3-4f1c-82be-83ef221c1cac", {}),
    "pending-critical": ("asynq:{critical}:t:01f88247-b3fb-42f7-8aa4-2cc220523b4c", {}),
    "empty-payload": ("asynq:{default}:t:220c419a-661b-4ddf-9438-3bbb702fbb87", {}),
    "fixed-id": ("asynq:{default}:t:fixed-id-1", {}),
    "options": ("asynq:{default}:t:0d567f1b-d420-47b6-a589-70a9e175e505", {}),
    "deadline": ("asynq:{default}:t:0b641a53-d4d1-4c0b-a30a-c7066dc298db", {}),
    "unique": ("asynq:{default}:t:dddf7ed8-49a2-4b6a-98bb-567574fd2fe9", {"unique": 3600}),
    "group": ("asynq:{default}:t:a320aad1-7096-4636-81f4-197bdca9d256", {}),
    "scheduled": (
        "asynq:{default}:t:3bc99eca-7ba7-4848-9e6a-97f34249d190",
        {"process_in": 3600},
    ),
    "unique-scheduled": (
        "asynq:{default}:t:77f79a4b-9cfd-42ce-8da7-c8ebd4b4867e",
        {"process_in": 7200, "unique": 3600},
    ),
}


@pytest.mark.parametrize("role", sorted(GO_TASKS))
def test_enqueued_task_matches_go_asynq(role: str, redis_url: str, r: redis.Redis) -> None:
    key, extra = GO_TASKS[role]
    fixture = _fixture_keys()
    go_hash = _hash(fixture[key])
    go_msg = wire.decode_task(go_hash[b"msg"], key)

    with Client(redis_url) as client:
        info = client.enqueue(_task_from_message(go_msg, **extra))

    ours = r.hgetall(key)
    # Same fields, same message bytes, same state; pending_since is a fresh timestamp.
    assert set(ours) == set(go_hash)
    assert ours[b"msg"] == go_hash[b"msg"]
    assert ours[b"state"] == go_hash[b"state"] == info.state.value.encode()
    for field in (b"unique_key", b"group"):
        assert ours.get(field) == go_hash.get(field)
    if b"pending_since" in ours:
        assert abs(int(ours[b"pending_since"]) - time.time_ns()) < 60 * 10**9

    queue = go_msg.queue
    assert r.sismember("asynq:queues", queue)
    state = go_hash[b"state"].decode()
    if state == "pending":
        assert r.lrange(f"asynq:{{{queue}}}:pending", 0, -1) == [go_msg.id.encode()]
    elif state == "scheduled":
        score = r.zscore(f"asynq:{{{queue}}}:scheduled", go_msg.id)
        assert score is not None
        assert abs(score - (time.time() + extra["process_in"])) < 5
    else:
        group = go_hash[b"group"].decode()
        assert r.zscore(f"asynq:{{{queue}}}:g:{group}", go_msg.id) is not None
        assert r.smembers(f"asynq:{{{queue}}}:groups") == {group.encode()}
    if go_msg.unique_key:
        assert r.get(go_msg.unique_key) == go_msg.id.encode()
        lock_ttl = r.ttl(go_msg.unique_key)
        expected = extra["unique"] + extra.get("process_in", 0)
        assert expected - 5 <= lock_ttl <= expected


def test_go_task_ids_and_payload_digest_match(redis_url: str, r: redis.Redis) -> None:
    """The unique key digest is md5 of the payload, as in the Go-written lock names."""
    fixture = _fixture_keys()
    locks = {k for k in fixture if ":unique:" in k}
    with Client(redis_url) as client:
        client.enqueue("noop", b'{"fixture":"unique"}', unique=60)
        client.enqueue("noop", b'{"fixture":"unique-scheduled"}', unique=60, process_in=60)
    ours = {k.decode() for k in r.keys("*:unique:*")}
    assert ours == locks
