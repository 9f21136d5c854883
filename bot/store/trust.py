"""Pinned cross-signing identities and the changes that wait for an admin (SQL only)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.store import Store


@dataclass(frozen=True)
class KeyChange:
    user_id: str
    old: str
    new: str
    seen: float


class TrustStore:
    def __init__(self, store: Store):
        self.store = store

    async def pinned(self, user_id: str) -> str | None:
        async with self.store.db.execute(
            "SELECT master FROM pinned_keys WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def pin(self, user_id: str, master: str, by: str) -> None:
        """Pin ``master`` for ``user_id`` (first use, or an admin accepting a change), and
        drop the change that was waiting."""
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT INTO pinned_keys (user_id, master, pinned_at, pinned_by) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET master = "
                "excluded.master, pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by",
                (user_id, master, time.time(), by),
            )
            await db.execute("DELETE FROM key_changes WHERE user_id = ?", (user_id,))

    async def pin_first(self, user_id: str, master: str) -> bool:
        """Trust on first use: pin ``master`` unless a key is pinned already. True if pinned."""
        cur = await self.store._write(
            "INSERT INTO pinned_keys (user_id, master, pinned_at, pinned_by) "
            "VALUES (?, ?, ?, 'first-use') ON CONFLICT(user_id) DO NOTHING",
            (user_id, master, time.time()),
        )
        return cur.rowcount == 1

    async def note_change(self, user_id: str, old: str, new: str) -> bool:
        """Record a master key that differs from the pinned one. True if it is news (not the
        same change seen before), so that it is announced once."""
        cur = await self.store._write(
            "INSERT INTO key_changes (user_id, old, new, seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET old = excluded.old, new = excluded.new, "
            "seen = excluded.seen WHERE key_changes.new != excluded.new",
            (user_id, old, new, time.time()),
        )
        return cur.rowcount == 1

    async def change(self, user_id: str) -> KeyChange | None:
        async with self.store.db.execute(
            "SELECT user_id, old, new, seen FROM key_changes WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return KeyChange(*row) if row else None

    async def clear_change(self, user_id: str) -> None:
        await self.store._write("DELETE FROM key_changes WHERE user_id = ?", (user_id,))
