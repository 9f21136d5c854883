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

from nio import RoomPreset, RoomVisibility

from bot.config import Config
from bot.errors import MatrixError
from bot.i18n import t
from bot.matrix.gateway import Gateway
from bot.moderation.bans import BAN, EVENT_TYPE, RULE_TYPES, PolicyRule, rule_from_state
from bot.moderation.control_room import ADMIN_POWER, initial_state
from bot.store import Store
from bot.store.moderation import ModerationStore

log = logging.getLogger(__name__)
KV_KEY = "policy_room_id"


class PolicyRoom:
    def __init__(self, config: Config, gateway: Gateway, store: Store):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.rules = ModerationStore(store)
        self.room_id: str | None = None
        # federation.trusted_policy_rooms: reference → room id (None while unreachable)
        self.trusted: dict[str, str | None] = {}

    @property
    def followed(self) -> set[str]:
        """The policy rooms whose rules the bot applies: its own and the trusted peers'."""
        return {r for r in (self.room_id, *self.trusted.values()) if r}

    async def _resolve(self, ref: str) -> str:
        if not ref.startswith("#"):
            return ref
        data = await self.gateway.raw(
            "GET", f"/_matrix/client/v3/directory/room/{quote(ref)}", what=f"resolve {ref}"
        )
        return data["room_id"]

    async def is_trusted(self, room_id: str) -> bool:
        """Whether an invitation is to one of the trusted peer lists (aliases resolved now: the
        peer may have made its list after this bot started)."""
        for ref in self.config.federation.trusted_policy_rooms:
            with contextlib.suppress(MatrixError, KeyError):
                if await self._resolve(ref) == room_id:
                    return True
        return False

    async def follow_trusted(self) -> None:
        """Join (when invited) and read each trusted peer policy room. One that cannot be
        reached yet is retried at the next reload or invitation."""
        for ref in self.config.federation.trusted_policy_rooms:
            try:
                room_id = await self._resolve(ref)
                members = await self.gateway.members(room_id)
                if members.get(self.gateway.user_id) != "join":
                    await self.gateway.join(room_id)
                await self.store.add_room(room_id, "policy-peer")  # kept, not left as a stray
                await self.load(room_id)
                self.trusted[ref] = room_id
            except (MatrixError, KeyError) as exc:
                log.warning("trusted policy room %s not readable yet: %s", ref, exc)

    @property
    def alias(self) -> str:
        return f"#{self.config.bot.localpart}-policy:{self.config.homeserver.server_name}"

    async def ensure(self) -> str:
        room_id = await self.store.get(KV_KEY)
        if not room_id:
            room_id = await self._create()
        await self.store.add_room(room_id, "policy")  # known, so never left as a stray
        self.room_id = room_id
        members = await self.gateway.members(room_id)
        for admin in (*self.config.admins, *self.config.federation.peer_bots):
            if members.get(admin) not in ("join", "invite", "ban"):
                try:
                    await self.gateway.invite(room_id, admin)
                except MatrixError as exc:
                    log.warning("could not invite %s to the policy room: %s", admin, exc)
        await self.load(room_id)
        return room_id

    async def _create(self) -> str:
        loc = self.config.locale
        room_id = await self.gateway.create_room(
            visibility=RoomVisibility.private,
            preset=RoomPreset.private_chat,
            name=t("policy.name", loc),
            topic=t("policy.topic", loc),
            invite=(),
            initial_state=initial_state(),
            power_level_override={"users": {a: ADMIN_POWER for a in self.config.admins}},
        )
        try:
            await self.gateway.raw(
                "PUT",
                f"/_matrix/client/v3/directory/room/{quote(self.alias)}",
                {"room_id": room_id},
                what=f"create alias {self.alias}",
            )
            await self.gateway.put_state(room_id, "m.room.canonical_alias", {"alias": self.alias})
        except MatrixError as exc:  # the list works without its alias; peers can use the id
            log.warning("policy room alias %s not set: %s", self.alias, exc)
        await self.store.put(KV_KEY, room_id)
        await self.store.add_room(room_id, "policy")
        await self.store.audit(self.gateway.user_id, "policy_room.create", "ok", room_id=room_id)
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
