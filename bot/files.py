"""Files: the ones the bot writes that hold secrets, and the one it watches (its config)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Create or replace a file readable by its owner only (never half-written: the new
    content goes to a temporary file moved into place)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


async def watch(
    path: Path, changed: Callable[[float], Awaitable[None]], every: float = 2.0
) -> None:
    """``changed(mtime)`` each time the file's modification time moves (an editor's save)."""
    seen = path.stat().st_mtime
    while True:
        await asyncio.sleep(every)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if mtime != seen:
            seen = mtime
            await changed(mtime)
