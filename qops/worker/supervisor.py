"""`Supervisor`: keeps N worker processes running under one parent (``qops worker --processes``).

SIGTERM and SIGINT are passed on to every child (a second one too, which makes the children
stop at once). A child that exits while no shutdown was asked for is restarted after a
backoff that doubles up to `MAX_BACKOFF` (and resets once a child has run for
`STABLE_AFTER`). A child exiting with 2 (bad settings or handlers) is not restarted: the
others are stopped and the supervisor exits 2. Once all children have stopped after a
shutdown, the exit code is 0 if each of them exited cleanly, else 1.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

log = logging.getLogger("qops.worker")

MIN_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0
EXIT_USAGE = 2
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux only: a child whose supervisor was killed (-9) gets SIGTERM and shuts down cleanly.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.backoff = MIN_BACKOFF
        self.restart_at = 0.0


class Supervisor:
    """Runs ``command`` in ``processes`` child processes until told to stop.

    Args:
        command: argv of one worker process.
        processes: How many to keep running.
        env: Environment of the children (default: this process's).
        on_exit: Called with the pid of each child once it has exited.
    """

    def __init__(
        self,
        command: Sequence[str],
        processes: int,
        env: Mapping[str, str] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.command = list(command)
        self.env = None if env is None else dict(env)
        self.on_exit = on_exit
        self.slots = [_Slot(i) for i in range(processes)]
        self._wake = threading.Event()
        self._signals: list[int] = []

    def run(self) -> int:
        """Supervise until all children stop after a signal; return the exit code."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals.append(signum)
        self._wake.set()

    def _spawn(self, slot: _Slot) -> None:
        slot.proc = subprocess.Popen(
            self.command,
            env=self.env,
            process_group=0,  # terminal Ctrl-C reaches the supervisor only; it forwards once
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        slot.started = time.monotonic()
        log.info("started worker process %d (pid %d)", slot.index, slot.proc.pid)

    def _exited(self, pid: int) -> None:
        if self.on_exit is not None:
            try:
                self.on_exit(pid)
            except Exception:
                log.exception("cleaning up after worker process %d failed", pid)

    def _supervise(self) -> int:
        for slot in self.slots:
            self._spawn(slot)
        forwarded = 0
        fatal = False
        while True:
            self._wake.wait(0.2)
            self._wake.clear()
            while forwarded < len(self._signals):
                sig = self._signals[forwarded]
                forwarded += 1
                for slot in self.slots:
                    if slot.proc is not None and slot.proc.poll() is None:
                        slot.proc.send_signal(sig)
            stopping = forwarded > 0 or fatal
            now = time.monotonic()
            for slot in self.slots:
                proc = slot.proc
                if proc is None:
                    if not stopping and now >= slot.restart_at:
                        self._spawn(slot)
                    continue
                code = proc.poll()
                if code is None or stopping:
                    continue
                slot.proc = None
                self._exited(proc.pid)
                if code == EXIT_USAGE:
                    log.error("worker process %d exited with code 2 (bad settings)", slot.index)
                    fatal = True
                    self._signals.append(signal.SIGTERM)
                    self._wake.set()
                    continue
                if now - slot.started >= STABLE_AFTER:
                    slot.backoff = MIN_BACKOFF
                log.error(
                    "worker process %d (pid %d) exited with code %s; restarting in %.0fs",
                    slot.index,
                    proc.pid,
                    code,
                    slot.backoff,
                )
                slot.restart_at = now + slot.backoff
                slot.backoff = min(MAX_BACKOFF, slot.backoff * 2)
            if stopping and all(s.proc is None or s.proc.poll() is not None for s in self.slots):
                break
        codes = []
        for slot in self.slots:
            if slot.proc is not None:
                codes.append(slot.proc.returncode)
                self._exited(slot.proc.pid)
        if fatal:
            return EXIT_USAGE
        return 0 if all(c == 0 for c in codes) else 1
