"""The region's policy room: a moderation policy list (MSC2313) the bot publishes its bans in.

Created by the bot on first start with the alias ``#<bot localpart>-policy:<server>`` (peers
name it in their ``federation.trusted_policy_rooms``). Admins are invited and may publish rules
by hand as well: such a rule waits for an admin's ``!confirm`` (a state event carries no proof
of the device it came from). What becomes of each rule read is ``bot.moderation.rules``.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from bot.config import Config
from bot.errors import MatrixError
from bot.matrix.gateway import Gateway, path_part
from bot.moderation.bans import BAN, EVENT_TYPE, RULE_TYPES, PolicyRule
from bot.moderation.region_room import RegionRoom
from bot.store import Store
from bot.store.moderation import ModerationStore

log = logging.getLogger(__name__)
KV_KEY = "policy_room_id"


class PolicyRoom(RegionRoom):
    kv_key = KV_KEY
    kind = "policy"
    suffix = "policy"
    name_key = "policy.name"
    topic_key = "policy.topic"

    def __init__(self, config: Config, gateway: Gateway, store: Store):
        super().__init__(config, gateway, store)
        self.rules = ModerationStore(store)
        # federation.trusted_policy_rooms: reference → room id (None while unreachable)
        self.trusted: dict[str, str | None] = {}
        self._known_unreachable: set[str] = set()

    @property
    def followed(self) -> set[str]:
        """The policy rooms whose rules the bot applies: its own and the trusted peers'."""
        return {r for r in (self.room_id, *self.trusted.values()) if r}

    async def is_trusted(self, room_id: str) -> bool:
        """Whether an invitation is to one of the trusted peer lists (aliases resolved now: the
        peer may have made its list after this bot started)."""
        for ref in self.config.federation.trusted_policy_rooms:
            with contextlib.suppress(MatrixError, KeyError):
                if await self.gateway.resolve(ref) == room_id:
                    return True
        return False

    async def follow_trusted(self) -> list[str]:
        """Join (when invited) each trusted peer policy room; returns the ids of those that
        can be read. One that cannot be reached yet is retried at the next reload or
        invitation."""
        found = []
        refs = self.config.federation.trusted_policy_rooms
        self.trusted = {ref: self.trusted.get(ref) for ref in refs}  # a reload drops the others
        for ref in refs:
            try:
                room_id = await self.gateway.resolve(ref)
                members = await self.gateway.members(room_id)
                if members.get(self.gateway.user_id) != "join":
                    await self.gateway.join(room_id)
                await self.store.add_room(room_id, "policy-peer")  # kept, not left as a stray
                self.trusted[ref] = room_id
                await self.store.put(f"policy.trusted:{ref}", room_id)
                found.append(room_id)
            except (MatrixError, KeyError) as exc:
                log.warning("trusted policy room %s not readable yet: %s", ref, exc)
        self._known_unreachable = set()
        for ref, reached in self.trusted.items():
            known = await self.store.get(f"policy.trusted:{ref}") if reached is None else None
            if known:
                self._known_unreachable.add(known)
        return found

    def unreachable_known(self) -> set[str]:
        """The room ids that trusted lists out of reach now had when last reached: a peer that
        is down keeps its bans in force meanwhile (not dropped as a list no longer trusted)."""
        return set(self._known_unreachable)

    def list_bot(self, room_id: str) -> str | None:
        """Whose rules count in a followed list: this bot's in its own, and in a trusted
        peer's list, that region's bot (``federation.peer_bots``, of the list's server)."""
        if room_id == self.room_id:
            return self.gateway.user_id
        for ref, trusted_id in self.trusted.items():
            if trusted_id != room_id:
                continue
            server = ref.split(":", 1)[1] if ":" in ref else ""
            bots = self.config.federation.peer_bots
            if server:
                return self.config.federation.peer_bot_for(server)
            return bots[0] if len(bots) == 1 else None
        return None

    async def read(self, room_id: str) -> list[tuple[str, str, dict[str, Any], str]]:
        """(event type, state key, content, sender) of every rule event in a policy room."""
        events: Any = await self.gateway.raw(
            "GET",
            f"/_matrix/client/v3/rooms/{path_part(room_id)}/state",
            what="read a policy list",
        )
        return [
            (ev["type"], ev.get("state_key", ""), ev.get("content", {}), ev.get("sender", ""))
            for ev in events
            if ev.get("type") in RULE_TYPES
        ]

    async def publish(self, kind: str, entity: str, reason: str) -> PolicyRule:
        """Publish a ban in the region's list; recorded as in force at once (the event that
        comes back from the sync is the same rule, and stays so)."""
        assert self.room_id
        rule = PolicyRule(kind, entity, BAN, reason, self.room_id, f"rule:{entity}")
        await self.rules.put_rule(rule, self.gateway.user_id, "active")
        await self.gateway.put_state(
            self.room_id,
            EVENT_TYPE[kind],
            {"entity": entity, "recommendation": BAN, "reason": reason},
            rule.state_key,
        )
        return rule

    async def ban(self, kind: str, entity: str, reason: str) -> PolicyRule:
        return await self.publish(kind, entity, reason)

    async def unban(self, kind: str, entity: str, *, state_key: str | None = None) -> bool:
        """Withdraw the rule (an empty state event, as the spec says). False if none. The
        empty event goes first, then the record: a crash in between leaves the rule known and
        withdrawn, and the same command run again withdraws it again and answers the same."""
        assert self.room_id
        state_key = state_key or f"rule:{entity}"
        done, _ = await self.store.earlier_outcome("policy.unban")
        if done:
            await self.gateway.put_state(self.room_id, EVENT_TYPE[kind], {}, state_key)
            return True
        if await self.rules.stored(self.room_id, kind, state_key) is None:
            return False
        await self.gateway.put_state(self.room_id, EVENT_TYPE[kind], {}, state_key)
        await self.rules.drop_rule(self.room_id, kind, state_key)
        await self.rules.drop_holds_for(self.room_id, kind, state_key)
        await self.store.keep_outcome_now("policy.unban", True)
        return True
