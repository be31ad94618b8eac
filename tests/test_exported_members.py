"""The public API of ``import qops``, pinned: adding or dropping a name is a deliberate change."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import qops
from qops import errors

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
    code = (
        "import json, sys\n"
        "import qops\n"
        "bare = sorted(m for m in ('redis', 'google.protobuf') if m in sys.modules)\n"
        "from qops import *\n"
        "heavy = sorted(m for m in ('textual', 'typer', 'rich', 'prometheus_client') "
        "if m in sys.modules)\n"
        "print(json.dumps([bare, heavy]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == [[], []]
