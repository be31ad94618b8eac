"""benchmarks/.venv-peers: a virtualenv for the peers that cannot share qops's redis-py.

arq 0.28 needs ``redis<6`` and SAQ's Redis extra ``redis<8``, while qops's environment runs
redis-py 8. Both fit redis-py 5, so they share this second virtualenv, made on first use
(``python -m benchmarks.peers_venv`` makes or updates it by itself).
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-peers"
REQUIREMENTS = (
    "arq>=0.28,<0.29",
    "saq[redis,hiredis]>=0.26,<0.27",
    "redis[hiredis]>=5.0,<6",
    # SAQ 0.26 imports it without declaring it.
    "typing_extensions>=4.6",
)
# Written after a successful install; a different list of requirements reinstalls.
STAMP = VENV / "bench-requirements.txt"


class PeersVenvError(Exception):
    """The virtualenv could not be made; the message has pip's last words."""


def python() -> str:
    """The peers' interpreter, after making or updating the virtualenv when needed."""
    wanted = "\n".join(REQUIREMENTS) + "\n"
    interpreter = VENV / "bin" / "python"
    if interpreter.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return str(interpreter)
    print(f"setting up {VENV.relative_to(HERE.parent)} ({', '.join(REQUIREMENTS)})", flush=True)
    if not interpreter.exists():
        venv.create(VENV, with_pip=True)
    proc = subprocess.run(
        [str(interpreter), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         *REQUIREMENTS],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise PeersVenvError(" | ".join(proc.stderr.strip().splitlines()[-3:]))
    STAMP.write_text(wanted)
    return str(interpreter)


if __name__ == "__main__":
    try:
        print(python())
    except PeersVenvError as exc:
        sys.exit(f"could not set up {VENV}: {exc}")
