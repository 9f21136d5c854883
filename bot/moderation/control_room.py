"""The control room: encrypted, invite-only, every configured admin in it with power 100.

Created on first start; an admin who is missing (never joined, left, or was kicked) is invited
again, at start and whenever their membership changes. Enforcement never removes anyone here.
"""

from __future__ import annotations

import logging

from nio import RoomPreset, RoomVisibility

from bot.config import Config
from bot.errors import MatrixError
from bot.i18n import t
from bot.matrix.gateway import Gateway
from bot.store import Store

log = logging.getLogger(__name__)

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}
ADMIN_POWER = 100


def initial_state() -> list[dict]:
    return [
        ENCRYPTION,
        {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
        {
            "type": "m.room.history_visibility",
            "state_key": "",
            "content": {"history_visibility": "invited"},
        },
    ]


def creators_are_privileged(room_version: str) -> bool:
    """From room version 12 (MSC4289) creators have unlimited power and must not be listed in
    the power levels' ``users``."""
    return room_version.isdigit() and int(room_version) >= 12


def power_levels_plan(
    current: dict, bot: str, admins: tuple[str, ...], privileged: frozenset[str] = frozenset()
) -> dict | None:
    """Pure: the power-level content with every admin and the bot at 100 (creators of a v12+
    room excepted: they are above any level), or None if it is already so."""
    users = dict(current.get("users", {}))
    wanted = {u: ADMIN_POWER for u in (bot, *admins) if u not in privileged}
    if all(users.get(u) == level for u, level in wanted.items()):
        return None
    users.update(wanted)
    return {**current, "users": users}


class ControlRoom:
    def __init__(self, config: Config, gateway: Gateway, store: Store):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.room_id: str | None = None

    async def ensure(self) -> str:
        room_id = await self.store.get("control_room_id")
        if room_id and not await self._usable(room_id):
            log.warning("control room %s is no longer usable; creating a new one", room_id)
            await self.store.remove_room(room_id)
            room_id = None
        if not room_id:
            room_id = await self._create()
        self.room_id = room_id
        await self.reconcile_admins()
        return room_id

    async def _usable(self, room_id: str) -> bool:
        try:
            members = await self.gateway.members(room_id)
        except MatrixError:
            members = {}
        if members.get(self.gateway.user_id) == "join":
            return True
        try:
            await self.gateway.join(room_id)
            return True
        except MatrixError:
            return False

    async def _create(self) -> str:
        loc = self.config.locale
        room_id = await self.gateway.create_room(
            visibility=RoomVisibility.private,
            preset=RoomPreset.private_chat,
            name=t("control.name", loc),
            topic=t("control.topic", loc),
            invite=(),
            initial_state=initial_state(),
            # The creator gets top power from createRoom itself, whatever the room version.
            power_level_override={"users": {a: ADMIN_POWER for a in self.config.admins}},
        )
        await self.store.put("control_room_id", room_id)
        await self.store.add_room(room_id, "control")
        await self.store.audit(self.gateway.user_id, "control_room.create", "ok", room_id=room_id)
        log.info("created the control room %s", room_id)
        return room_id

    async def reconcile_admins(self) -> list[str]:
        """Power 100 for every admin; invite those not joined or invited. Returns who was invited."""
        room_id = self.room_id
        assert room_id
        current = await self.gateway.get_state(room_id, "m.room.power_levels") or {}
        create = await self.gateway.get_state(room_id, "m.room.create") or {}
        privileged = (
            frozenset([self.gateway.user_id, *create.get("additional_creators", [])])
            if creators_are_privileged(str(create.get("room_version", "1")))
            else frozenset()
        )
        wanted = power_levels_plan(current, self.gateway.user_id, self.config.admins, privileged)
        if wanted is not None:
            await self.gateway.put_state(room_id, "m.room.power_levels", wanted)
        members = await self.gateway.members(room_id)
        invited = []
        for admin in self.config.admins:
            state = members.get(admin)
            if state in ("join", "invite"):
                continue
            try:
                if state == "ban":
                    await self.gateway.raw(
                        "POST", f"/_matrix/client/v3/rooms/{room_id}/unban", {"user_id": admin}
                    )
                await self.gateway.invite(room_id, admin)
                invited.append(admin)
                await self.store.audit(
                    self.gateway.user_id, "control_room.invite", "ok", room_id=room_id, detail=admin
                )
            except MatrixError as exc:
                log.error("could not invite admin %s to the control room: %s", admin, exc)
                await self.store.audit(
                    self.gateway.user_id,
                    "control_room.invite",
                    "failed",
                    room_id=room_id,
                    detail=f"{admin}: {exc}",
                )
        return invited
