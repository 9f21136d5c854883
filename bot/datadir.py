"""The data directory's lock: one bot at a time on a data directory, and no restore under a
running one. An advisory ``flock`` on ``<data-dir>/agora.lock``, held by ``agora-bot run`` for
its whole life (the kernel lets it go when the process dies, however it dies); the file names
the holder's pid for the operator."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from bot.errors import AgoraError

LOCK_NAME = "agora.lock"


class DataDirBusy(AgoraError):
    """Another process holds the data directory (a running bot, or a restore under way)."""

    def __init__(self, data_dir: Path, pid: int | None):
        self.data_dir, self.pid = data_dir, pid
        by = f" (pid {pid})" if pid else ""
        super().__init__(f"an agora-bot is running on {data_dir}{by}: stop it first")


class DataDirLock:
    """Held from ``acquire`` to ``release``; ``DataDirBusy`` if someone else holds it."""

    def __init__(self, data_dir: Path, fd: int):
        self.data_dir = data_dir
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid_in(fd)
            os.close(fd)
            raise DataDirBusy(data_dir, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(data_dir, fd)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)  # no stale pid for the next reader
            os.close(self._fd)  # the lock goes with the descriptor
            self._fd = None


def holder(data_dir: Path) -> int | None:
    """The pid of the process holding ``data_dir``'s lock (0 if it named none), or None when
    nobody holds it. Looks without creating anything."""
    try:
        fd = os.open(data_dir / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _pid_in(fd) or 0
        return None  # free (and let go again when the descriptor closes)
    finally:
        os.close(fd)


def _pid_in(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip() or "0") or None
    return None
