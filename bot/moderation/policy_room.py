"""The region's policy room: a moderation policy list (MSC2313) the bot publishes its bans in.

Created by the bot on first start with the alias ``#<bot localpart>-policy:<server>`` (peers
name it in their ``federation.trusted_policy_rooms``). Admins are invited and may publish rules
by hand as well; every rule in it, from whoever, is read into the store and acted on.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any
from urllib.parse import quote

from bot.config import Config
from bot.errors import MatrixError
from bot.federation.region_room import RegionRoom
from bot.matrix.gateway import Gateway
from bot.moderation.bans import BAN, EVENT_TYPE, RULE_TYPES, PolicyRule, rule_from_state
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

    async def follow_trusted(self) -> None:
        """Join (when invited) and read each trusted peer policy room. One that cannot be
        reached yet is retried at the next reload or invitation."""
        for ref in self.config.federation.trusted_policy_rooms:
            try:
                room_id = await self.gateway.resolve(ref)
                members = await self.gateway.members(room_id)
                if members.get(self.gateway.user_id) != "join":
                    await self.gateway.join(room_id)
                await self.store.add_room(room_id, "policy-peer")  # kept, not left as a stray
                await self.load(room_id)
                self.trusted[ref] = room_id
            except (MatrixError, KeyError) as exc:
                log.warning("trusted policy room %s not readable yet: %s", ref, exc)

    async def ensure(self) -> str:
        room_id = await super().ensure()
        await self.load(room_id)
        return room_id

    async def load(self, room_id: str) -> int:
        """Read every rule of a policy room into the store (replacing what was known of it)."""
        events: Any = await self.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state", what="read a policy list"
        )
        found = []
        for ev in events:
            if ev.get("type") in RULE_TYPES:
                rule = rule_from_state(
                    room_id, ev["type"], ev.get("state_key", ""), ev.get("content", {})
                )
                if rule is not None:
                    found.append((rule, ev.get("sender", "")))
        await self.rules.replace_room(room_id, found)
        return len(found)

    async def ban(self, kind: str, entity: str, reason: str) -> PolicyRule:
        assert self.room_id
        rule = PolicyRule(kind, entity, BAN, reason, self.room_id, f"rule:{entity}")
        await self.gateway.put_state(
            self.room_id,
            EVENT_TYPE[kind],
            {"entity": entity, "recommendation": BAN, "reason": reason},
            rule.state_key,
        )
        await self.rules.put_rule(rule, self.gateway.user_id)
        return rule

    async def unban(self, kind: str, entity: str) -> bool:
        """Withdraw the rule (an empty state event, as the spec says). False if none."""
        assert self.room_id
        state_key = f"rule:{entity}"
        if not await self.rules.drop_rule(self.room_id, kind, state_key):
            return False
        await self.gateway.put_state(self.room_id, EVENT_TYPE[kind], {}, state_key)
        return True
