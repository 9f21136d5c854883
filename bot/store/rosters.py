"""On-call rosters' slots (SQL only; the rules are in ``bot.rosters``)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from bot.store import Store


@dataclass(frozen=True)
class SlotRow:
    id: int
    territory: str
    role: str
    start: float
    end: float
    member: str | None


_COLUMNS = 'id, territory, role, start, "end", member'


class RosterStore:
    def __init__(self, store: Store):
        self.store = store

    async def slots(
        self, territory: str | None, since: float, until: float, member: str | None = None
    ) -> list[SlotRow]:
        """Slots that overlap [since, until), of a territory (or all) and a member (or all),
        by time."""
        sql = f'SELECT {_COLUMNS} FROM roster_slots WHERE start < ? AND "end" > ?'
        params: list[object] = [until, since]
        if territory is not None:
            sql, params = sql + " AND territory = ?", [*params, territory]
        if member is not None:
            sql, params = sql + " AND member = ?", [*params, member]
        async with self.store.db.execute(sql + " ORDER BY start, role", params) as cur:
            return [SlotRow(*r) for r in await cur.fetchall()]

    async def fill(
        self,
        territory: str,
        made: Iterable[tuple[str, float, float]],
        assigned: Iterable[tuple[str, float, float, str | None]],
    ) -> int:
        """In one transaction: the templates' slots (role, start, end) made if missing, then
        the members put on theirs (role, start, end, member). How many were assigned."""
        now, count = time.time(), 0
        async with self.store.transaction() as db:
            await db.executemany(
                'INSERT OR IGNORE INTO roster_slots (territory, role, start, "end", updated) '
                "VALUES (?, ?, ?, ?, ?)",
                [(territory, role, start, end, now) for role, start, end in made],
            )
            for role, start, end, member in assigned:
                cur = await db.execute(
                    'INSERT INTO roster_slots (territory, role, start, "end", member, updated) '
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (territory, role, start) DO UPDATE "
                    'SET member = excluded.member, "end" = excluded."end", '
                    "updated = excluded.updated",
                    (territory, role, start, end, member, now),
                )
                count += cur.rowcount
        return count
