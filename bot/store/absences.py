"""Absences and the replacements they lend rooms to (SQL only; the rules are in
``bot.absences``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.store import Store

OPEN = ("waiting", "planned", "active")  # not over yet
STATUSES = (*OPEN, "ended", "cancelled")
Jobs = list[tuple[str, dict[str, Any], float | None]]  # kind, payload, not before


@dataclass(frozen=True)
class AbsenceRow:
    id: int
    territory: str
    member: str
    replacement: str | None
    start: float
    end: float
    note: str
    rooms: tuple[str, ...]
    status: str
    request_id: int | None

    @property
    def open(self) -> bool:
        return self.status in OPEN


_COLUMNS = 'id, territory, member, replacement, start, "end", note, rooms, status, request_id'


def _row(r: Any) -> AbsenceRow:
    return AbsenceRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7].split()), r[8], r[9]
    )  # fmt: skip


class AbsenceStore:
    def __init__(self, store: Store):
        self.store = store

    async def add(
        self,
        territory: str,
        member: str,
        replacement: str | None,
        start: float,
        end: float,
        note: str,
        status: str,
        jobs: Jobs,
    ) -> AbsenceRow:
        """A new absence and the jobs that follow it (its card, its start and end), in one
        transaction: ``jobs`` payloads get ``absence`` filled in."""
        now = time.time()
        async with self.store.transaction() as db:
            cur = await db.execute(
                'INSERT INTO absences (territory, member, replacement, start, "end", note, '
                "status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (territory, member, replacement, start, end, note, status, now, now),
            )
            absence_id = cur.lastrowid
            assert absence_id is not None
            for kind, payload, at in jobs:
                await Store.add_job(db, kind, {**payload, "absence": absence_id}, at=at)
        found = await self.get(absence_id)
        assert found is not None
        return found

    async def get(self, absence_id: int) -> AbsenceRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM absences WHERE id = ?", (absence_id,)
        ) as cur:
            row = await cur.fetchone()
        return _row(row) if row else None

    async def of_member(self, member: str) -> list[AbsenceRow]:
        """A member's absences not over yet, soonest first."""
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM absences WHERE member = ? AND status IN (?, ?, ?) "
            "ORDER BY start",
            (member, *OPEN),
        ) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def involving(self, user: str) -> list[AbsenceRow]:
        """Absences not over yet where ``user`` is the one away or the replacement."""
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM absences WHERE (member = ? OR replacement = ?) "
            "AND status IN (?, ?, ?) ORDER BY start",
            (user, user, *OPEN),
        ) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def current(self, territories: list[str], now: float) -> list[AbsenceRow]:
        """Absences of these territories not over yet (current and coming), by start."""
        if not territories:
            return []
        marks = ", ".join("?" for _ in territories)
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM absences WHERE territory IN ({marks}) "
            'AND status IN (?, ?, ?) AND "end" > ? ORDER BY start',
            (*territories, *OPEN, now),
        ) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def waiting_for(self, replacement: str) -> list[AbsenceRow]:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM absences WHERE replacement = ? AND status = 'waiting'",
            (replacement,),
        ) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def link_request(self, absence_id: int, request_id: int) -> None:
        await self.store._write(
            "UPDATE absences SET request_id = ?, updated = ? WHERE id = ?",
            (request_id, time.time(), absence_id),
        )

    async def move(
        self, absence_id: int, *, frm: tuple[str, ...], to: str, jobs: Jobs, **changes: Any
    ) -> bool:
        """The absence moved to status ``to`` (only from one of ``frm``), with ``changes``
        (``end``, ``rooms``, ``note``), and ``jobs`` queued, in one transaction. False when it
        was not in one of ``frm`` (done already, by a run before a crash or someone else)."""
        sets = ["status = ?", "updated = ?"]
        params: list[Any] = [to, time.time()]
        for column, value in changes.items():
            assert column in ("end", "rooms", "note")
            sets.append(f'"{column}" = ?')
            params.append(" ".join(value) if column == "rooms" else value)
        marks = ", ".join("?" for _ in frm)
        async with self.store.transaction() as db:
            cur = await db.execute(
                f"UPDATE absences SET {', '.join(sets)} WHERE id = ? AND status IN ({marks})",
                (*params, absence_id, *frm),
            )
            if cur.rowcount != 1:
                return False
            for kind, payload, at in jobs:
                await Store.add_job(db, kind, {**payload, "absence": absence_id}, at=at)
        return True

    async def prune(self, older_than: float) -> int:
        """Absences over for a while forgotten (who was away when is personal)."""
        cur = await self.store._write(
            "DELETE FROM absences WHERE status IN ('ended', 'cancelled') AND updated < ?",
            (older_than,),
        )
        return cur.rowcount

    async def forget_notes(self, user: str) -> None:
        """A forgotten member's notes erased (the rows go with ``prune``)."""
        await self.store._write("UPDATE absences SET note = '' WHERE member = ?", (user,))
