"""The dispatcher: parse, check role and place once, run, answer, react, audit.

Each inbox row is finished (marked done) only after its answer went out, so a crash re-runs at
most the one unfinished command and never a finished one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.commands.context import CommandContext, Services, notice
from bot.commands.registry import Registry, Role, Where
from bot.config import Config
from bot.errors import AgoraError, BadArgument, PermissionDenied, UserError, new_reference
from bot.i18n import t
from bot.matrix.gateway import Gateway
from bot.metrics import Metrics
from bot.store import InboxRow, Store

log = logging.getLogger(__name__)

OK, REFUSED, FAILED, IGNORED = "ok", "refused", "failed", "ignored"


class Dispatcher:
    def __init__(
        self,
        config: Config,
        registry: Registry,
        gateway: Gateway,
        store: Store,
        metrics: Metrics,
        services: Services,
        role_of: Callable[[str], Role] | None = None,
    ):
        self.config = config
        self.registry = registry
        self.gateway = gateway
        self.store = store
        self.metrics = metrics
        self.services = services
        self.role_of = role_of or self._default_role
        self.wake = asyncio.Event()

    def _default_role(self, user_id: str) -> Role:
        if user_id in self.config.admins:
            return Role.ADMIN
        if any(user_id in t.animators for t, _ in self.config.network.walk()):
            return Role.ANIMATOR
        return Role.ANYONE

    async def run(self) -> None:
        while True:
            await self.drain()
            await self.wake.wait()
            self.wake.clear()

    async def drain(self) -> None:
        while rows := await self.store.pending_events():
            for row in rows:
                await self.handle(row)

    async def _place(self, room_id: str) -> Where | None:
        kind = await self.store.room_kind(room_id)
        return {"control": Where.CONTROL_ROOM, "dm": Where.DM, "managed": Where.MANAGED_ROOM}.get(
            kind or ""
        )

    async def handle(self, row: InboxRow) -> str:
        place = await self._place(row.room_id)
        if place is None:
            # Not a room the bot serves (it is leaving it): nothing to answer.
            await self.store.finish_event(row.event_id, IGNORED)
            return IGNORED
        prefix = self.config.commands.prefix
        if not row.body.startswith(prefix):
            return await self._plain(row, place)
        body = row.body[len(prefix) :].strip()
        name, _, rest = body.partition(" ")
        name = name.lower()
        role = self.role_of(row.sender)
        ctx = CommandContext(
            sender=row.sender,
            room_id=row.room_id,
            event_id=row.event_id,
            locale=self.config.locale,
            prefix=prefix,
            role=role,
            room_kind=place.value,
            registry=self.registry,
            services=self.services,
            gateway=self.gateway,
            origin_ts=row.origin_ts,
        )
        detail = ""
        try:
            cmd = self.registry.get(name)
            if cmd is None:
                message = t("error.unknown_command", ctx.locale, name=prefix + name)
                suggestion = self.registry.suggest(name)
                if suggestion:
                    message += t("error.did_you_mean", ctx.locale, suggestion=prefix + suggestion)
                message += t("error.see_help", ctx.locale, prefix=prefix)
                raise BadArgument("error.text", text=message)
            name = cmd.name
            self._check(cmd.role, cmd.where, place, row, role)
            args = cmd.parse_args(rest, ctx)
            await cmd.handler(ctx, **args)
            outcome = OK
        except UserError as exc:
            outcome = REFUSED
            detail = exc.key
            await self._answer(ctx, exc.render(ctx.locale))
        except Exception as exc:
            outcome = FAILED
            ref = new_reference()
            detail = f"ref {ref}: {exc!r}"
            log.exception("command %r from %s failed (ref %s)", row.body[:80], row.sender, ref)
            await self._answer(ctx, t("error.internal", ctx.locale, ref=ref))
        await self._react(ctx, "✅" if outcome == OK else "❌")
        await self.store.audit(
            row.sender,
            name or "?",
            outcome,
            room_id=row.room_id,
            event_id=row.event_id,
            detail=detail,
        )
        await self.store.finish_event(row.event_id, outcome)
        self.metrics.commands.labels(outcome=outcome).inc()
        return outcome

    async def _plain(self, row: InboxRow, place: Where) -> str:
        """A plain message in a direct chat: an answer in a guided conversation, if any."""
        answer = None
        if place is Where.DM:
            try:
                answer = await self.services.converse(row.sender, row.room_id, row.body)
            except Exception:
                ref = new_reference()
                log.exception("conversation with %s failed (ref %s)", row.sender, ref)
                answer = t("error.internal", self.config.locale, ref=ref)
        if answer:
            await self._answer(
                CommandContext(
                    sender=row.sender,
                    room_id=row.room_id,
                    event_id=row.event_id,
                    locale=self.config.locale,
                    prefix=self.config.commands.prefix,
                    role=Role.ANYONE,
                    room_kind=place.value,
                    registry=self.registry,
                    services=self.services,
                    gateway=self.gateway,
                ),
                answer,
            )
        await self.store.finish_event(row.event_id, "conversation" if answer else IGNORED)
        return "conversation" if answer else IGNORED

    def _check(
        self, needed: Role, where: frozenset[Where], place: Where, row: InboxRow, role: Role
    ) -> None:
        # In the control room everything is administration: only admins, only encrypted.
        if place is Where.CONTROL_ROOM or needed is Role.ADMIN:
            if role < Role.ADMIN:
                raise PermissionDenied("refused.admin_only")
        elif role < needed:
            raise PermissionDenied(f"refused.{needed.name.lower()}_only")
        if place not in where:
            only = next(iter(where)) if len(where) == 1 else None
            raise PermissionDenied(f"refused.where.{only.value}" if only else "refused.where.any")
        if (place is Where.CONTROL_ROOM or needed is Role.ADMIN) and not row.encrypted:
            raise PermissionDenied("refused.unencrypted")

    async def _answer(self, ctx: CommandContext, text: str) -> None:
        try:
            await ctx.gateway.send(ctx.room_id, notice(text, reply_to=ctx.event_id))
        except AgoraError:
            log.exception("could not answer in %s", ctx.room_id)

    async def _react(self, ctx: CommandContext, key: str) -> None:
        try:
            await ctx.react(key)
        except AgoraError:
            log.exception("could not react in %s", ctx.room_id)
