"""The control room: encrypted, invite-only, every configured admin in it with power 100.

Created on first start; an admin who is missing (never joined, left, or was kicked) is invited
again, at start and whenever their membership changes. Enforcement never removes anyone here.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from nio import RoomPreset, RoomVisibility

from bot import effects
from bot.config import Config
from bot.errors import AgoraError, MatrixError
from bot.i18n import t
from bot.matrix.content import ENCRYPTION, notice
from bot.matrix.gateway import Gateway, path_part
from bot.matrix.ids import creators_are_privileged
from bot.store import Store

log = logging.getLogger(__name__)

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


def power_levels_plan(
    current: dict, bot: str, admins: tuple[str, ...], privileged: frozenset[str] = frozenset()
) -> dict | None:
    """Pure: the power-level content with every admin and the bot at 100 (creators of a v12+
    room excepted: they are above any level) and nobody else listed, or None if it is so."""
    wanted = {u: ADMIN_POWER for u in (bot, *admins) if u not in privileged}
    users = dict(wanted)
    if users == current.get("users", {}):
        return None
    return {**current, "users": users}


async def admins_only_power(gateway: Gateway, room_id: str, admins: tuple[str, ...]) -> None:
    """The bot and ``admins`` at 100 in a room the bot keeps for them, nobody else listed (a
    former admin is lowered; in a v12+ room the bot, its creator, can lower anyone)."""
    current = await gateway.get_state(room_id, "m.room.power_levels") or {}
    create = await gateway.get_state(room_id, "m.room.create") or {}
    privileged = (
        frozenset([gateway.user_id, *create.get("additional_creators", [])])
        if creators_are_privileged(str(create.get("room_version", "1")))
        else frozenset()
    )
    wanted = power_levels_plan(current, gateway.user_id, admins, privileged)
    if wanted is not None:
        await gateway.put_state(room_id, "m.room.power_levels", wanted)


class ControlRoom:
    def __init__(self, config: Config, gateway: Gateway, store: Store):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.room_id: str | None = None
        # What was to be announced before there was a control room (the first checks at
        # start): said once it exists.
        self.unannounced: list[tuple[str, dict[str, Any]]] = []

    async def note(self, text: str) -> None:
        """A notice in the control room, named by what it says: a job or event retried after
        a crash says it once, and never shifts the ids of other notices."""
        if self.room_id:
            await self.gateway.send(
                self.room_id, notice(text), txn=effects.content_key(self.room_id, text)
            )

    async def announce(self, key: str, params: dict[str, Any]) -> None:
        """``note`` of a catalogue message, in the region's language; one that cannot be sent
        is let go. Before the room exists, kept until ``say_unannounced``."""
        if not self.room_id:
            self.unannounced.append((key, params))
            return
        with contextlib.suppress(AgoraError):
            await self.note(t(key, self.config.locale, **params))

    async def say_unannounced(self) -> None:
        waiting, self.unannounced = self.unannounced, []
        for key, params in waiting:
            await self.announce(key, params)

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

    async def reconcile_admins(self, _replaced: bool = False) -> list[str]:
        """The room follows ``admins``: power 100 for each of them, nobody else above 0; those
        not joined or invited are invited, anyone else is removed (an admin taken out of the
        list too: they must read no new card). Returns who was invited."""
        room_id = self.room_id
        assert room_id
        admins = self.config.admins
        members = await self.gateway.members(room_id)
        former = set(await self.store.get("control.admins", []) or []) - set(admins)
        try:
            await admins_only_power(self.gateway, room_id, admins)
        except MatrixError as exc:
            if exc.status != 403 or _replaced:
                raise
            # A room where the bot does not outrank the admins (made before room version 12,
            # creator above all): a former admin cannot be lowered or removed there, so the
            # admins move to a new control room and this one is closed.
            await self._replace(room_id, members)
            return await self.reconcile_admins(_replaced=True)
        for user, state in members.items():
            if state in ("join", "invite") and user != self.gateway.user_id and user not in admins:
                await self.remove_outsider(user, former=user in former)
        await self.store.put("control.admins", list(admins))
        invited = []
        for admin in admins:
            membership = members.get(admin)
            if membership in ("join", "invite"):
                continue
            try:
                if membership == "ban":
                    await self.gateway.raw(
                        "POST",
                        f"/_matrix/client/v3/rooms/{path_part(room_id)}/unban",
                        {"user_id": admin},
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

    async def _replace(self, old: str, members: dict[str, str]) -> None:
        log.warning("control room %s cannot follow the admins; replacing it", old)
        new = await self._create()
        self.room_id = new
        loc = self.config.locale
        with contextlib.suppress(MatrixError):
            await self.gateway.send(old, notice(t("control.replaced", loc)))
            await self.gateway.put_state(
                old,
                "m.room.tombstone",
                {"body": t("control.replaced", loc), "replacement_room": new},
            )
        await self.store.remove_room(old)
        await self.store.audit(
            self.gateway.user_id, "control_room.replace", "ok", room_id=new, detail=old
        )
        with contextlib.suppress(MatrixError):
            await self.gateway.leave(old)

    async def remove_outsider(self, user: str, *, former: bool = False) -> None:
        """Someone in the control room who is not an admin (any more) goes, with a notice."""
        room_id = self.room_id
        assert room_id
        loc = self.config.locale
        try:
            if not await self.gateway.kick(room_id, user, t("control.kick_reason", loc)):
                return
        except MatrixError as exc:
            log.error("could not remove %s from the control room: %s", user, exc)
            await self.store.audit(
                self.gateway.user_id,
                "control_room.remove",
                "failed",
                room_id=room_id,
                detail=f"{user}: {exc}",
            )
            return
        await self.store.audit(
            self.gateway.user_id, "control_room.remove", "ok", room_id=room_id, detail=user
        )
        await self.gateway.send(
            room_id,
            notice(
                t(
                    "control.former_admin_removed" if former else "control.outsider_removed",
                    loc,
                    user=user,
                )
            ),
        )
