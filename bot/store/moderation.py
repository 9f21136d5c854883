"""Policy rules as the bot last read them from the policy rooms it follows, with what became
of each (applied, held for an admin, refused, ignored), and the holds admins confirm (SQL
only)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from bot.store import Store

_UPSERT = (
    "INSERT INTO policy_rules (room_id, state_key, kind, entity, recommendation, reason, "
    "sender, at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(room_id, kind, state_key) DO UPDATE SET entity = excluded.entity, "
    "recommendation = excluded.recommendation, reason = excluded.reason, "
    "sender = excluded.sender, at = excluded.at, status = excluded.status"
)


@dataclass(frozen=True)
class PolicyRule:
    kind: str  # user | server | room
    entity: str
    recommendation: str
    reason: str = ""
    room_id: str = ""
    state_key: str = ""


@dataclass(frozen=True)
class StoredRule:
    rule: PolicyRule
    sender: str
    status: str  # active | held | refused | ignored | cancelled


@dataclass(frozen=True)
class Hold:
    id: int
    kind: str  # rule (a rule read, waiting) | publish (a ban asked for, not published yet)
    rule: PolicyRule
    sender: str
    users: tuple[str, ...]  # who the sweep would remove
    why: str  # large | hand | glob
    status: str


class ModerationStore:
    def __init__(self, store: Store):
        self.store = store

    async def put_rule(self, rule: PolicyRule, sender: str, status: str = "active") -> None:
        await self.store._write(
            _UPSERT,
            (
                rule.room_id,
                rule.state_key,
                rule.kind,
                rule.entity,
                rule.recommendation,
                rule.reason,
                sender,
                time.time(),
                status,
            ),
        )

    async def drop_rule(self, room_id: str, kind: str, state_key: str) -> bool:
        cur = await self.store._write(
            "DELETE FROM policy_rules WHERE room_id = ? AND kind = ? AND state_key = ?",
            (room_id, kind, state_key),
        )
        return cur.rowcount > 0

    async def stored(self, room_id: str, kind: str, state_key: str) -> StoredRule | None:
        async with self.store.db.execute(
            "SELECT kind, entity, recommendation, reason, room_id, state_key, sender, status "
            "FROM policy_rules WHERE room_id = ? AND kind = ? AND state_key = ?",
            (room_id, kind, state_key),
        ) as cur:
            row = await cur.fetchone()
        return StoredRule(PolicyRule(*row[:6]), row[6], row[7]) if row else None

    async def stored_in(self, room_id: str) -> list[StoredRule]:
        async with self.store.db.execute(
            "SELECT kind, entity, recommendation, reason, room_id, state_key, sender, status "
            "FROM policy_rules WHERE room_id = ? ORDER BY at",
            (room_id,),
        ) as cur:
            return [StoredRule(PolicyRule(*r[:6]), r[6], r[7]) for r in await cur.fetchall()]

    async def keep_rooms(self, rooms: set[str]) -> int:
        """Drop the rules (and pending holds) of lists no longer followed."""
        marks = ", ".join("?" for _ in rooms) or "''"
        async with self.store.transaction() as db:
            cur = await db.execute(
                f"DELETE FROM policy_rules WHERE room_id NOT IN ({marks})", tuple(rooms)
            )
            await db.execute(
                "UPDATE holds SET status = 'cancelled', decided = ?, decided_by = 'unfollowed' "
                f"WHERE status = 'pending' AND kind != 'publish' AND room_id NOT IN ({marks})",
                (time.time(), *rooms),
            )
        return cur.rowcount

    async def set_status(self, room_id: str, kind: str, state_key: str, status: str) -> None:
        await self.store._write(
            "UPDATE policy_rules SET status = ? WHERE room_id = ? AND kind = ? AND state_key = ?",
            (status, room_id, kind, state_key),
        )

    async def rules(self, rooms: set[str] | None = None) -> list[PolicyRule]:
        """The rules in force (status active), oldest first."""
        async with self.store.db.execute(
            "SELECT kind, entity, recommendation, reason, room_id, state_key FROM policy_rules "
            "WHERE status = 'active' ORDER BY at"
        ) as cur:
            found = [PolicyRule(*r) for r in await cur.fetchall()]
        return [r for r in found if rooms is None or r.room_id in rooms]

    async def last_update(self, room_id: str) -> float | None:
        async with self.store.db.execute(
            "SELECT MAX(at) FROM policy_rules WHERE room_id = ?", (room_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    # --- holds -----------------------------------------------------------------------------------

    async def add_hold(
        self, kind: str, rule: PolicyRule, sender: str, users: list[str], why: str
    ) -> int:
        """A new hold; one waiting for the same rule is superseded by it."""
        async with self.store.transaction() as db:
            await db.execute(
                "UPDATE holds SET status = 'cancelled', decided = ?, decided_by = 'superseded' "
                "WHERE status = 'pending' AND room_id = ? AND rule_kind = ? AND state_key = ?",
                (time.time(), rule.room_id, rule.kind, rule.state_key),
            )
            cur = await db.execute(
                "INSERT INTO holds (kind, room_id, rule_kind, state_key, entity, reason, sender, "
                "users, why, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    rule.room_id,
                    rule.kind,
                    rule.state_key,
                    rule.entity,
                    rule.reason,
                    sender,
                    json.dumps(users),
                    why,
                    time.time(),
                ),
            )
            hold_id = cur.lastrowid or 0
            # A command that asked for it, run again after a crash, finds it (not a second).
            await self.store.keep_outcome(db, "policy.hold", hold_id)
            return hold_id

    async def hold(self, hold_id: int) -> Hold | None:
        async with self.store.db.execute(
            "SELECT id, kind, room_id, rule_kind, state_key, entity, reason, sender, users, why, "
            "status FROM holds WHERE id = ?",
            (hold_id,),
        ) as cur:
            r = await cur.fetchone()
        if r is None:
            return None
        rule = PolicyRule(r[3], r[5], "m.ban", r[6], r[2], r[4])
        return Hold(r[0], r[1], rule, r[7], tuple(json.loads(r[8])), r[9], r[10])

    async def decide_hold(self, hold_id: int, status: str, by: str) -> bool:
        """Confirm or cancel a pending hold, once (False if it was not pending). The command
        that decided it is recorded with it: run again after a crash, it finishes the job."""
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE holds SET status = ?, decided = ?, decided_by = ? "
                "WHERE id = ? AND status = 'pending'",
                (status, time.time(), by, hold_id),
            )
            if cur.rowcount == 1:
                await self.store.keep_outcome(db, f"policy.hold.{hold_id}", status)
            return cur.rowcount == 1

    async def drop_holds_for(self, room_id: str, kind: str, state_key: str) -> None:
        """The rule a hold waits for was withdrawn or changed: the hold has no object."""
        await self.store._write(
            "UPDATE holds SET status = 'cancelled', decided = ?, decided_by = 'withdrawn' "
            "WHERE status = 'pending' AND kind = 'rule' AND room_id = ? AND rule_kind = ? "
            "AND state_key = ?",
            (time.time(), room_id, kind, state_key),
        )
