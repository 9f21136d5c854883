"""The bot's own capability: its direct chats, what it cannot read yet, commands withdrawn
before they ran, work given up, its status, and invitations nobody else wanted."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from bot.capability import Capability, Core
from bot.errors import MatrixError, MatrixUnavailable
from bot.i18n import t
from bot.matrix.crosssigning import device_is_cross_signed
from bot.matrix.direct import DM_MARK, opened_for
from bot.matrix.events import GAVE_UP_EVENT_JOB
from bot.matrix.gateway import path_part
from bot.matrix.ids import server_of
from bot.matrix.sync import Invite, Membership, Redaction, Unreadable
from bot.matrix.unreadable import Unreadables
from bot.store import REDACTED
from bot.version import version

log = logging.getLogger(__name__)

GAVE_UP_JOB = "jobs.gave_up"


class Runtime(Capability):
    name = "runtime"
    commands = ("bot.commands.core", "bot.commands.jobs")

    def __init__(
        self,
        core: Core,
        *,
        reload: Callable[[], list[str]],
        homeserver_url: str,
        commands_came: Callable[[], None],
    ):
        super().__init__(core)
        self.unreadables = Unreadables(
            core.gateway,
            core.store,
            core.metrics,
            lambda: (self.config.commands.prefix, self.config.locale),
            lambda: core.direct.rooms,
            core.router.route,
            commands_came,  # a command read late: the dispatcher's turn
        )
        # The application's: the config file read again; the changes that need a restart.
        self.reload = reload
        self.homeserver_url = homeserver_url
        self.started_at = time.time()
        self.jobs = {GAVE_UP_JOB: self.report_gave_up, GAVE_UP_EVENT_JOB: self.report_event_gave_up}
        self.events = {
            Invite: self.on_invite,
            Membership: self.on_membership,
            Redaction: self.on_redaction,
            Unreadable: self.unreadables.read_again,
        }

    @property
    def scheduler(self) -> Any:
        return self.core.jobs

    async def start(self) -> None:
        await self._profile()

    async def _profile(self) -> None:
        name, store = self.config.bot.display_name, self.core.store
        if await store.get("display_name") != name:
            client = self.core.gateway.client
            await self.core.gateway.call("set display name", lambda: client.set_displayname(name))
            await store.put("display_name", name)

    async def leave_strays(self) -> None:
        """Once every capability has started: leave rooms that are neither the control room,
        a direct chat nor kept by a capability. A direct chat the bot opened just before a crash, before recording it,
        is kept as that."""
        gateway, store = self.core.gateway, self.core.store
        for room_id in list(gateway.client.rooms):
            if await store.room_kind(room_id) is not None:
                continue
            with contextlib.suppress(MatrixError):
                mark = await gateway.raw(
                    "GET",
                    f"/_matrix/client/v3/rooms/{path_part(room_id)}/state/{DM_MARK}/",
                    query={"format": "event"},
                    what="read whom a room was opened for",
                )
                peer = opened_for(mark, gateway.user_id)
                if peer is not None and await store.dm_with(peer) is None:
                    log.info("%s: a direct chat opened before a crash, kept", room_id)
                    await store.add_room(room_id, "dm", peer)
                    await self.core.direct.refresh()
                    continue
            log.info("leaving %s: not a room Agora serves", room_id)
            with contextlib.suppress(MatrixError):
                await gateway.leave(room_id)

    # --- events -------------------------------------------------------------------------------

    async def on_invite(self, invite: Invite) -> bool:
        """Back into a room the bot keeps; a direct chat someone opens with it."""
        gateway, store = self.core.gateway, self.core.store
        if await store.room_kind(invite.room_id) is not None:
            await gateway.join(invite.room_id)
            return True
        if invite.is_direct and invite.inviter:
            # First: the others' checks may ask peer servers, and a person is waiting here.
            await gateway.join(invite.room_id)
            await store.add_room(invite.room_id, "dm", invite.inviter)
            await self.core.direct.refresh()
            log.info("joined a direct chat with %s", invite.inviter)
            return True
        return False

    async def decline(self, invite: Invite) -> bool:
        """An invitation no capability wanted (routed last)."""
        log.info(
            "declining invite to %s from %s: not a direct chat", invite.room_id, invite.inviter
        )
        await self.core.gateway.leave(invite.room_id)
        return True

    async def on_membership(self, change: Membership) -> bool:
        """The other side left a direct chat: the bot leaves too. They joined it from another
        homeserver: what the bot told them before reaches them (``joined_from_afar``)."""
        own = self.core.gateway.user_id
        if change.user_id == own or change.membership not in ("join", "leave", "ban"):
            return False
        if await self.core.store.room_kind(change.room_id) != "dm":
            return False
        if change.membership == "join":
            if server_of(change.user_id) == server_of(own):
                return False
            await self.core.direct.joined_from_afar(change.room_id, change.user_id)
            return True
        log.info("%s left our direct chat %s; leaving too", change.user_id, change.room_id)
        await self.core.store.remove_room(change.room_id)
        await self.core.direct.refresh()
        with contextlib.suppress(MatrixError):
            await self.core.gateway.leave(change.room_id)
        return True

    async def on_redaction(self, redaction: Redaction) -> None:
        """A command withdrawn before it ran was not run (``Store.record_events``): said in
        the audit."""
        if await self.core.store.command_outcome(redaction.redacts) == REDACTED:
            await self.core.store.audit(
                redaction.sender, "command.withdrawn", "skipped", room_id=redaction.room_id
            )

    # --- work given up ------------------------------------------------------------------------

    async def report_gave_up(self, payload: dict[str, Any]) -> None:
        if not self.core.control.room_id:
            raise MatrixUnavailable("no control room yet")  # tried again later
        await self.core.control.note(
            t(
                "jobs.gave_up",
                self.config.locale,
                id=payload["id"],
                kind=payload["kind"],
                ref=payload["ref"],
                attempts=payload["attempts"],
                prefix=self.config.commands.prefix,
            )
        )

    async def report_event_gave_up(self, payload: dict[str, Any]) -> None:
        if not self.core.control.room_id:
            raise MatrixUnavailable("no control room yet")
        await self.core.control.note(
            t("events.gave_up", self.config.locale, kind=payload["kind"], ref=payload["ref"])
        )

    # --- what `!status` shows ------------------------------------------------------------------

    async def status_info(self) -> dict[str, Any]:
        gateway = self.core.gateway
        user_id, device_id = gateway.user_id, gateway.device_id
        try:
            cross_signed = device_is_cross_signed(
                await gateway.query_keys([user_id]), user_id, device_id
            )
        except MatrixError:
            cross_signed = False
        olm = gateway.client.olm
        ed25519 = olm.account.identity_keys["ed25519"] if olm else "?"
        return {
            "version": version(),
            "started_at": self.started_at,
            "homeserver": self.homeserver_url,
            "server_name": self.config.homeserver.server_name,
            "device_id": device_id,
            "fingerprint": " ".join(ed25519[i : i + 4] for i in range(0, len(ed25519), 4)),
            "cross_signed": cross_signed,
            "counts": await self.core.store.counts(),
        }
