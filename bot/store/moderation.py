"""Policy rules as the bot last read them from the policy rooms it follows (SQL only)."""

from __future__ import annotations

import time

from bot.moderation.bans import PolicyRule
from bot.store import Store

_UPSERT = (
    "INSERT INTO policy_rules (room_id, state_key, kind, entity, recommendation, reason, "
    "sender, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(room_id, kind, state_key) "
    "DO UPDATE SET entity = excluded.entity, recommendation = excluded.recommendation, "
    "reason = excluded.reason, sender = excluded.sender, at = excluded.at"
)


def _row(rule: PolicyRule, sender: str) -> tuple:
    return (
        rule.room_id,
        rule.state_key,
        rule.kind,
        rule.entity,
        rule.recommendation,
        rule.reason,
        sender,
        time.time(),
    )


class ModerationStore:
    def __init__(self, store: Store):
        self.store = store

    async def put_rule(self, rule: PolicyRule, sender: str) -> None:
        await self.store._write(_UPSERT, _row(rule, sender))

    async def drop_rule(self, room_id: str, kind: str, state_key: str) -> bool:
        cur = await self.store._write(
            "DELETE FROM policy_rules WHERE room_id = ? AND kind = ? AND state_key = ?",
            (room_id, kind, state_key),
        )
        return cur.rowcount > 0

    async def replace_room(self, room_id: str, rules: list[tuple[PolicyRule, str]]) -> None:
        """The whole list of a room, as read from its state."""
        async with self.store.transaction() as db:
            await db.execute("DELETE FROM policy_rules WHERE room_id = ?", (room_id,))
            await db.executemany(_UPSERT, [_row(rule, sender) for rule, sender in rules])

    async def rules(self, rooms: set[str] | None = None) -> list[PolicyRule]:
        async with self.store.db.execute(
            "SELECT kind, entity, recommendation, reason, room_id, state_key FROM policy_rules "
            "ORDER BY at"
        ) as cur:
            found = [PolicyRule(*r) for r in await cur.fetchall()]
        return [r for r in found if rooms is None or r.room_id in rooms]

    async def last_update(self, room_id: str) -> float | None:
        async with self.store.db.execute(
            "SELECT MAX(at) FROM policy_rules WHERE room_id = ?", (room_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None
