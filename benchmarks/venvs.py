"""The virtualenvs every measured process runs in, made on first use (both git-ignored).

- ``benchmarks/.venv-bench``: qops installed from this checkout, not editable, with its
  ``bench`` extra (RQ, Celery, Dramatiq, Huey), and nothing from ``dev``: what
  ``pip install qops`` (or huey, rq, ...) gives users. The development virtualenv has the
  OpenTelemetry SDK, and redis-py 8 then imports its metrics SDK and psutil at
  ``import redis``, megabytes and milliseconds that no user's worker carries.
- ``benchmarks/.venv-peers``: arq and SAQ on redis-py 5 (arq 0.28 needs ``redis<6``, SAQ's
  Redis extra ``redis<8``, qops runs on redis-py 8).

A requirements stamp in each rebuilds it from scratch when its requirements change, and
``.venv-bench`` reinstalls qops whenever the checkout's qops sources change, so no figure
comes from stale code. A ``.pth`` file in each puts the repository on ``sys.path``, so that
``benchmarks`` and ``tests`` import there; a ``.pth`` entry comes after site-packages, so in
``.venv-bench`` ``import qops`` finds the installed package, not the checkout. Processes run
with `env`: no ``PYTHONPATH``, and ``PYTHONSAFEPATH`` set, as either would put the checkout
ahead of site-packages. `Venv.describe` checks where qops comes from.

``python -m benchmarks.venvs`` makes or updates both and says what each holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# What a wheel of qops is built from: the package and the files pyproject.toml names.
SOURCES = ("qops", "pyproject.toml", "README.md", "LICENSE*")
PEERS_REQUIREMENTS = (
    "arq>=0.28,<0.29",
    "saq[redis,hiredis]>=0.26,<0.27",
    "redis[hiredis]>=5.0,<6",
    # SAQ 0.26 imports it without declaring it.
    "typing_extensions>=4.6",
)
PTH = "bench-repo.pth"
STAMP = "bench-requirements.txt"
SOURCES_STAMP = "bench-qops-sources.txt"
# Run in each venv by `describe`: what a measured process there imports.
_PROBE = """
import importlib.util, json, platform, sys
import redis
found = lambda name: importlib.util.find_spec(name) is not None
qops = importlib.util.find_spec("qops")
print(json.dumps({
    "python": platform.python_version(),
    "redis": redis.__version__,
    "qops": qops.origin if qops else None,
    "opentelemetry": found("opentelemetry"),
}))
"""


class VenvError(Exception):
    """A virtualenv could not be made; the message has pip's last words."""


def env() -> dict[str, str]:
    """The environment of every measured process: the venv's own ``sys.path`` only."""
    out = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out["PYTHONSAFEPATH"] = "1"
    return out


