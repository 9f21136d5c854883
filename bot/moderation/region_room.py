"""A room the bot keeps for its region and its peers: made once, found again by its alias
``#<bot localpart>-<suffix>:<server>`` (peers derive or configure it), with the peer regions'
bots (``federation.peer_bots``) invited so that they can read it over federation."""

from __future__ import annotations

import logging

from nio import RoomPreset, RoomVisibility

from bot.config import Config
from bot.errors import MatrixError
from bot.i18n import t
from bot.matrix.gateway import Gateway, path_part
from bot.moderation.control_room import ADMIN_POWER, admins_only_power, initial_state
from bot.store import Store

log = logging.getLogger(__name__)


def region_alias(localpart: str, suffix: str, server: str) -> str:
    return f"#{localpart}-{suffix}:{server}"


class RegionRoom:
    """Subclasses name the store key, the room kind, the alias suffix and the i18n keys."""

    kv_key = ""
    kind = ""
    suffix = ""
    name_key = ""
    topic_key = ""
    invite_admins = True

    def __init__(self, config: Config, gateway: Gateway, store: Store):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.room_id: str | None = None

    @property
    def alias(self) -> str:
        return region_alias(
            self.config.bot.localpart, self.suffix, self.config.homeserver.server_name
        )

    async def ensure(self) -> str:
        room_id = await self.store.get(self.kv_key) or await self._found_by_alias()
        if not room_id:
            room_id = await self._create()
        await self.store.add_room(room_id, self.kind)  # known, so never left as a stray
        self.room_id = room_id
        members = await self.gateway.members(room_id)
        peers = self.config.federation.peer_bots
        wanted = (*self.config.admins, *peers) if self.invite_admins else peers
        for user in wanted:
            if members.get(user) not in ("join", "invite", "ban"):
                try:
                    await self.gateway.invite(room_id, user)
                except MatrixError as exc:
                    log.warning("could not invite %s to %s: %s", user, self.alias, exc)
        try:  # a former admin keeps no power here
            await admins_only_power(
                self.gateway, room_id, self.config.admins if self.invite_admins else ()
            )
        except MatrixError as exc:
            log.warning("could not set the power levels of %s: %s", self.alias, exc)
        for user, membership in members.items():
            # A region dropped from the peers (or anyone else) reads the room no longer.
            if membership in ("join", "invite") and user not in (self.gateway.user_id, *wanted):
                try:
                    await self.gateway.kick(room_id, user, "not a peer of this region")
                except MatrixError as exc:
                    log.warning("could not remove %s from %s: %s", user, self.alias, exc)
        return room_id

    async def _found_by_alias(self) -> str | None:
        """The room this bot made before, when its record is gone (a data directory restored
        or started afresh): peers know the region by this alias, so it is kept, not replaced."""
        try:
            room_id = await self.gateway.resolve(self.alias)
            if (await self.gateway.members(room_id)).get(self.gateway.user_id) != "join":
                return None
        except (MatrixError, KeyError):
            return None
        log.warning("%s found again by its alias %s", self.kind, self.alias)
        await self.store.put(self.kv_key, room_id)
        return room_id

    async def _create(self) -> str:
        loc = self.config.locale
        room_id = await self.gateway.create_room(
            visibility=RoomVisibility.private,
            preset=RoomPreset.private_chat,
            name=t(self.name_key, loc),
            topic=t(self.topic_key, loc),
            invite=(),
            initial_state=initial_state(),
            power_level_override={"users": {a: ADMIN_POWER for a in self.config.admins}},
        )
        try:
            await self.gateway.raw(
                "PUT",
                f"/_matrix/client/v3/directory/room/{path_part(self.alias)}",
                {"room_id": room_id},
                what=f"create alias {self.alias}",
            )
            await self.gateway.put_state(room_id, "m.room.canonical_alias", {"alias": self.alias})
        except MatrixError as exc:  # the room works without its alias; peers can use the id
            log.warning("alias %s not set: %s", self.alias, exc)
        await self.store.put(self.kv_key, room_id)
        await self.store.add_room(room_id, self.kind)
        await self.store.audit(
            self.gateway.user_id, f"{self.kind}_room.create", "ok", room_id=room_id
        )
        return room_id
