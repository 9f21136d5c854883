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
        """The request filed for the absence's replacement (``!absence parrainer``)."""
        await self.store._write(
            "UPDATE absences SET request_id = ?, updated = ? WHERE id = ?",
            (request_id, time.time(), absence_id),
        )

    async def move(
        self,
        absence_id: int,
        *,
        frm: tuple[str, ...],
        to: str,
        jobs: Jobs,
        ended_by: float | None = None,
        **changes: Any,
    ) -> bool:
        """The absence moved to status ``to`` (only from one of ``frm``, and, with
        ``ended_by``, only if it ends by then), with ``changes`` (``end``, ``rooms``,
        ``replacement``, ``note``), and ``jobs`` queued, in one transaction. False when it
        was not so (done already, by a run before a crash, or changed meanwhile)."""
        sets = ["status = ?", "updated = ?"]
        params: list[Any] = [to, time.time()]
        for column, value in changes.items():
            assert column in ("end", "rooms", "replacement", "note")
            sets.append(f'"{column}" = ?')
            params.append(" ".join(value) if column == "rooms" else value)
        marks = ", ".join("?" for _ in frm)
        where = f"id = ? AND status IN ({marks})"
        keys: list[Any] = [absence_id, *frm]
        if ended_by is not None:
            where, keys = where + ' AND "end" <= ?', [*keys, ended_by]
        async with self.store.transaction() as db:
            cur = await db.execute(
                f"UPDATE absences SET {', '.join(sets)} WHERE {where}", (*params, *keys)
            )
            if cur.rowcount != 1:
                return False
            for kind, payload, at in jobs:
                await Store.add_job(db, kind, {**payload, "absence": absence_id}, at=at)
        return True

    async def prune(self, older_than: float) -> list[int]:
        """Absences over for a while forgotten (who was away when is personal), with what
        was kept of their card. Their ids."""
        async with self.store.transaction() as db:
            async with db.execute(
                "SELECT id FROM absences WHERE status IN ('ended', 'cancelled') AND updated < ?",
                (older_than,),
            ) as cur:
                ids = [r[0] for r in await cur.fetchall()]
            await db.executemany("DELETE FROM absences WHERE id = ?", [(i,) for i in ids])
            await db.executemany(
                "DELETE FROM kv WHERE key = ?", [(f"absence.card:{i}",) for i in ids]
            )
        return ids

    async def forget(self, user: str) -> None:
        """A forgotten person's absences over erased now, and the notes of the others (which
        their end job closes, then ``prune`` erases)."""
        async with self.store.transaction() as db:
            await db.execute(
                "DELETE FROM absences WHERE (member = ? OR replacement = ?) "
                "AND status IN ('ended', 'cancelled') AND id NOT IN "
                "(SELECT CAST(json_extract(payload, '$.absence') AS INTEGER) FROM jobs "
                "WHERE kind LIKE 'absences.%' AND status = 'pending')",
                (user, user),
            )
            await db.execute("UPDATE absences SET note = '' WHERE member = ?", (user,))