def _pip(interpreter: Path, *args: str) -> None:
    proc = subprocess.run(
        [str(interpreter), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise VenvError(" | ".join(proc.stderr.strip().splitlines()[-3:]))


def _source_files() -> list[str]:
    """The checkout's qops sources, committed or not (new files too, ignored ones not)."""
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
             *SOURCES],
            cwd=REPO, capture_output=True, text=True, check=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise VenvError(f"cannot list the qops sources with git: {exc}") from exc
    # Files deleted but not yet staged are still listed.
    return sorted({f for f in proc.stdout.split("\0") if f and (REPO / f).is_file()})


def _checkout_state() -> str:
    """The commit the qops sources are at, and how many of them differ from it."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", *SOURCES], cwd=REPO, capture_output=True,
        text=True, check=False,
    ).stdout.splitlines()  # fmt: skip
    changed = f", {len(status)} files changed since" if status else ""
    return f"checkout {head or '?'}{changed}"


def _sources_hash(files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (REPO / name).read_bytes() + b"\0")
    return digest.hexdigest() + "\n"


@contextmanager
def _source_copy(files: list[str]) -> Iterator[Path]:
    """The listed files in a scratch directory: pip builds there, not in the checkout."""
    with tempfile.TemporaryDirectory(prefix="qops-bench-src-") as tmp:
        for name in files:
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, target)
        yield Path(tmp)


def _bench_requirements() -> tuple[str, ...]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return (*project["dependencies"], *project["optional-dependencies"]["bench"])


@dataclass(frozen=True)
class Venv:
    """One of the benchmarks' virtualenvs.

    Args:
        name: Its directory in ``benchmarks/``.
        queues: What it runs, for messages.
        with_qops: Whether qops comes from the checkout, with its ``bench`` extra;
            otherwise `PEERS_REQUIREMENTS` is all it holds.
    """

    name: str
    queues: str
    with_qops: bool

    @property
    def path(self) -> Path:
        return HERE / self.name

    @property
    def interpreter(self) -> Path:
        return self.path / "bin" / "python"

    def requirements(self) -> tuple[str, ...]:
        return _bench_requirements() if self.with_qops else PEERS_REQUIREMENTS

    def python(self) -> str:
        """Its interpreter, after making, rebuilding or refreshing the venv when needed.

        Raises:
            VenvError: pip or git failed.
        """
        wanted = "\n".join(self.requirements()) + "\n"
        stamp = self.path / STAMP
        if not (self.interpreter.exists() and stamp.exists() and stamp.read_text() == wanted):
            print(f"setting up {self.path.relative_to(REPO)} for {self.queues}", flush=True)
            stamp.unlink(missing_ok=True)
            venv.create(self.path, clear=True, with_pip=True)
            if self.with_qops:
                self._install_qops(extra="[bench]")
            else:
                _pip(self.interpreter, *PEERS_REQUIREMENTS)
            stamp.write_text(wanted)
        elif self.with_qops:
            self._install_qops(extra=None)
        pth = self._site_packages() / PTH
        if not pth.exists() or pth.read_text() != f"{REPO}\n":
            pth.write_text(f"{REPO}\n")
        return str(self.interpreter)

    def _install_qops(self, extra: str | None) -> None:
        """qops from the checkout with ``extra``'s requirements; without, a reinstall of qops
        alone when its sources changed since the last install."""
        files = _source_files()
        current = _sources_hash(files)
        stamp = self.path / SOURCES_STAMP
        if extra is None and stamp.exists() and stamp.read_text() == current:
            return
        if extra is None:
            print(f"reinstalling qops in {self.path.relative_to(REPO)}: sources changed",
                  flush=True)  # fmt: skip
        stamp.unlink(missing_ok=True)
        with _source_copy(files) as src:
            if extra is None:
                _pip(self.interpreter, "--no-deps", "--force-reinstall", str(src))
            else:
                _pip(self.interpreter, f"{src}{extra}")
        stamp.write_text(current)

    def _site_packages(self) -> Path:
        found = sorted(self.path.glob("lib/python3*/site-packages"))
        if not found:
            raise VenvError(f"no site-packages in {self.path}")
        return found[0]

    def describe(self, python: str) -> str:
        """What a process of ``python``, this venv's interpreter, runs on: Python, redis-py,
        where qops comes from; checked to be what users of the packages have.

        Raises:
            VenvError: The interpreter does not start, qops is not the installed package, or
                OpenTelemetry is importable.
        """
        proc = subprocess.run(
            [python, "-c", _PROBE], cwd=REPO, env=env(), capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise VenvError(" | ".join(proc.stderr.strip().splitlines()[-3:]))
        facts = json.loads(proc.stdout)
        if facts["opentelemetry"]:
            raise VenvError(f"opentelemetry is importable under {python}")
        parts = [f"Python {facts['python']}", f"redis-py {facts['redis']}"]
        if self.with_qops:
            origin = facts["qops"]
            if origin is None or self.path not in Path(origin).parents:
                raise VenvError(f"qops imports from {origin}, not from {self.path}")
            parts.append(f"qops installed (not editable) from the {_checkout_state()}")
        parts.append("opentelemetry not importable")
        return f"{self.path.relative_to(REPO)}/bin/python: {', '.join(parts)}"


BENCH = Venv(".venv-bench", "qops, RQ, Celery, Dramatiq and Huey", with_qops=True)
PEERS = Venv(".venv-peers", "arq and SAQ", with_qops=False)


def main() -> int:
    status = 0
    for v in (BENCH, PEERS):
        try:
            print(f"{v.queues}: {v.describe(v.python())}", flush=True)
        except VenvError as exc:
            print(f"could not set up {v.path}: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
