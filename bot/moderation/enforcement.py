"""Enforcement: whoever joins, or is invited into, a managed space or room without being allowed
there is removed within seconds, with a note in the control room and an audit entry. Runs on
every membership change the sync brings, and over all members at start (people who slipped in
while the bot was down)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot import effects
from bot.config import Config
from bot.errors import MatrixError
from bot.federation.shared import KIND as SHARED_PEER
from bot.i18n import t
from bot.matrix.content import notice
from bot.matrix.gateway import Gateway
from bot.metrics import Metrics
from bot.moderation.bans import PolicyRule, Shield, ban_for
from bot.moderation.control_room import ControlRoom
from bot.moderation.policy import may_be_in, may_be_in_peer_room
from bot.store import Store
from bot.store.moderation import ModerationStore
from bot.store.vetting import VettingStore

log = logging.getLogger(__name__)

SWEEP_CONCURRENCY = 8  # rooms looked at once when a new ban rule arrives
NOTE_ROOMS = 10  # rooms named in a ban's note; more are counted


@dataclass(frozen=True)
class Removed:
    """Someone removed from a room: the room (its network id, or a peer's alias) and the ban's
    reason if a ban rule was why."""

    key: str
    reason: str | None


class Enforcer:
    def __init__(
        self,
        config: Config,
        gateway: Gateway,
        store: Store,
        control: ControlRoom,
        metrics: Metrics | None = None,
    ):
        self.config = config
        self.metrics = metrics
        self.gateway = gateway
        self.store = store
        self.members = VettingStore(store)
        self.rules = ModerationStore(store)
        self.control = control

    async def check(self, room_id: str, user: str, membership: str) -> bool:
        """Remove ``user`` from ``room_id`` if they may not be there. True if removed."""
        return await self._check(room_id, user, membership, note=True) is not None

    async def _check(
        self, room_id: str, user: str, membership: str, *, note: bool
    ) -> Removed | None:
        """``check``; ``note``: say it in the control room (a sweep says it once per person
        instead of once per room)."""
        if membership not in ("join", "invite") or user == self.gateway.user_id:
            return None
        if user in self.config.admins:  # never an admin, whatever a rule says
            return None
        key = await self.store.managed_key(room_id)
        if key is None:
            # Not a live managed room: a peer's shared room, or none of enforcement's business
            # (control room, direct chats, archives).
            if await self.store.room_kind(room_id) != SHARED_PEER:
                return None
        banned = ban_for(user, await self.rules.rules(), Shield.for_config(self.config))
        member = await self.members.member_info(user)
        network, admins, bot = self.config.network, self.config.admins, self.gateway.user_id
        if key is None:
            allowed = may_be_in_peer_room(
                user, network=network, admins=admins, bot=bot, member=member
            )
            key = await self.store.room_peer(room_id) or room_id  # its alias, for the notes
        else:
            allowed = may_be_in(
                user,
                key,
                network=network,
                admins=admins,
                bot=bot,
                member=member,
                provisioning=self.config.vetting.provisioning,
            )
        if banned is None and allowed:
            return None
        loc = self.config.locale
        reason = t("enforce.banned_reason" if banned else "enforce.reason", loc)
        try:
            if not await self.gateway.kick(room_id, user, reason):
                return None  # gone already (a sweep met the same change)
        except MatrixError as exc:
            log.error("could not remove %s from %s: %s", user, key, exc)
            await self.store.audit(
                self.gateway.user_id,
                "enforce.remove",
                "failed",
                room_id=room_id,
                detail=f"{user}: {exc}",
            )
            return None
        if self.metrics is not None:
            self.metrics.enforcement_removals.labels(
                reason="banned" if banned else "not_allowed"
            ).inc()
        await self.store.audit(
            self.gateway.user_id,
            "enforce.remove",
            "ok",
            room_id=room_id,
            detail=f"{user} ({membership})",
        )
        removed = Removed(key, banned.reason if banned else None)
        if note and self.control.room_id:
            text = t(
                "enforce.banned_note" if banned else "enforce.note",
                loc,
                user=user,
                room=key,
                membership=membership,
                reason=banned.reason if banned else "",
            )
            # Named by what it says: a command run again after a crash removes nobody the
            # second time, and its answer must not take this note's place (and id).
            await self.gateway.send(
                self.control.room_id,
                notice(text),
                txn=effects.content_key(self.control.room_id, text),
            )
        return removed

    async def banned_sweep(self) -> int:
        """After a new ban rule: everyone it matches, out of every managed room."""
        rules = await self.rules.rules()
        shield = Shield.for_config(self.config)
        sem = asyncio.Semaphore(SWEEP_CONCURRENCY)

        removed: dict[str, list[Removed]] = {}

        async def one(room_id: str) -> None:
            # Who is in the room as the sync keeps it: no request per room, so a new rule costs
            # the kicks it makes (the homeserver is asked only for a room the sync lacks).
            members = self.gateway.synced_members(room_id)
            async with sem:
                if members is None:
                    members = await self.gateway.members(room_id)
                for user, membership in members.items():
                    if membership in ("join", "invite") and ban_for(user, rules, shield):
                        gone = await self._check(room_id, user, membership, note=False)
                        if gone is not None:
                            removed.setdefault(user, []).append(gone)

        await asyncio.gather(*(one(r) for r in await self.watched()))
        # One note per person, not one per room: a ban removing someone from 50 rooms is one
        # line for the admins (and 49 events fewer for the homeserver to store meanwhile).
        for user, rooms in sorted(removed.items()):
            await self._note_sweep(user, rooms)
        return sum(len(rooms) for rooms in removed.values())

    async def _note_sweep(self, user: str, rooms: list[Removed]) -> None:
        if not self.control.room_id:
            return
        keys = sorted({r.key for r in rooms})
        shown = ", ".join(keys[:NOTE_ROOMS]) + (", …" if len(keys) > NOTE_ROOMS else "")
        reason = next((r.reason for r in rooms if r.reason), "")
        text = t(
            "enforce.banned_sweep_note",
            self.config.locale,
            user=user,
            n=len(keys),
            rooms=shown,
            reason=reason,
        )
        try:
            await self.gateway.send(
                self.control.room_id,
                notice(text),
                txn=effects.content_key(self.control.room_id, text),
            )
        except MatrixError as exc:
            log.error("could not note a ban's removals in the control room: %s", exc)

    async def who_would_go(self, rule: PolicyRule) -> list[str]:
        """Who a new ban rule would remove from the watched rooms (its sweep, as a dry run)."""
        shield = Shield.for_config(self.config)
        users: set[str] = set()
        for room_id in await self.watched():
            members = self.gateway.synced_members(room_id)
            if members is None:
                members = await self.gateway.members(room_id)
            users.update(
                u
                for u, membership in members.items()
                if membership in ("join", "invite") and ban_for(u, [rule], shield)
            )
        return sorted(users)

    async def watched(self) -> list[str]:
        """The rooms enforcement looks after: live managed rooms and peers' shared rooms."""
        rooms = await self.store.managed_rooms(include_archived=False)
        return [r.room_id for r in rooms] + await self.store.rooms_of_kind(SHARED_PEER)

    async def sweep(self) -> int:
        """Every member of every watched room, once (at start)."""
        removed = 0
        for room_id in await self.watched():
            # Read into the sync's view (what others then find whole: the documents' readers,
            # a room key's recipients), else asked for alone (a room the sync lacks).
            whole = await self.gateway.load_members(room_id)
            members = self.gateway.synced_members(room_id) if whole else None
            if members is None:
                members = await self.gateway.members(room_id)
            for user, membership in members.items():
                removed += await self.check(room_id, user, membership)
        return removed
