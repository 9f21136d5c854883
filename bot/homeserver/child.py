"""Run a program as a child that dies with its parent: ``python -m bot.homeserver.child PID
PROGRAM ARGS…`` asks the kernel for SIGTERM when the process that started it dies (Linux's
PR_SET_PDEATHSIG, kept across exec), then becomes PROGRAM. The embedded Synapse is started
this way: a bot killed with SIGKILL leaves no homeserver holding its port."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    parent, program = int(argv[0]), argv[1:]
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the start-up's orphan check remains
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        sys.exit(1)
    os.execv(program[0], program)


if __name__ == "__main__":
    main(sys.argv[1:])
