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

OPEN = ("proposed", "accepted")  # an offer still waiting for someone
OFFER_STATUSES = (*OPEN, "done", "refused", "cancelled", "expired")
Jobs = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class OfferRow:
    id: int
    territory: str
    kind: str  # swap, release
    slot_id: int
    by_member: str
    to_member: str | None
    their_slot_id: int | None
    status: str


_OFFER = "id, territory, kind, slot_id, by_member, to_member, their_slot_id, status"


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

    async def held_by(
        self, members: list[str], since: float, until: float
    ) -> list[tuple[str, str, float, float, str]]:
        """The slots these members hold that overlap [since, until): (territory, role, start,
        end, member)."""
        out: list[tuple[str, str, float, float, str]] = []
        for at in range(0, len(members), 500):  # SQLite's limit on parameters
            chunk = members[at : at + 500]
            marks = ", ".join("?" for _ in chunk)
            async with self.store.db.execute(
                f'SELECT territory, role, start, "end", member FROM roster_slots '
                f'WHERE member IN ({marks}) AND start < ? AND "end" > ?',
                (*chunk, until, since),
            ) as cur:
                out.extend(tuple(r) for r in await cur.fetchall())
        return out

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
        now = time.time()
        async with self.store.transaction() as db:
            await db.executemany(
                'INSERT OR IGNORE INTO roster_slots (territory, role, start, "end", updated) '
                "VALUES (?, ?, ?, ?, ?)",
                [(territory, role, start, end, now) for role, start, end in made],
            )
            rows = list(assigned)
            # A slot given to someone else is new to them: what was said of it (its warnings,
            # the reminder) may be said again.
            await db.executemany(
                "DELETE FROM roster_notices WHERE slot_id IN (SELECT id FROM roster_slots "
                "WHERE territory = ? AND role = ? AND start = ? AND member IS NOT ?)",
                [(territory, role, start, member) for role, start, end, member in rows],
            )
            await db.executemany(
                'INSERT INTO roster_slots (territory, role, start, "end", member, updated) '
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (territory, role, start) DO UPDATE "
                'SET member = excluded.member, "end" = excluded."end", '
                "updated = excluded.updated",
                [(territory, role, start, end, member, now) for role, start, end, member in rows],
            )
            count = sum(1 for *_, member in rows if member is not None)
        return count

    async def slot(self, slot_id: int) -> SlotRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM roster_slots WHERE id = ?", (slot_id,)
        ) as cur:
            row = await cur.fetchone()
        return SlotRow(*row) if row else None

    # --- offers: swaps and releases -------------------------------------------------------------

    async def open_offer(
        self,
        territory: str,
        kind: str,
        slot_id: int,
        by: str,
        to: str | None,
        their_slot_id: int | None,
        jobs: Callable[[int], Jobs],
    ) -> int | None:
        """An offer of a slot, and the jobs that announce it (made from its number), in one
        transaction. None if the slot is already offered."""
        now = time.time()
        async with self.store.transaction() as db:
            async with db.execute(
                "SELECT 1 FROM roster_offers WHERE status IN (?, ?) AND (slot_id IN (?, ?) OR "
                "their_slot_id IN (?, ?))",
                (*OPEN, slot_id, their_slot_id, slot_id, their_slot_id),
            ) as cur:
                if await cur.fetchone():
                    return None
            cur = await db.execute(
                "INSERT INTO roster_offers (territory, kind, slot_id, by_member, to_member, "
                "their_slot_id, status, created, updated) VALUES (?, ?, ?, ?, ?, ?, 'proposed', "
                "?, ?)",
                (territory, kind, slot_id, by, to, their_slot_id, now, now),
            )
            offer_id = int(cur.lastrowid or 0)
            for kind_, payload in jobs(offer_id):
                await Store.add_job(db, kind_, payload)
        return offer_id

    async def offer(self, offer_id: int) -> OfferRow | None:
        async with self.store.db.execute(
            f"SELECT {_OFFER} FROM roster_offers WHERE id = ?", (offer_id,)
        ) as cur:
            row = await cur.fetchone()
        return OfferRow(*row) if row else None

    async def offer_of_event(self, event_id: str) -> tuple[OfferRow, str] | None:
        """The offer a message is about, and what the message is (colleague, coordinator,
        release)."""
        async with self.store.db.execute(
            "SELECT offer_id, role FROM roster_offer_events WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        offer = await self.offer(row[0])
        return (offer, row[1]) if offer else None

    async def note_offer_event(self, event_id: str, offer_id: int, role: str) -> None:
        await self.store._write(
            "INSERT OR IGNORE INTO roster_offer_events (event_id, offer_id, role) VALUES (?, ?, ?)",
            (event_id, offer_id, role),
        )

    async def offers(
        self, territories: Iterable[str] | None = None, member: str | None = None
    ) -> list[OfferRow]:
        """Open offers, of some territories (or all) and made by or to a member (or all)."""
        sql, params = f"SELECT {_OFFER} FROM roster_offers WHERE status IN (?, ?)", list(OPEN)
        if territories is not None:
            wanted = sorted(territories)
            sql += f" AND territory IN ({', '.join('?' * len(wanted))})"
            params += wanted
        if member is not None:
            sql, params = sql + " AND (by_member = ? OR to_member = ?)", [*params, member, member]
        async with self.store.db.execute(sql + " ORDER BY id", params) as cur:
            return [OfferRow(*r) for r in await cur.fetchall()]

    async def move_offer(
        self,
        offer_id: int,
        before: tuple[str, ...],
        after: str,
        jobs: Jobs | None = None,
        *,
        to: str | None = None,
    ) -> bool:
        """An offer moved from one of ``before`` to ``after`` (``to``: who takes it), with
        the jobs that say so, in one transaction. False if it was not in ``before`` (someone
        was quicker)."""
        async with self.store.transaction() as db:
            cur = await db.execute(
                f"UPDATE roster_offers SET status = ?, updated = ?, "
                f"to_member = COALESCE(?, to_member) WHERE id = ? AND status IN "
                f"({', '.join('?' * len(before))})",
                (after, time.time(), to, offer_id, *before),
            )
            if cur.rowcount != 1:
                return False
            for kind, payload in jobs or []:
                await Store.add_job(db, kind, payload)
        return True

    async def apply_offer(self, offer_id: int, now: float, jobs: Callable[[OfferRow], Jobs]) -> str:
        """An offer carried out, in one transaction: the slot to its taker (and, for an
        exchange, the taker's slot to the one who offered), what was said of both slots
        forgotten, the offer done, the jobs that tell everyone queued. "done", else why not
        (the offer was closed, a slot changed hands or has begun, the taker is on duty then):
        nothing is changed."""
        async with self.store.transaction() as db:
            async with db.execute(
                f"SELECT {_OFFER} FROM roster_offers WHERE id = ?", (offer_id,)
            ) as cur:
                row = await cur.fetchone()
            offer = OfferRow(*row) if row else None
            if offer is None or offer.status not in OPEN or offer.to_member is None:
                return "roster.offer.closed"
            mine = await self._slot_in(db, offer.slot_id)
            theirs = await self._slot_in(db, offer.their_slot_id) if offer.their_slot_id else None
            if mine is None or mine.member != offer.by_member or mine.start <= now:
                return "roster.offer.stale"
            if offer.their_slot_id and (
                theirs is None or theirs.member != offer.to_member or theirs.start <= now
            ):
                return "roster.offer.stale"
            moves = [(mine, offer.to_member)] + ([(theirs, offer.by_member)] if theirs else [])
            moving = {s.id for s, _ in moves}
            for slot, member in moves:
                async with db.execute(
                    'SELECT 1 FROM roster_slots WHERE member = ? AND start < ? AND "end" > ? '
                    f"AND id NOT IN ({', '.join('?' * len(moving))})",
                    (member, slot.end, slot.start, *moving),
                ) as cur:
                    if await cur.fetchone():
                        return "roster.offer.overlap"
            stamp = time.time()
            for slot, member in moves:
                await db.execute(
                    "UPDATE roster_slots SET member = ?, updated = ? WHERE id = ?",
                    (member, stamp, slot.id),
                )
                await db.execute("DELETE FROM roster_notices WHERE slot_id = ?", (slot.id,))
            await db.execute(
                "UPDATE roster_offers SET status = 'done', updated = ? WHERE id = ?",
                (stamp, offer_id),
            )
            for kind, payload in jobs(offer):
                await Store.add_job(db, kind, payload)
        return "done"

    @staticmethod
    async def _slot_in(db: Any, slot_id: int | None) -> SlotRow | None:
        async with db.execute(
            f"SELECT {_COLUMNS} FROM roster_slots WHERE id = ?", (slot_id,)
        ) as cur:
            row = await cur.fetchone()
        return SlotRow(*row) if row else None

    async def close_offers(self, *, before: float | None = None, member: str | None = None) -> int:
        """Open offers closed: those whose slot has begun (``before``: expired), or those made
        by or to a member who is gone (cancelled). How many."""
        if before is not None:
            cur = await self.store._write(
                "UPDATE roster_offers SET status = 'expired', updated = ? WHERE status IN (?, ?) "
                "AND slot_id IN (SELECT id FROM roster_slots WHERE start <= ?)",
                (time.time(), *OPEN, before),
            )
        else:
            cur = await self.store._write(
                "UPDATE roster_offers SET status = 'cancelled', updated = ? WHERE status IN "
                "(?, ?) AND (by_member = ? OR to_member = ?)",
                (time.time(), *OPEN, member, member),
            )
        return cur.rowcount

    async def prune_offers(self, older_than: float) -> int:
        """Closed offers forgotten once they are old (who offered what to whom is personal)."""
        cur = await self.store._write(
            "DELETE FROM roster_offers WHERE status NOT IN (?, ?) AND updated < ?",
            (*OPEN, older_than),
        )
        return cur.rowcount

    # --- calendar links -----------------------------------------------------------------------

    async def calendar_since(self, user_id: str) -> float | None:
        """When the member's calendar link was made (None: they have none)."""
        async with self.store.db.execute(
            "SELECT created FROM calendar_links WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def new_calendar_link(self, user_id: str, digest: str) -> None:
        """The member's link is now the one whose secret has this digest (the old one dies)."""
        async with self.store.transaction() as db:
            await db.execute("DELETE FROM calendar_links WHERE user_id = ?", (user_id,))
            await db.execute(
                "INSERT INTO calendar_links (digest, user_id, created) VALUES (?, ?, ?)",
                (digest, user_id, time.time()),
            )

    async def drop_calendar_link(self, user_id: str) -> bool:
        cur = await self.store._write("DELETE FROM calendar_links WHERE user_id = ?", (user_id,))
        return cur.rowcount > 0

    async def calendar_owner(self, digest: str) -> str | None:
        async with self.store.db.execute(
            "SELECT user_id FROM calendar_links WHERE digest = ?", (digest,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None
