"""Moderation as a capability: nobody unvetted or banned stays in a managed room, the
control room follows ``admins``, the region's ban list and the peers' lists it trusts, and
revocation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

from bot.capability import Capability, Core
from bot.effects import detached
from bot.errors import AgoraError, BadArgument, MatrixError, NotFound, PermissionDenied
from bot.events import NetworkReconciled
from bot.i18n import short_when, t
from bot.matrix.sync import Invite, Left, Membership, PolicyEvents
from bot.moderation.bans import PolicyRule
from bot.moderation.enforcement import Enforcer
from bot.moderation.policy_room import PolicyRoom
from bot.moderation.revocation import REVOKE_JOB, Revocation
from bot.moderation.rules import Asked, BanRules
from bot.store.moderation import Hold

log = logging.getLogger(__name__)

# A ban's entity: a user id (globs allowed in its server) or a server name (globs allowed).
ENTITY_RE = re.compile(r"^(@[^\s:]+:[A-Za-z0-9.*?\-]+(:\d{1,5})?|[A-Za-z0-9.*?\-]+(:\d{1,5})?)$")


class Moderation(Capability):
    name = "moderation"
    commands = ("bot.commands.moderation",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.enforcer = Enforcer(core.config, core.gateway, core.store, core.control, core.metrics)
        self.policy = PolicyRoom(core.config, core.gateway, core.store)
        self.bans = BanRules(
            core.config, core.gateway, core.store, self.policy, self.enforcer, core.control
        )
        self.revocation = Revocation(core, self.policy)
        self.trust = core.trust
        self.jobs = {REVOKE_JOB: self.revocation.run}
        self.events = {
            Membership: self.on_membership,
            PolicyEvents: self.on_rules,
            Invite: self.on_invite,
            Left: self.on_left,
            NetworkReconciled: self.on_reconciled,
        }
        self._sweeping: asyncio.Task[None] | None = None

    def holders(self) -> list[Any]:
        return [self.enforcer, self.policy, self.bans]

    async def start(self) -> None:
        await self.bans.ensure()

    async def started(self) -> None:
        """Whoever slipped into a managed room while the bot was down goes; meanwhile the
        trusted peers' lists are followed (a peer that is down must not hold the start up)."""
        self._sweep_soon()
        await self.follow_peers()

    async def stop(self) -> None:
        if self._sweeping is not None:
            self._sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sweeping

    def _sweep_soon(self) -> None:
        """Everyone in the watched rooms looked at again, unless a sweep is under way."""
        if self._sweeping is None or self._sweeping.done():
            self._sweeping = detached(self._sweep(), name="sweep")

    async def follow_peers(self, *, own: bool = False) -> None:
        """The peers' lists as the config declares them now (``own``, on reload: this
        region's list first, whose peers may have changed)."""
        try:
            if own:
                await self.bans.ensure()
            await self.bans.follow_trusted()
        except AgoraError as exc:  # retried at the next reload or start
            log.error("following the peer regions' lists: %s", exc)

    async def reloaded(self) -> None:
        """New admins, animators and managers: whose devices speak for them, the control room
        following ``admins``; the peers' lists as declared now. One failing (the homeserver
        away a moment) does not keep the others from being done."""
        for step in (self.trust.refresh, self.core.control.reconcile_admins):
            try:
                await step()
            except AgoraError as exc:  # done again at the next reload or start
                log.error("after a reload: %s", exc)
        await self.follow_peers(own=True)

    async def _sweep(self) -> None:
        try:
            removed = await self.enforcer.sweep()
        except AgoraError as exc:
            log.error("membership sweep failed: %s", exc)
            return
        if removed:
            log.warning("removed %d person(s) found in managed rooms", removed)

    # --- events -------------------------------------------------------------------------------

    async def on_membership(self, change: Membership) -> bool:
        """Someone joined or was invited where they may not be: removed. The control room
        follows ``admins``."""
        if change.user_id == self.core.gateway.user_id:
            return True
        if await self.enforcer.check(change.room_id, change.user_id, change.membership):
            return True
        if await self.core.store.room_kind(change.room_id) != "control":
            return False
        admins = self.config.admins
        if change.membership in ("join", "invite") and change.user_id not in admins:
            await self.core.control.remove_outsider(change.user_id)
        elif change.user_id in admins and change.membership in ("leave", "ban"):
            try:
                await self.core.control.reconcile_admins()
            except MatrixError as exc:
                log.error("could not restore admin %s in the control room: %s", change.user_id, exc)
        return True

    async def on_rules(self, events: PolicyEvents) -> bool:
        await self.bans.on_events(list(events.items))
        return True

    async def on_invite(self, invite: Invite) -> bool:
        """A peer region's policy list this region trusts: joined, and its rules applied."""
        if not await self.policy.is_trusted(invite.room_id):
            return False
        await self.bans.follow_trusted()
        return True

    async def on_left(self, left: Left) -> bool:
        """The bot out of the control room: it is made again (the start sees to it itself)."""
        if left.room_id != self.core.control.room_id:
            return False
        log.warning("the bot is no longer in the control room; restoring it")
        await self.core.control.ensure()
        return True

    async def on_reconciled(self, event: NetworkReconciled) -> None:
        """After a full reconcile everyone is looked at again: a server dropped from the
        allow-list, or a room no longer shared, leaves people who may no longer be there."""
        if event.full:
            self._sweep_soon()

    # --- what the commands ask ----------------------------------------------------------------

    async def ban(self, entity: str, reason: str, by: str) -> Asked:
        """`!policy ban`: a rule published now, or held for an admin's `!confirm` when it is a
        glob or its sweep would remove many. Never this region's own server or its admins."""
        reason = reason.strip()
        if not ENTITY_RE.match(entity) or not reason:
            raise BadArgument("policy.ban_usage", prefix=self.config.commands.prefix)
        kind = "user" if entity.startswith("@") else "server"
        shield = self.bans.shield
        if kind == "user" and entity in shield.people:
            raise PermissionDenied("policy.protected", user=entity)
        if shield.refuses(PolicyRule(kind, entity, "m.ban")):
            raise PermissionDenied("policy.own_server", server=self.config.homeserver.server_name)
        return await self.bans.ask_ban(kind, entity, reason, by)

    async def unban(self, entity: str, by: str) -> None:
        """`!policy unban`: the rule withdrawn from the region's list."""
        kind = "user" if entity.startswith("@") else "server"
        if not await self.policy.unban(kind, entity):
            raise NotFound("policy.no_rule", entity=entity)
        await self.core.store.audit(by, "policy.unban", "ok", detail=f"{kind} {entity}")

    async def listing(self, locale: str) -> str:
        """`!policy list`: the region's rules, with those held or refused marked."""
        stored = [
            s
            for s in await self.policy.rules.stored_in(self.policy.room_id or "")
            if s.status != "ignored"
        ]
        if not stored:
            return t("policy.empty", locale)
        lines = [t("policy.list_title", locale, n=len(stored))]
        lines += [
            f"• {s.rule.kind} {s.rule.entity} — {s.rule.recommendation} — {s.rule.reason or '—'}"
            + ("" if s.status == "active" else f" ({t('policy.status.' + s.status, locale)})")
            for s in stored
        ]
        return "\n".join(lines)

    async def trusted(self, locale: str) -> str:
        """`!policy trusted`: the peers' lists this region follows, and how they are."""
        refs = self.config.federation.trusted_policy_rooms
        if not refs:
            return t("policy.no_trusted", locale)
        lines = [t("policy.trusted_title", locale, n=len(refs))]
        for ref in refs:
            room_id = self.policy.trusted.get(ref)
            rules = await self.policy.rules.rules({room_id}) if room_id else []
            last = await self.policy.rules.last_update(room_id) if room_id else None
            lines.append(
                t(
                    "policy.trusted_line",
                    locale,
                    ref=ref,
                    n=len(rules),
                    state=t("policy.reachable" if room_id else "policy.unreachable", locale),
                    last=short_when(last, locale, ZoneInfo(self.config.rosters.timezone))
                    if last
                    else "—",
                )
            )
        return "\n".join(lines)

    async def confirm(self, hold: int, by: str) -> tuple[Hold, int]:
        return await self.bans.confirm(hold, by)

    async def cancel(self, hold: int, by: str) -> Hold:
        return await self.bans.cancel(hold, by)
