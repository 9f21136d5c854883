"""Federation as a capability: the peer regions' shared rooms this region's members are asked
into, and the opt-in cross-region directory."""

from __future__ import annotations

import logging
from typing import Any

from bot.capability import Capability, Core
from bot.errors import AgoraError
from bot.events import MemberProvisioned, MemberRemoved
from bot.federation.directory import Directory
from bot.federation.shared import SharedRooms
from bot.matrix.sync import Invite

log = logging.getLogger(__name__)


class Federation(Capability):
    name = "federation"
    commands = ("bot.commands.directory",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.shared = SharedRooms(core.config, core.gateway, core.store)
        self.directory = Directory(core.config, core.gateway, core.store)
        self.events = {
            Invite: self.on_invite,
            MemberProvisioned: self.on_provisioned,
            MemberRemoved: self.on_removed,
        }

    def holders(self) -> list[Any]:
        return [self.shared, self.directory]

    async def start(self) -> None:
        await self.directory.ensure()

    async def started(self) -> None:
        await self.follow_peers()

    async def follow_peers(self, *, own: bool = False) -> None:
        """What the peers keep for this region, as the config declares it now (``own``, on
        reload: this region's directory first, whose peers may have changed). A peer that is
        down is retried at the next invitation, reload or start."""
        try:
            if own:
                await self.directory.ensure()
            await self.directory.follow_peers()
            await self.shared.follow()
        except AgoraError as exc:
            log.error("following the peer regions: %s", exc)

    async def reloaded(self) -> None:
        await self.follow_peers(own=True)

    async def on_invite(self, invite: Invite) -> bool:
        if await self.shared.declares(invite.room_id):
            # A peer region's room shared with this one: join it and ask our members in.
            await self.shared.follow()
        elif await self.directory.is_peer_directory(invite.room_id):
            await self.directory.follow_peers()
        elif invite.inviter in self.config.federation.peer_bots:
            # A peer region shares a space or room this region did not declare: in it, this
            # bot answers for its own server's people (it asks nobody in).
            await self.shared.accept(invite.room_id, invite.inviter or "")
        else:
            return False
        return True

    async def on_provisioned(self, event: MemberProvisioned) -> None:
        """A new member is asked into the peers' shared rooms they match."""
        await self.shared.follow(only=[event.user_id])

    async def on_removed(self, event: MemberRemoved) -> None:
        """No longer a member, or forgotten: no longer listed in any region's directory."""
        await self.directory.withdraw(event.user_id)
