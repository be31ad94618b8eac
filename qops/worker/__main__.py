"""``python -m qops.worker``: one worker process (see `qops.worker.entry`)."""

from __future__ import annotations

import sys

from qops.worker.entry import main

sys.exit(main())
