"""On-call rosters' slots (SQL only; the rules are in ``bot.rosters``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

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

    async def notice_once(self, slot_id: int, kind: str, job: str, payload: dict[str, Any]) -> bool:
        """The first time ``kind`` is said of a slot: noted, with the job that says it, in one
        transaction (a crash loses neither). False when it was said already."""
        async with self.store.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO roster_notices (slot_id, kind, at) VALUES (?, ?, ?)",
                (slot_id, kind, time.time()),
            )
            if cur.rowcount != 1:
                return False
            await Store.add_job(db, job, payload)
        return True

    async def empty_from(
        self,
        member: str,
        since: float,
        jobs: Callable[[list[SlotRow]], list[tuple[str, dict[str, Any]]]],
    ) -> list[SlotRow]:
        """A member taken off every slot of theirs from ``since`` on, and the jobs that say so
        (made from the slots as they were) queued, in one transaction. The slots emptied."""
        async with self.store.transaction() as db:
            async with db.execute(
                f"SELECT {_COLUMNS} FROM roster_slots WHERE member = ? AND start >= ? "
                "ORDER BY start",
                (member, since),
            ) as cur:
                rows = [SlotRow(*r) for r in await cur.fetchall()]
            await db.executemany(
                "UPDATE roster_slots SET member = NULL, updated = ? WHERE id = ?",
                [(time.time(), row.id) for row in rows],
            )
            await db.executemany(
                "DELETE FROM roster_notices WHERE slot_id = ?", [(row.id,) for row in rows]
            )
            for kind, payload in jobs(rows) if rows else []:
                await Store.add_job(db, kind, payload)
        return rows

    async def fill(
        self,
        territory: str,
        made: Iterable[tuple[str, float, float]],
        assigned: Iterable[tuple[str, float, float, str | None]],
    ) -> int:
        """In one transaction: the templates' slots (role, start, end) made if missing, then
        the members put on theirs (role, start, end, member; None: left unfilled). How many
        were given a member."""
        now, count = time.time(), 0
        async with self.store.transaction() as db:
            await db.executemany(
                'INSERT OR IGNORE INTO roster_slots (territory, role, start, "end", updated) '
                "VALUES (?, ?, ?, ?, ?)",
                [(territory, role, start, end, now) for role, start, end in made],
            )
            for role, start, end, member in assigned:
                # A slot given to someone else is new to them: what was said of it (its
                # warnings, the reminder) may be said again.
                await db.execute(
                    "DELETE FROM roster_notices WHERE slot_id IN (SELECT id FROM roster_slots "
                    "WHERE territory = ? AND role = ? AND start = ? AND member IS NOT ?)",
                    (territory, role, start, member),
                )
                cur = await db.execute(
                    'INSERT INTO roster_slots (territory, role, start, "end", member, updated) '
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (territory, role, start) DO UPDATE "
                    'SET member = excluded.member, "end" = excluded."end", '
                    "updated = excluded.updated",
                    (territory, role, start, end, member, now),
                )
                count += cur.rowcount if member is not None else 0
        return count
