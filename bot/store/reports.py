"""What the monthly report counts (SQL only; the figures are made in ``bot.reports``): members
by territory and profession, join requests received and decided, alerts and who acknowledged
them. Counts and durations only: no name, email or identifier leaves these queries."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store import Store

# Requests the admins never saw: a web applicant's address not confirmed (yet, or in time).
NOT_RECEIVED = ("unconfirmed", "expired")
DECIDED = ("approved", "rejected")


@dataclass(frozen=True)
class MemberCount:
    territory: str  # '' for an absence's replacement: no territory of their own
    profession: str  # '' when the member came without a request
    count: int


@dataclass(frozen=True)
class Decided:
    status: str  # approved | rejected
    delay: float  # seconds from when the admins had it to the decision


@dataclass(frozen=True)
class SentAlert:
    id: int
    territory: str  # a territory id, or ``all``
    level: str
    created: float


class ReportStore:
    def __init__(self, store: Store):
        self.store = store

    async def members(self, before: float) -> list[MemberCount]:
        """Active members who had joined before ``before``, counted by home territory and by
        the profession of the request that admitted them."""
        async with self.store.db.execute(
            "SELECT m.territory, COALESCE(r.profession, ''), COUNT(*) FROM members m "
            "LEFT JOIN requests r ON r.id = m.request_id "
            "WHERE m.status = 'active' AND m.since < ? GROUP BY 1, 2 ORDER BY 1, 2",
            (before,),
        ) as cur:
            return [MemberCount(r[0], r[1], r[2]) for r in await cur.fetchall()]

    async def received(self, start: float, end: float) -> int:
        """Requests that reached the admins in [start, end): filed then, or, from the web
        form, confirmed then (before that the admins did not have them)."""
        async with self.store.db.execute(
            "SELECT COUNT(*) FROM requests WHERE status NOT IN (?, ?) "
            "AND COALESCE(confirmed, created) >= ? AND COALESCE(confirmed, created) < ?",
            (*NOT_RECEIVED, start, end),
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else 0

    async def decided(self, start: float, end: float) -> list[Decided]:
        """Requests approved or rejected in [start, end), with how long each waited."""
        async with self.store.db.execute(
            "SELECT status, decided - COALESCE(confirmed, created) FROM requests "
            "WHERE status IN (?, ?) AND decided >= ? AND decided < ? ORDER BY id",
            (*DECIDED, start, end),
        ) as cur:
            return [Decided(r[0], max(0.0, r[1])) for r in await cur.fetchall()]

    async def alerts(self, start: float, end: float) -> list[SentAlert]:
        async with self.store.db.execute(
            "SELECT id, territory, level, created FROM alerts "
            "WHERE created >= ? AND created < ? ORDER BY id",
            (start, end),
        ) as cur:
            return [SentAlert(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]

    async def acks(self, alert_ids: list[int], before: float) -> dict[int, dict[str, int]]:
        """alert → home territory → how many of the members counted (active, joined before
        ``before``) acknowledged it; anyone else's acknowledgement is not counted."""
        if not alert_ids:
            return {}
        marks = ", ".join("?" * len(alert_ids))
        out: dict[int, dict[str, int]] = {}
        async with self.store.db.execute(
            "SELECT a.alert_id, m.territory, COUNT(*) FROM acks a "
            "JOIN members m ON m.user_id = a.user_id "
            f"WHERE m.status = 'active' AND m.since < ? AND a.alert_id IN ({marks}) "
            "GROUP BY 1, 2",
            (before, *alert_ids),
        ) as cur:
            for alert_id, territory, count in await cur.fetchall():
                out.setdefault(alert_id, {})[territory] = count
        return out
