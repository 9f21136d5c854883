"""Workshops and events, and who has a seat or waits for one (SQL only; the rules are in
``bot.workshops``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.store import Store

REGISTERED = "registered"
WAITING = "waiting"
Jobs = list[tuple[str, dict[str, Any], float | None]]  # kind, payload, not before


@dataclass(frozen=True)
class WorkshopRow:
    id: int
    series: int
    territory: str
    title: str
    start: float
    end: float
    recurrence: str
    seats: int | None
    link: str
    place: str
    author: str
    status: str  # open | over | cancelled
    room_id: str | None
    event_id: str | None
    thread_id: str | None


_COLUMNS = (
    'id, series, territory, title, start, "end", recurrence, seats, link, place, author, '
    "status, room_id, event_id, thread_id"
)


def _row(r: Any) -> WorkshopRow:
    return WorkshopRow(r[0], r[1] or r[0], *r[2:15])


@dataclass(frozen=True)
class Seat:
    user: str
    status: str  # registered | waiting
    order: int  # when they asked: the lower, the earlier


@dataclass(frozen=True)
class Registered:
    """What a registration did: the status the person has now, and whether it is new."""

    status: str
    fresh: bool


class WorkshopStore:
    def __init__(self, store: Store):
        self.store = store

    async def add(
        self,
        *,
        territory: str,
        title: str,
        start: float,
        end: float,
        recurrence: str,
        seats: int | None,
        link: str,
        place: str,
        author: str,
        jobs: Jobs,
        series: int | None = None,
        cause: str | None = None,
    ) -> tuple[WorkshopRow, bool]:
        """A new workshop and its jobs (payloads get ``workshop`` filled in), in one
        transaction; the one ``cause`` (a command's event) made already, if it did (and
        False)."""
        if cause is not None:
            found = await self._by_cause(cause)
            if found is not None:
                return found, False
        now = time.time()
        async with self.store.transaction() as db:
            cur = await db.execute(
                "INSERT INTO workshops (series, cause, territory, title, start, \"end\", "
                "recurrence, seats, link, place, author, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (series, cause, territory, title, start, end, recurrence, seats, link, place,
                 author, now, now),
            )  # fmt: skip
            workshop_id = cur.lastrowid
            assert workshop_id is not None
            for kind, payload, at in jobs:
                await Store.add_job(db, kind, {**payload, "workshop": workshop_id}, at=at)
        found = await self.get(workshop_id)
        assert found is not None
        return found, True

    async def _by_cause(self, cause: str) -> WorkshopRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM workshops WHERE cause = ?", (cause,)
        ) as cur:
            row = await cur.fetchone()
        return _row(row) if row else None

    async def get(self, workshop_id: int) -> WorkshopRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM workshops WHERE id = ?", (workshop_id,)
        ) as cur:
            row = await cur.fetchone()
        return _row(row) if row else None

    async def of_announcement(self, event_id: str) -> WorkshopRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM workshops WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return _row(row) if row else None

    async def upcoming(self, territories: list[str] | None, now: float) -> list[WorkshopRow]:
        """Open workshops not ended yet, soonest first (of these territories, or all)."""
        where = "status = 'open' AND \"end\" > ?"
        params: list[Any] = [now]
        if territories is not None:
            if not territories:
                return []
            where += f" AND territory IN ({', '.join('?' for _ in territories)})"
            params.extend(territories)
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM workshops WHERE {where} ORDER BY start, id", params
        ) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def between(
        self, territories: list[str], since: float, until: float
    ) -> list[WorkshopRow]:
        """Workshops of these territories that meet the span (a calendar's), any status."""
        if not territories:
            return []
        marks = ", ".join("?" for _ in territories)
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM workshops WHERE territory IN ({marks}) "
            'AND "end" > ? AND start < ? ORDER BY start, id',
            (*territories, since, until),
        ) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def set_announcement(self, workshop_id: int, room_id: str, event_id: str) -> None:
        await self.store._write(
            "UPDATE workshops SET room_id = ?, event_id = ?, updated = ? WHERE id = ?",
            (room_id, event_id, time.time(), workshop_id),
        )

    async def set_thread(self, workshop_id: int, thread_id: str) -> None:
        await self.store._write(
            "UPDATE workshops SET thread_id = ?, updated = ? WHERE id = ?",
            (thread_id, time.time(), workshop_id),
        )

    async def move(self, workshop_id: int, *, frm: str, to: str, jobs: Jobs) -> bool:
        """The workshop moved from status ``frm`` to ``to`` with ``jobs`` queued, in one
        transaction; False when it was not in ``frm`` (done already)."""
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE workshops SET status = ?, updated = ? WHERE id = ? AND status = ?",
                (to, time.time(), workshop_id, frm),
            )
            if cur.rowcount != 1:
                return False
            for kind, payload, at in jobs:
                await Store.add_job(db, kind, {**payload, "workshop": workshop_id}, at=at)
        return True

    # --- seats ---------------------------------------------------------------------------------

    async def seats(self, workshop_id: int) -> list[Seat]:
        async with self.store.db.execute(
            "SELECT user_id, status, seq FROM workshop_seats WHERE workshop = ? ORDER BY seq",
            (workshop_id,),
        ) as cur:
            return [Seat(r[0], r[1], r[2]) for r in await cur.fetchall()]

    async def register(
        self,
        workshop: WorkshopRow,
        user: str,
        via: str,
        jobs: Jobs,
        place: Callable[[int | None, list[Seat]], str],
        reaction: str | None = None,
    ) -> Registered:
        """``user`` given a seat, or put on the waiting list when none is free (first come,
        first served), with ``jobs`` queued in the same transaction; someone already there
        keeps their place (and nothing is queued)."""
        async with self.store.transaction() as db:
            async with db.execute(
                "SELECT user_id, status, seq FROM workshop_seats WHERE workshop = ?",
                (workshop.id,),
            ) as cur:
                taken = [Seat(r[0], r[1], r[2]) for r in await cur.fetchall()]
            mine = next((s for s in taken if s.user == user), None)
            if mine is not None:
                return Registered(mine.status, False)
            status = place(workshop.seats, taken)
            await db.execute(
                "INSERT INTO workshop_seats (workshop, user_id, status, via, reaction, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (workshop.id, user, status, via, reaction, time.time()),
            )
            for kind, payload, at in jobs:
                payload = {**payload, "workshop": workshop.id, "user": user, "status": status}
                await Store.add_job(db, kind, payload, at=at)
        return Registered(status, True)

    async def withdraw(
        self,
        workshop: WorkshopRow,
        user: str,
        jobs: Jobs,
        tell: str,
        promoted: Callable[[int | None, list[Seat]], list[str]],
    ) -> tuple[str | None, list[str]]:
        """``user``'s seat (or place in the queue) given up, and the first ones waiting given
        the seats free now, in one transaction: ``jobs`` queued, and a ``tell`` job for each
        person promoted. (What they had, None if nothing; who was promoted.)"""
        async with self.store.transaction() as db:
            async with db.execute(
                "SELECT status FROM workshop_seats WHERE workshop = ? AND user_id = ?",
                (workshop.id, user),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None, []
            await db.execute(
                "DELETE FROM workshop_seats WHERE workshop = ? AND user_id = ?", (workshop.id, user)
            )
            async with db.execute(
                "SELECT user_id, status, seq FROM workshop_seats WHERE workshop = ?",
                (workshop.id,),
            ) as cur:
                taken = [Seat(r[0], r[1], r[2]) for r in await cur.fetchall()]
            up = promoted(workshop.seats, taken)
            for someone in up:
                await db.execute(
                    "UPDATE workshop_seats SET status = ? WHERE workshop = ? AND user_id = ?",
                    (REGISTERED, workshop.id, someone),
                )
                await Store.add_job(
                    db, tell, {"workshop": workshop.id, "user": someone, "what": "promoted"}
                )
            for kind, payload, at in jobs:
                await Store.add_job(db, kind, {**payload, "workshop": workshop.id}, at=at)
        return row[0], up

    async def of_reaction(self, event_id: str) -> tuple[int, str] | None:
        """(workshop, user) of the seat a ✅ took, if one did."""
        async with self.store.db.execute(
            "SELECT workshop, user_id FROM workshop_seats WHERE reaction = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return (row[0], row[1]) if row else None

    async def registered(self, workshop_id: int) -> list[str]:
        async with self.store.db.execute(
            "SELECT user_id FROM workshop_seats WHERE workshop = ? AND status = ? ORDER BY seq",
            (workshop_id, REGISTERED),
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def of_user(self, user: str) -> dict[int, str]:
        """The workshops ``user`` has a seat in or waits for: id → status."""
        async with self.store.db.execute(
            "SELECT workshop, status FROM workshop_seats WHERE user_id = ?", (user,)
        ) as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}

    async def forget(self, user: str) -> None:
        """A forgotten or revoked person's seats and places given up (nobody promoted: the
        caller withdraws those of open workshops first)."""
        await self.store._write("DELETE FROM workshop_seats WHERE user_id = ?", (user,))
