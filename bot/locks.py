"""One lock a key (a person, a room): work on one key goes one at a time, work on different
keys side by side, and no lock is kept for a key once nobody holds or awaits it."""

from __future__ import annotations

import asyncio
import weakref


class KeyedLocks:
    def __init__(self) -> None:
        # Held by whoever holds or awaits the lock (``async with`` keeps a reference), then
        # dropped: a thousand people answering leave nothing behind.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def __len__(self) -> int:
        return len(self._locks)
