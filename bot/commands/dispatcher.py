"""The dispatcher: parse, check role and place once, run, answer, react, audit.

Each inbox row is finished (marked done) only after its answer went out, so a crash re-runs
only unfinished rows (the one command in progress, or the conversation turns in progress) and
never a finished one. Its ✅ or ❌ is owed with its outcome and sent once the room is quiet,
and the room's latest command marked read then (``bot.commands.reactions``).

Rows are handled in the order they came. Commands run one at a time. A plain message in a
direct chat (a turn of someone's conversation: their answer to a survey's question, a step of
their join request) runs beside other people's turns, each person's in their order: a
thousand answers to a survey do not wait for each other. A command waits for the turns before
it, and the turns after it wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot.commands.context import CommandContext
from bot.commands.reactions import Reactions
from bot.commands.registry import ByPlace, CommandGroup, Registry, Role, Where
from bot.config import Config
from bot.effects import caused_by
from bot.errors import (
    AgoraError,
    BadArgument,
    PermissionDenied,
    UnverifiedDevice,
    UserError,
    new_reference,
    transient,
)
from bot.i18n import t
from bot.matrix.content import notice
from bot.matrix.gateway import Gateway
from bot.matrix.ids import server_of
from bot.metrics import Metrics
from bot.store import REDACTED, InboxRow, Store

if TYPE_CHECKING:
    from bot.moderation.trust import DeviceTrust

log = logging.getLogger(__name__)


class Unencrypted(Exception):
    """An unencrypted event where only encrypted ones count: ignored."""


OK, REFUSED, FAILED, IGNORED, RETRYING = "ok", "refused", "failed", "ignored", "retrying"
RETRY_CHECK = 5.0  # seconds between looks for commands due again
COMMAND_OUTAGE_ATTEMPTS = 300  # about a day at the longest backoff; then it fails
TYPING_AFTER = 1.0  # seconds a command runs before the bot shows it is typing
TYPING_FOR = 30.0  # each typing notice lasts this long (renewed while the command runs)
SHARED_PEER = "shared-peer"  # the store's kind of a peer region's room this bot joined
# Conversation turns of different people handled at once (each a few store writes and one
# encrypted answer): enough to hide the homeserver's round trips, few enough to stay polite.
TURNS_AT_ONCE = 8


@contextlib.asynccontextmanager
async def typing_while_long(gateway: Gateway, room_id: str) -> AsyncIterator[None]:
    """A command that takes more than ``TYPING_AFTER`` shows the bot typing until it ends
    (quick ones send nothing: no cost to them)."""
    shown = False

    async def show() -> None:
        nonlocal shown
        await asyncio.sleep(TYPING_AFTER)
        while True:
            with contextlib.suppress(AgoraError):
                await gateway.typing(room_id, True, int(TYPING_FOR * 1000))
                shown = True
            await asyncio.sleep(TYPING_FOR * 0.8)

    task = asyncio.create_task(show())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if shown:
            with contextlib.suppress(AgoraError):
                await gateway.typing(room_id, False)


class Dispatcher:
    def __init__(
        self,
        config: Callable[[], Config],
        registry: Registry,
        gateway: Gateway,
        store: Store,
        metrics: Metrics,
        services: Mapping[str, Any],
        *,
        converse: Callable[[str, str, str], Awaitable[str | None]],
        tell: Callable[[str, str], Awaitable[None]],
        role_of: Callable[[str], Role] | None = None,
        trust: DeviceTrust | None = None,
    ):
        self.trust = trust
        self._background: set[asyncio.Task[None]] = set()
        self.reactions = Reactions(
            store,
            gateway.react,
            gateway.read_receipt,
            self._in_background,
            lambda: self.config.commands.reaction_delay,
        )
        self._config = config  # the config as it is now (a reload changes it)
        self.registry = registry
        self.gateway = gateway
        self.store = store
        self.metrics = metrics
        # Each command module's services: the capability that serves it (the module's
        # ``Uses`` protocol says which part of it the handlers see).
        self.services = services
        self.converse = converse  # a plain message in a direct chat: a conversation's turn
        self.tell = tell  # a notice in someone's direct chat
        self.role_of = role_of or self._default_role
        self.wake = asyncio.Event()

    @property
    def config(self) -> Config:
        return self._config()

    def _default_role(self, user_id: str) -> Role:
        if user_id in self.config.admins:
            return Role.ADMIN
        walk = list(self.config.network.walk())
        if any(user_id in t.animators for t, _ in walk):
            return Role.ANIMATOR
        if any(r.manager == user_id for t, _ in walk for r in t.rooms):
            return Role.MANAGER
        return Role.ANYONE

    async def run(self) -> None:
        await self.reactions.resume()
        while True:
            await self.drain()
            # Woken by a sync that brought commands, or when a command waiting out an outage
            # is due again.
            due = await self.store.next_command_at()
            wait = RETRY_CHECK if due is None else max(0.05, min(RETRY_CHECK, due - time.time()))
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow the
            # cancellation that stops the bot when the wake comes at the same moment.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self.wake.wait()
            self.wake.clear()

    async def drain(self) -> None:
        while rows := await self.store.pending_events():
            await self._in_order(rows)

    async def _in_order(self, rows: list[InboxRow]) -> None:
        """Handle rows in order: commands one at a time, conversation turns of different
        people side by side (see the module's docstring). Everything started is finished (or
        cancelled with the dispatcher) before this returns."""
        gate = asyncio.Semaphore(TURNS_AT_ONCE)
        async with asyncio.TaskGroup() as turns:
            latest: dict[str, asyncio.Task[None]] = {}  # a person → their last turn started
            for row in rows:
                if not await self._is_turn(row):
                    await asyncio.gather(*latest.values())
                    latest.clear()
                    await self.handle(row)
                    continue
                before = latest.get(row.sender)
                latest[row.sender] = turns.create_task(self._turn(row, before, gate))

    async def _is_turn(self, row: InboxRow) -> bool:
        """A plain message in a direct chat: a turn of its sender's conversation."""
        if row.body.startswith(self.config.commands.prefix):
            return False
        return await self.store.room_kind(row.room_id) == "dm"

    async def _turn(
        self, row: InboxRow, before: asyncio.Task[None] | None, gate: asyncio.Semaphore
    ) -> None:
        if before is not None:
            await before  # their previous message first
        async with gate:
            await self.handle(row)

    async def _place(self, room_id: str, sender: str, name: str | None) -> Where | None:
        """Where a command was typed, as this bot serves it (None: not its to answer). In a
        room shared between regions a person's own region's bot answers the commands made
        for such a room (``Where.SHARED_ROOM``: their votes, their requests, which only their
        bot may write), and the room's own region's bot every other one (a workshop's seat,
        its documents): a peer's room is a place for this server's people's shared-room
        commands only, and in a room this region shares, those commands of a peer's people
        are left to their bot while it is there. ``name``: the command typed (None for a
        plain message)."""
        kind = await self.store.room_kind(room_id)
        own = self.config.homeserver.server_name
        theirs = name is not None and self._for_shared_rooms(name)
        if kind == SHARED_PEER:
            return Where.SHARED_ROOM if server_of(sender) == own and theirs else None
        place = {"control": Where.CONTROL_ROOM, "dm": Where.DM, "managed": Where.MANAGED_ROOM}.get(
            kind or ""
        )
        if place is Where.MANAGED_ROOM and theirs and server_of(sender) != own:
            peer = self.config.federation.peer_bot_for(server_of(sender))
            if peer is not None:
                members = self.gateway.synced_members(room_id)
                if members is None:
                    members = await self.gateway.members(room_id)
                if members.get(peer) == "join":
                    return None
        return place

    def _for_shared_rooms(self, name: str) -> bool:
        """Whether a command (any of its subcommands or variants) is one a person's own
        region's bot answers in a room shared between regions."""
        entry = self.registry.get(name)
        if isinstance(entry, CommandGroup):
            variants = list(entry.subcommands.values())
        elif isinstance(entry, ByPlace):
            variants = list(entry.variants)
        else:
            variants = [entry] if entry is not None else []
        return any(Where.SHARED_ROOM in c.where for c in variants)

    async def handle(self, row: InboxRow) -> str:
        """Run one inbox row. Under its event as cause: run again after a crash, its answer
        and any message it sends carry the same transaction ids as the first time."""
        with caused_by(f"event:{row.event_id}"):
            return await self._handle(row)

    async def _handle(self, row: InboxRow) -> str:
        if await self.store.command_outcome(row.event_id) == REDACTED:
            return REDACTED  # withdrawn by its sender after this batch was read
        prefix = self.config.commands.prefix
        typed = (
            row.body[len(prefix) :].strip().partition(" ")[0].lower()
            if row.body.startswith(prefix)
            else None
        )
        place = await self._place(row.room_id, row.sender, typed)
        if place is None:
            # Not a room the bot serves (it is leaving it): nothing to answer.
            await self.store.finish_event(row.event_id, IGNORED)
            return IGNORED
        if place is Where.CONTROL_ROOM and not row.encrypted:
            return await self._ignore_unencrypted(row, "")  # not even "unknown command"
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
            # Answered in the sender's language (what all admins read stays the region's).
            locale=await self.store.language_of(row.sender) or self.config.locale,
            prefix=prefix,
            role=role,
            room_kind=place.value,
            registry=self.registry,
            services=None,
            gateway=self.gateway,
            store=self.store,
            origin_ts=row.origin_ts,
            reply_to=row.reply_to,
            thread=row.thread,
            attachment=row.attachment,
        )
        detail = ""
        try:
            cmd = self.registry.get(name)
            if isinstance(cmd, CommandGroup):
                sub, word, rest = cmd.resolve(rest)
                if sub is None:
                    raise BadArgument(
                        "error.subcommand",
                        name=prefix + cmd.name,
                        name_bare=cmd.name,
                        word=word[:32] or "—",
                        choices=cmd.choices(),
                        prefix=prefix,
                    )
                cmd = sub
            if isinstance(cmd, ByPlace):
                cmd = cmd.for_place(place)
            if cmd is None:
                message = t("error.unknown_command", ctx.locale, name=prefix + name)
                suggestion = self.registry.suggest(name)
                if suggestion:
                    message += t("error.did_you_mean", ctx.locale, suggestion=prefix + suggestion)
                message += t("error.see_help", ctx.locale, prefix=prefix)
                raise BadArgument("error.text", text=message)
            name = cmd.name
            ctx.services = self.services.get(cmd.handler.__module__)
            self._check(cmd.role, cmd.where, place, row, role)
            if place is Where.CONTROL_ROOM or cmd.role.privileged:
                await self._check_device(row)
            args = cmd.parse_args(rest, ctx)
            async with typing_while_long(self.gateway, row.room_id):
                await cmd.handler(ctx, **args)
            outcome = OK
        except Unencrypted:
            return await self._ignore_unencrypted(row, name)
        except UnverifiedDevice as exc:
            outcome = REFUSED
            detail = exc.key
            await self._answer(ctx, exc.render(ctx.locale))
            if place is Where.CONTROL_ROOM:  # that device cannot read the answer above
                await self._tell(row.sender, exc.render(ctx.locale))
        except UserError as exc:
            outcome = REFUSED
            detail = exc.key
            await self._answer(ctx, exc.render(ctx.locale))
        except Exception as exc:
            if transient(exc) and row.attempts < COMMAND_OUTAGE_ATTEMPTS:
                # The homeserver went away mid-command: the command runs again once it is back
                # (its sends meet the ones that went out), not "failed" for good.
                delay = min(self.config.jobs.max_backoff, 2.0 * 2 ** min(row.attempts, 10))
                log.warning("command %s%s: %r; again in %.0f s", prefix, name or "?", exc, delay)
                await self.store.retry_command(row.event_id, delay)
                return RETRYING
            outcome = FAILED
            ref = new_reference()
            detail = f"ref {ref}: {exc!r}"
            # The command's name only: its text may carry personal data (an RPPS, an email).
            log.exception("command %s%s failed (ref %s)", prefix, name or "?", ref)
            await self._answer(ctx, t("error.internal", ctx.locale, ref=ref))
        await self.store.audit(
            row.sender,
            name or "?",
            outcome,
            room_id=row.room_id,
            event_id=row.event_id,
            detail=detail,
        )
        reaction = "✅" if outcome == OK else "❌"
        await self.store.finish_event(row.event_id, outcome, react=reaction)
        self.metrics.commands.labels(outcome=outcome).inc()
        self.reactions.owe(row.room_id, row.event_id, reaction)
        return outcome

    async def stop(self) -> None:
        """Work left in the background dropped (a reaction stays owed in the store, for the
        next start; a read receipt is a courtesy lost): nothing may reach the homeserver once
        the bot's session is closed."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self.reactions.clear()

    def _in_background(self, work: Awaitable[None]) -> None:
        """Work the next command need not wait for (a read receipt, a reaction); its failure
        is logged."""

        async def run() -> None:
            try:
                await work
            except Exception as exc:  # a receipt is a courtesy: never the command's outcome
                log.debug("background work failed: %r", exc)

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _plain(self, row: InboxRow, place: Where) -> str:
        """A plain message in a direct chat: an answer in a guided conversation, if any."""
        answer = None
        if place is Where.DM:
            try:
                answer = await self.converse(row.sender, row.room_id, row.body)
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
                    services=None,
                    gateway=self.gateway,
                    store=self.store,
                ),
                answer,
            )
        await self.store.finish_event(
            row.event_id, "conversation" if answer else IGNORED, keep_text=False
        )
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
        if place is Where.CONTROL_ROOM and not row.encrypted:
            raise Unencrypted
        if needed is Role.ADMIN and not row.encrypted:
            raise PermissionDenied("refused.unencrypted")

    async def _check_device(self, row: InboxRow) -> None:
        """Acting for others counts only from a device their pinned identity signed."""
        if self.trust is None:
            return
        reason = await self.trust.check(row.sender, row.device_curve, row.device_ed)
        if reason is not None:
            raise UnverifiedDevice(
                reason,
                prefix=self.config.commands.prefix,
                user=row.sender,
            )
        # Verified: the answer's room key must reach this very device.
        await self.gateway.know_device(row.sender, row.device_curve)

    async def _ignore_unencrypted(self, row: InboxRow, name: str) -> str:
        """An unencrypted event in the control room is not acted on; the room is told once per
        sender (whoever sent it may be unaware their client does not encrypt)."""
        await self.store.audit(
            row.sender,
            name or "?",
            IGNORED,
            room_id=row.room_id,
            event_id=row.event_id,
            detail="unencrypted",
        )
        await self.store.finish_event(row.event_id, IGNORED)
        if await self.store.once(f"unencrypted:{row.room_id}:{row.sender}"):
            try:
                await self.gateway.send(
                    row.room_id,
                    notice(
                        t(
                            "control.unencrypted_ignored",
                            self.config.locale,
                            user=row.sender,
                            prefix=self.config.commands.prefix,
                        )
                    ),
                )
            except AgoraError:
                log.exception("could not note an unencrypted event in %s", row.room_id)
        self.metrics.commands.labels(outcome=IGNORED).inc()
        return IGNORED

    async def _tell(self, user: str, text: str) -> None:
        try:
            await self.tell(user, text)
        except AgoraError:
            log.exception("could not tell %s in a direct chat", user)

    async def _answer(self, ctx: CommandContext, text: str) -> None:
        try:
            await ctx.gateway.send(ctx.room_id, notice(text, reply_to=ctx.event_id))
        except AgoraError:
            log.exception("could not answer in %s", ctx.room_id)
