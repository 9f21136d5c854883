"""Working groups animators made at run time (SQL only; the rules are in
``bot.territories.groups``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.store import Store


@dataclass(frozen=True)
class Group:
    key: str
    territory: str
    name: str
    visibility: str  # open | private
    created_by: str

    @property
    def room_id_part(self) -> str:
        return self.key.split(".", 1)[1]


class GroupStore:
    def __init__(self, store: Store):
        self.store = store

    async def all(self, *, include_archived: bool = False) -> list[Group]:
        """The live groups (``include_archived``: those archived too, whose keys stay taken)."""
        sql = "SELECT key, territory, name, visibility, created_by FROM groups"
        if not include_archived:
            sql += " WHERE archived IS NULL"
        async with self.store.db.execute(sql + " ORDER BY created") as cur:
            return [Group(*r) for r in await cur.fetchall()]

    async def archive(self, key: str) -> bool:
        """Out of the network: the reconciler archives its room (history kept)."""
        cur = await self.store._write(
            "UPDATE groups SET archived = ? WHERE key = ? AND archived IS NULL", (time.time(), key)
        )
        return cur.rowcount == 1

    async def add(self, group: Group) -> None:
        await self.store._write(
            "INSERT INTO groups (key, territory, name, visibility, created_by, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                group.key,
                group.territory,
                group.name,
                group.visibility,
                group.created_by,
                time.time(),
            ),
        )

    async def get(self, key: str) -> Group | None:
        async with self.store.db.execute(
            "SELECT key, territory, name, visibility, created_by FROM groups WHERE key = ? "
            "AND archived IS NULL",
            (key,),
        ) as cur:
            row = await cur.fetchone()
        return Group(*row) if row else None
