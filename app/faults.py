"""Named crash points for the fault tests: a job SIGKILLs itself at the point LEDGER_FAULT_AT names."""

from __future__ import annotations

import os
import signal

FAULT_ENV = "LEDGER_FAULT_AT"


def fault_point(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
