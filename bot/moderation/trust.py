"""Which devices speak for the people who may act (admins, animators, managers).

A command or a reaction counts as theirs only when it comes from a device signed by their
self-signing key, itself signed by the master key the bot pinned the first time it saw it
(trust on first use). The bot checks every signature itself (``published_identity``):
matrix-nio 0.26 checks none. A changed master key is refused until another admin accepts it
(``!trust``). The same answer decides who receives the control room's keys.

``security.verified_devices: off`` turns all of it off (any device of theirs is obeyed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from bot.config import Config
from bot.errors import Conflict, MatrixError, NotFound, PermissionDenied
from bot.matrix.crosssigning import DeviceKeys, fingerprint, published_identity
from bot.matrix.gateway import Gateway
from bot.moderation.control_room import ControlRoom
from bot.store import Store
from bot.store.trust import KeyChange, TrustStore

log = logging.getLogger(__name__)

# Why a device does not speak for its owner (message ids).
UNVERIFIED = "trust.refused.unverified"  # not signed by their identity (or unencrypted)
NO_IDENTITY = "trust.refused.no_identity"  # they have no cross-signing identity at all
KEY_CHANGED = "trust.refused.key_changed"  # their identity changed; an admin must accept it

RECHECK_AFTER = 5.0  # seconds: a refused device is looked up again at most this often


def privileged_people(config: Config) -> set[str]:
    """Admins, animators and managers of managerial rooms: whoever may act for others."""
    people = set(config.admins)
    for territory, _ in config.network.walk():
        people.update(territory.animators)
        people.update(r.manager for r in territory.rooms if r.manager)
    return people


class DeviceTrust:
    def __init__(
        self,
        config: Config,
        gateway: Gateway,
        store: Store,
        control: ControlRoom,
    ):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.keys = TrustStore(store)
        self.control = control
        self._devices: dict[str, dict[str, DeviceKeys]] = {}
        self._state: dict[str, str] = {}  # user → ok | none | changed
        self._checked: dict[str, float] = {}
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self.config.security.verified_devices == "privileged"

    def privileged(self) -> set[str]:
        return privileged_people(self.config)

    # --- keeping it fresh --------------------------------------------------------------------

    async def refresh(self, users: Iterable[str] | None = None) -> None:
        """Read the published keys of ``users`` (default: every privileged person) and check
        them against their pins; a first identity is pinned, a changed one refused and
        announced once."""
        wanted = sorted(set(users) if users is not None else self.privileged())
        if not wanted or not self.enabled:
            return
        async with self._lock:
            try:
                published = await self.gateway.query_keys(wanted)
            except MatrixError as exc:
                log.warning(
                    "could not read the cross-signing keys of %d people: %s", len(wanted), exc
                )
                return
            changed = False
            for user in wanted:
                try:
                    changed |= await self._judge(user, published)
                except Exception:  # one person's odd keys never stop the others' check
                    log.exception("could not check the cross-signing keys of %s", user)
                    self._state[user], self._devices[user] = "none", {}
                self._checked[user] = time.monotonic()
        if changed:
            # Whose devices may read the control room changed: its next message goes under
            # a new key, shared with the devices allowed now.
            if self.control.room_id:
                self.gateway.rotate_room_key_if_refused(self.control.room_id)

    async def _judge(self, user: str, published: dict[str, Any]) -> bool:
        identity = published_identity(published, user)
        before = self._devices.get(user)
        devices: dict[str, DeviceKeys] = {}
        if identity.master is None:
            state = "none"
        else:
            pinned = await self.keys.pinned(user)
            if pinned is None and await self.keys.pin_first(user, identity.master):
                await self.store.audit(user, "trust.pin", "ok", detail=fingerprint(identity.master))
                await self.control.announce(
                    "trust.pinned_notice",
                    {"user": user, "fingerprint": fingerprint(identity.master)},
                )
                pinned = identity.master
            if pinned == identity.master:
                state, devices = "ok", identity.signed_devices
                await self.keys.clear_change(user)
            else:
                state = "changed"
                assert pinned is not None
                if await self.keys.note_change(user, pinned, identity.master):
                    await self.store.audit(
                        user, "trust.key_changed", "refused", detail=fingerprint(identity.master)
                    )
                    await self.control.announce(
                        "trust.changed_notice",
                        {
                            "user": user,
                            "old": fingerprint(pinned),
                            "new": fingerprint(identity.master),
                            "prefix": self.config.commands.prefix,
                        },
                    )
        self._state[user], self._devices[user] = state, devices
        return (before or {}) != devices

    async def on_device_changes(self, users: Iterable[str]) -> None:
        """The sync says these people's devices or keys changed."""
        mine = self.privileged() & set(users)
        if mine:
            await self.refresh(mine)

    # --- deciding ----------------------------------------------------------------------------

    def _matches(self, user: str, curve: str | None, ed: str | None) -> bool:
        return any(
            d.curve25519 == curve and d.ed25519 == ed for d in self._devices.get(user, {}).values()
        )

    async def check(self, user: str, curve: str | None, ed: str | None) -> str | None:
        """None when the device (as its Megolm session proves it) speaks for ``user``; else
        the message id of why not."""
        if not self.enabled:
            return None
        if curve is None or ed is None:
            return UNVERIFIED
        if user not in self._state:
            await self.refresh([user])
        if self._matches(user, curve, ed):
            return None
        # Perhaps signed a moment ago, before the sync told of it: look once more.
        if time.monotonic() - self._checked.get(user, 0.0) > RECHECK_AFTER:
            await self.refresh([user])
            if self._matches(user, curve, ed):
                return None
        return {"none": NO_IDENTITY, "changed": KEY_CHANGED}.get(
            self._state.get(user, ""), UNVERIFIED
        )

    def may_read_control(self, user: str, device: Any) -> bool:
        """Whether a device gets the control room's keys: an admin's, and (checks on) one of
        their cross-signed devices."""
        if user not in self.config.admins:
            return False
        if not self.enabled:
            return True
        return self._matches(user, device.curve25519, device.ed25519)

    # --- a changed identity ----------------------------------------------------------------------

    async def accept(self, user: str, by: str, expected: str = "") -> KeyChange:
        """Another admin accepts ``user``'s new master key (``!trust``); with ``expected``,
        only if the new key starts with that fingerprint (checked with them)."""
        if user == by:
            raise PermissionDenied("trust.not_yourself")
        change = await self.keys.change(user)
        if change is None:
            pinned = await self.keys.pinned(user)
            if pinned is None:
                raise NotFound("trust.nothing_known", user=user)
            raise Conflict("trust.nothing_to_accept", user=user, fingerprint=fingerprint(pinned))
        given = expected.replace(" ", "")
        if given and not change.new.startswith(given):
            raise PermissionDenied(
                "trust.not_this_one", user=user, fingerprint=fingerprint(change.new), given=expected
            )
        await self.keys.pin(user, change.new, by)
        await self.store.audit(
            by, "trust.accept", "ok", detail=f"{user}: {fingerprint(change.new)}"
        )
        self._state.pop(user, None)
        await self.refresh([user])
        return change
