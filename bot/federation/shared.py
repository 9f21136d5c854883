"""Peer regions' shared rooms (``federation.shared_rooms``), seen from a region that does not
own them: the owning region's bot invites this bot at power 50; this bot joins and asks in its
own vetted members who match the declaration (once: someone who left is not asked back). An
invitation from a peer bot (``federation.peer_bots``) to a room not declared is accepted too:
nobody is asked in there, but the region still answers for its own people in it. Enforcement in
these rooms concerns this server's people only (``bot.moderation.policy``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.config import Config
from bot.errors import MatrixError
from bot.matrix.gateway import Gateway
from bot.matrix.ids import server_of
from bot.moderation.policy import lineage
from bot.store import Store
from bot.store.vetting import VettingStore
from bot.territories.model import SharedRoomDecl
from bot.vetting.provisioning import MemberInfo, Rule

log = logging.getLogger(__name__)
KIND = "shared-peer"


def wanted(decl: SharedRoomDecl, member: MemberInfo, lines: dict[str, tuple[str, ...]]) -> bool:
    """Whether a vetted member matches a shared room's declaration."""
    rule = Rule(
        rooms=(), professions=decl.professions, territories=decl.territories, users=decl.users
    )
    return rule.matches(member, lines.get(member.territory, ()))


class SharedRooms:
    def __init__(self, config: Config, gateway: Gateway, store: Store):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.members = VettingStore(store)
        self.joined: dict[str, str] = {}  # declared reference → room id

    async def declares(self, room_id: str) -> bool:
        """Whether an invitation is to a declared shared room (aliases resolved now: the owner
        may have made the room after this bot started)."""
        for decl in self.config.federation.shared_rooms:
            try:
                if await self.gateway.resolve(decl.room) == room_id:
                    return True
            except (MatrixError, KeyError):
                continue
        return False

    async def accept(self, room_id: str, inviter: str) -> None:
        await self.gateway.join(room_id)
        await self.store.add_room(room_id, KIND, inviter)
        log.info("joined %s, shared by %s", room_id, inviter)

    async def follow(self, only: Iterable[str] | None = None) -> int:
        """Join each declared room this bot was invited to, and invite the matching members
        (``only``: just these). A room not reachable yet is retried at the next invitation,
        reload or start. Returns how many invitations went out."""
        users = set(only) if only is not None else None
        sent = 0
        for decl in self.config.federation.shared_rooms:
            try:
                room_id = await self.gateway.resolve(decl.room)
                if room_id not in self.gateway.client.rooms:
                    await self.gateway.join(room_id)  # refused unless the owner invited us
                await self.store.add_room(room_id, KIND, decl.room)
                self.joined[decl.room] = room_id
                sent += await self._provision(room_id, decl, users)
            except (MatrixError, KeyError) as exc:
                log.info("shared room %s not open to this region yet: %s", decl.room, exc)
        return sent

    async def _provision(self, room_id: str, decl: SharedRoomDecl, users: set[str] | None) -> int:
        own = self.config.homeserver.server_name
        lines = lineage(self.config.network)
        present = await self.gateway.members(room_id)
        sent = 0
        for member in await self.members.member_infos():
            if users is not None and member.user_id not in users:
                continue
            if server_of(member.user_id) != own or member.user_id in present:
                continue  # the owner admits this server's people only; someone who left stays out
            if not wanted(decl, member, lines):
                continue
            try:
                await self.gateway.invite(room_id, member.user_id)
                sent += 1
            except MatrixError as exc:
                log.warning("could not invite %s to %s: %s", member.user_id, decl.room, exc)
        if sent:
            await self.store.audit(
                self.gateway.user_id,
                "shared.provision",
                "ok",
                room_id=room_id,
                detail=f"{decl.room}: {sent} invitation(s)",
            )
        return sent
