"""The public API of ``import qops``, pinned: adding or dropping a name is a deliberate change."""

from __future__ import annotations

import pytest

import qops
from qops import errors
from tests.helpers import modules_loaded

PUBLIC_API = [
    "AsyncClient",
    "Client",
    "ConfigError",
    "ConnectionFailedError",
    "CorruptTaskError",
    "DailyStats",
    "DuplicateTaskError",
    "EnqueueRefusedError",
    "GroupInfo",
    "Handlers",
    "Inspector",
    "InvalidArgumentError",
    "InvalidInputError",
    "InvalidQueuesError",
    "InvalidScheduleError",
    "InvalidTaskError",
    "LeaseExpiredError",
    "NotFoundError",
    "QopsError",
    "QueueInfo",
    "QueueNotEmptyError",
    "QueueNotFoundError",
    "QueueStateError",
    "Scheduler",
    "SchedulerEnqueueEvent",
    "SchedulerEntry",
    "SchedulerEntryNotFoundError",
    "ServerInfo",
    "SkipRetry",
    "Task",
    "TaskIdConflictError",
    "TaskInfo",
    "TaskNotFoundError",
    "TaskState",
    "TaskStateError",
    "Worker",
    "WorkerInfo",
]


def test_all_is_the_pinned_public_api() -> None:
    assert qops.__all__ == PUBLIC_API


@pytest.mark.parametrize("name", PUBLIC_API)
def test_each_name_is_the_qops_object_of_that_name(name: str) -> None:
    obj = getattr(qops, name)
    assert obj.__name__ == name
    assert obj.__module__.startswith("qops.")


def test_every_error_of_the_tree_is_exported_and_drawn() -> None:
    defined = {
        name
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, errors.QopsError)
    }
    assert defined <= set(qops.__all__)
    doc = errors.__doc__ or ""
    assert [name for name in sorted(defined) if name not in doc] == []


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nothing'"):
        _ = qops.Nothing  # type: ignore[attr-defined]


def test_the_whole_api_loads_without_the_cli_or_the_dashboard() -> None:
    assert modules_loaded("import qops", "redis", "google.protobuf") == []
    heavy = ("textual", "typer", "rich", "prometheus_client")
    assert modules_loaded("from qops import *", *heavy) == []
