"""The network as a capability: the declared spaces and rooms made and kept (the reconciler
is the only writer of managed rooms' structure), drift repaired, working groups merged in."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from bot.capability import Capability, Core
from bot.config import Config
from bot.errors import MatrixError
from bot.events import NetworkReconciled
from bot.i18n import t
from bot.matrix.sync import Invite, Left, StateChange
from bot.store.groups import Group, GroupStore
from bot.territories.groups import effective
from bot.territories.keeper import NetworkKeeper
from bot.territories.reconciler import Outcome, Progress, Reconciler
from bot.territories.render import render_plan

log = logging.getLogger(__name__)


class Territories(Capability):
    name = "territories"
    commands = ("bot.commands.network",)

    def __init__(self, core: Core, groups: list[Group]):
        super().__init__(core)
        self.groups = groups  # the working groups animators made, merged into the network
        self.reconciler = Reconciler(core.config, core.gateway, core.store, core.data_dir)
        self.keeper = NetworkKeeper(self.reconciler, self._after_reconcile)
        self.events = {Invite: self.on_invite, StateChange: self.on_drift, Left: self.on_left}

    @staticmethod
    async def groups_of(core: Core) -> list[Group]:
        return await GroupStore(core.store).all()

    def effective(self, file_config: Config) -> Config:
        """The config as the running network is: the file's, with the working groups."""
        return effective(file_config, self.groups)

    def holders(self) -> list[Any]:
        return [self.reconciler]

    async def start(self) -> None:
        self.keeper.request_full()

    def loops(self) -> dict[str, Coroutine[Any, Any, None]]:
        return {"keeper": self.keeper.run()}

    async def reloaded(self) -> None:
        self.keeper.request_full()

    async def settled(self, timeout: float = 120.0) -> None:
        """Wait until the keeper has nothing left to reconcile."""
        await self.keeper.settled(timeout)

    async def groups_changed(self) -> None:
        """A working group made or archived: the network has it now (or no longer)."""
        self.groups = await GroupStore(self.core.store).all()
        self.core.reconfigure(self.effective(self.core.file_config))

    async def reconcile_keys(self, keys: set[str]) -> None:
        """Make or update these rooms now (a group just made); raises if one failed."""
        outcome = await self.reconciler.reconcile(source="group", only=keys)
        if outcome.failed:
            action, error = outcome.failed[0]
            raise MatrixError(None, "AGORA_RECONCILE", f"{action.op} {action.key}: {error}")

    async def reconcile(
        self, *, dry_run: bool, progress: Progress | None = None
    ) -> tuple[str, bool]:
        """For `!reconcile`: the plan (dry run) or what was applied; and whether all went well."""
        loc = self.config.locale
        outcome = await self.reconciler.reconcile(
            dry_run=dry_run, source="command", progress=progress
        )
        if dry_run:
            return render_plan(outcome.actions, loc), True
        lines = [
            t("reconcile.done", loc, n=len(outcome.actions))
            if outcome.actions
            else t("plan.nothing", loc)
        ]
        lines += _failures(outcome, loc)
        return "\n".join(lines), not outcome.failed

    # --- events -------------------------------------------------------------------------------

    async def on_invite(self, invite: Invite) -> bool:
        """An invitation to a room the config asks the bot to take over."""
        if invite.room_id not in await self._adoption_targets():
            return False
        await self.core.gateway.join(invite.room_id)
        return True

    async def _adoption_targets(self) -> set[str]:
        """Room ids the config asks the bot to take over (aliases resolved now)."""
        targets: set[str] = set()
        for territory, _ in self.config.network.walk():
            for room in territory.rooms:
                if room.adopt_room:
                    targets.add(room.adopt_room)
                elif room.adopt_alias:
                    with contextlib.suppress(MatrixError, KeyError):
                        targets.add(await self.core.gateway.resolve(room.adopt_alias))
        return targets

    async def on_drift(self, change: StateChange) -> bool:
        """A hand-made change in a managed room: repaired within seconds."""
        key = await self.core.store.managed_key(change.room_id)
        if key is None:
            return False
        self.keeper.request_repair(key, change)
        return True

    async def on_left(self, left: Left) -> bool:
        """The bot removed from a managed room: the admins are told that nobody enforces
        membership there any more."""
        key = await self.core.store.managed_key(left.room_id)
        if key is None:
            return False
        if left.sender == self.core.gateway.user_id:
            return True  # it left on its own
        await self.core.store.audit(
            left.sender or "", "room.bot_removed", left.membership, room_id=left.room_id
        )
        loc = self.config.locale
        params = {
            "room": key,
            "membership": t(
                "control.bot_removed.ban"
                if left.membership == "ban"
                else "control.bot_removed.leave",
                loc,
            ),
            "sender": left.sender or "?",
        }
        if not self.core.control.room_id:
            await self.core.control.announce("control.bot_removed", params)
        else:  # retried until said (``announce`` lets a failed send go)
            await self.core.control.note(t("control.bot_removed", loc, **params))
        return True

    async def _after_reconcile(self, outcome: Outcome, why: str, drift: list[StateChange]) -> None:
        """Tell the control room what reconciling did (nothing when nothing changed); after
        a full run, everyone is looked at again (``NetworkReconciled``)."""
        if why == "full":
            await self.core.publish(NetworkReconciled(full=True))
        loc = self.config.locale
        lines: list[str] = [t("reconcile.resumed", loc, **run) for run in outcome.resumed]
        if why == "drift":
            repaired = {a.key for a in outcome.actions}
            for change in drift:
                key = await self.core.store.managed_key(change.room_id)
                if key not in repaired:
                    continue
                lines.append(
                    t(
                        "reconcile.drift",
                        loc,
                        name=key,
                        what=change.event_type,
                        sender=change.sender,
                    )
                )
                await self.core.store.audit(
                    change.sender,
                    "territories.drift",
                    "repaired",
                    room_id=change.room_id,
                    detail=change.event_type,
                )
        elif outcome.actions:
            lines.append(t("reconcile.done", loc, n=len(outcome.actions)))
        lines += _failures(outcome, loc)
        if outcome.unreachable:
            lines.append(t("reconcile.unreachable", loc, keys=", ".join(outcome.unreachable)))
        if lines and self.core.control.room_id:
            # Not sent (the homeserver away): the keeper runs again and says it then.
            await self.core.control.note("\n".join(lines))


def _failures(outcome: Outcome, loc: str) -> list[str]:
    if not outcome.failed:
        return []
    return [
        t("reconcile.failed", loc, n=len(outcome.failed)),
        *(f"  - {a.op} {a.key}: {err}" for a, err in outcome.failed[:10]),
    ]
