"""``--app`` references: what loads, and the errors for what does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import qops
from qops.errors import ConfigError
from qops.worker.loader import load_handlers


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "good_app.py").write_text(
        "import qops\n"
        "handlers = qops.Handlers()\n"
        "class Holder:\n    inner = handlers\n"
        "def make():\n    return handlers\n"
        "def broken():\n    raise RuntimeError('no config')\n"
    )
    (tmp_path / "bad_app.py").write_text("import not_installed_anywhere\n")
    (tmp_path / "raising_app.py").write_text("raise ValueError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_loads_an_object_a_factory_and_a_dotted_attribute(app_dir: Path) -> None:
    h = load_handlers("good_app:handlers")
    assert isinstance(h, qops.Handlers)
    assert load_handlers("good_app:make") is h
    assert load_handlers("good_app:Holder.inner") is h


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("good_app", "must look like 'package.module:handlers'"),
        ("good_app:", "must look like"),
        ("missing_app:handlers", "cannot import module 'missing_app'"),
        (
            "bad_app:handlers",
            "importing 'bad_app' failed: No module named 'not_installed_anywhere'",
        ),
        ("raising_app:handlers", "importing 'raising_app' failed: ValueError: boom at import"),
        ("good_app:nope", "module 'good_app' has no attribute 'nope'"),
        ("good_app:broken", "good_app:broken failed: RuntimeError: no config"),
        ("good_app:Holder", "is a type, not a qops.Handlers"),
    ],
)
def test_bad_refs_raise_config_error(app_dir: Path, ref: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_handlers(ref)
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_worker_module_without_settings_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if k != "QOPS_WORKER_SETTINGS"}
    result = subprocess.run(
        [sys.executable, "-m", "qops.worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "QOPS_WORKER_SETTINGS is not set" in result.stderr
