"""This region's entries in its cross-region directory, as last published (SQL only; the
rules are in ``bot.federation.directory``)."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.store import Store


class DirectoryStore:
    def __init__(self, store: Store):
        self.store = store

    async def put(self, user_id: str, content: dict[str, Any], event_id: str) -> None:
        await self.store._write(
            "INSERT INTO directory_entries (user_id, content, event_id, published) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET content = excluded.content, "
            "event_id = excluded.event_id, published = excluded.published",
            (user_id, json.dumps(content), event_id, time.time()),
        )

    async def event_of(self, user_id: str) -> tuple[bool, str | None]:
        """(listed, the state event that published the entry)."""
        async with self.store.db.execute(
            "SELECT event_id FROM directory_entries WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return (False, None) if row is None else (True, row[0])

    async def drop(self, user_id: str) -> None:
        await self.store._write("DELETE FROM directory_entries WHERE user_id = ?", (user_id,))

    async def entries(self) -> list[tuple[str, dict[str, Any]]]:
        async with self.store.db.execute(
            "SELECT user_id, content FROM directory_entries ORDER BY user_id"
        ) as cur:
            return [(r[0], json.loads(r[1])) for r in await cur.fetchall()]
