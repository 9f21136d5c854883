"""On-call rosters: who is on duty (`!garde`, `!oncall`), in a room of the territory or in a
direct chat."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import (
    ANYWHERE,
    Number,
    Rest,
    Role,
    UserId,
    Where,
    Word,
    command,
    command_group,
)
from bot.errors import BadArgument

MAX_FILE = 5_000_000  # bytes: a department's year of slots is well under 2 MB
PARTIAL = frozenset({"partiel", "partielle", "partial", "--partial", "--partiel"})


class Book(Protocol):
    """The rosters' rules these commands call (``bot.rosters.book.RosterBook``)."""

    async def where(self, user: str, room_id: str | None) -> list[str]: ...

    async def overview(self, territories: list[str], locale: str) -> str: ...

    async def period(self, territories: list[str], day: dt.date, days: int, locale: str) -> str: ...

    async def mine(self, user: str, locale: str, limit: int = 10) -> str: ...

    def day(self, text: str) -> dt.date: ...

    def today(self) -> dt.date: ...


class Offers(Protocol):
    """Swaps and releases (``bot.rosters.swaps.Swaps``)."""

    async def propose(self, user: str, colleague: str, what: str) -> str: ...

    async def release(self, user: str, what: str) -> str: ...

    async def accept(self, user: str, n: int) -> str: ...

    async def take(self, user: str, n: int) -> str: ...

    async def approve(self, coordinator: str, n: int) -> str: ...

    async def refuse(self, coordinator: str, n: int, reason: str) -> str: ...

    async def cancel(self, user: str, n: int) -> str: ...


class Uses(Protocol):
    """What these commands use (``bot.rosters.capability.Rosters``)."""

    @property
    def book(self) -> Book: ...

    @property
    def swaps(self) -> Offers: ...

    async def import_dropped(
        self, user: str, room_id: str, named: str | None, file: tuple[str, bytes], partial: bool
    ) -> tuple[bool, str]: ...

    async def calendar_link(self, user: str, renew: bool) -> str: ...

    async def calendar_revoke(self, user: str) -> str: ...


Ctx = CommandContext[Uses]
RENEW = frozenset({"nouveau", "nouvelle", "new", "renouveler", "renew"})
REVOKE = frozenset({"revoquer", "révoquer", "supprimer", "revoke", "delete"})

command_group(
    "garde", help="cmd.garde.help", aliases=("oncall",), default="maintenant", fallback="jour"
)


@command(
    "garde",
    sub="maintenant",
    aliases=("now",),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.now.help",
)
async def garde_now(ctx: Ctx) -> None:
    rosters = await ctx.services.book.where(ctx.sender, ctx.room_id)
    await ctx.reply(await ctx.services.book.overview(rosters, ctx.locale))


@command(
    "garde",
    sub="semaine",
    aliases=("week",),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.week.help",
)
async def garde_week(ctx: Ctx) -> None:
    rosters = await ctx.services.book.where(ctx.sender, ctx.room_id)
    await ctx.reply(
        await ctx.services.book.period(rosters, ctx.services.book.today(), 7, ctx.locale)
    )


@command(
    "garde",
    sub="jour",
    example="samedi",
    aliases=("day",),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.day.help",
    metavars={"when": "meta.day"},
)
async def garde_day(ctx: Ctx, when: Rest) -> None:
    rosters = await ctx.services.book.where(ctx.sender, ctx.room_id)
    day = ctx.services.book.day(when)
    await ctx.reply(await ctx.services.book.period(rosters, day, 1, ctx.locale))


@command(
    "garde",
    sub="moi",
    aliases=("me", "mine"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.mine.help",
)
async def garde_mine(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.book.mine(ctx.sender, ctx.locale))


@command(
    "garde",
    sub="import",
    aliases=("importer",),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.garde.import.help",
    metavars={"options": "meta.import"},
)
async def garde_import(ctx: Ctx, options: Rest = "") -> None:
    words = options.split()
    partial = any(w.lower() in PARTIAL for w in words)
    named = [w for w in words if w.lower() not in PARTIAL]
    file = await ctx.attached_file(MAX_FILE)
    applied, report = await ctx.services.import_dropped(
        ctx.sender, ctx.room_id, named[0] if named else None, file, partial
    )
    if not applied:
        raise BadArgument("roster.import.report", report=report)
    await ctx.reply(report)


@command(
    "garde",
    sub="echanger",
    example="@dr.martin:{server} 12/08 20h contre 15/08",
    aliases=("échanger", "swap", "ceder", "céder"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.swap.help",
    metavars={"what": "meta.swap"},
)
async def garde_swap(ctx: Ctx, colleague: UserId, what: Rest) -> None:
    await ctx.reply(await ctx.services.swaps.propose(ctx.sender, colleague, what))


@command(
    "garde",
    sub="liberer",
    example="12/08",
    aliases=("libérer", "release"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.release.help",
    metavars={"what": "meta.slot"},
)
async def garde_release(ctx: Ctx, what: Rest) -> None:
    await ctx.reply(await ctx.services.swaps.release(ctx.sender, what))


@command(
    "garde",
    sub="accepter",
    aliases=("accept",),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.accept.help",
)
async def garde_accept(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.swaps.accept(ctx.sender, n))


@command(
    "garde",
    sub="prendre",
    aliases=("take",),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.take.help",
)
async def garde_take(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.swaps.take(ctx.sender, n))


@command(
    "garde",
    sub="valider",
    aliases=("approve",),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.garde.approve.help",
)
async def garde_approve(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.swaps.approve(ctx.sender, n))


@command(
    "garde",
    sub="refuser",
    aliases=("refuse",),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.garde.refuse.help",
    metavars={"reason": "meta.reason"},
)
async def garde_refuse(ctx: Ctx, n: Number, reason: Rest = "") -> None:
    await ctx.reply(await ctx.services.swaps.refuse(ctx.sender, n, reason))


@command(
    "garde",
    sub="annuler",
    aliases=("cancel", "retirer"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.garde.cancel.help",
)
async def garde_cancel(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.swaps.cancel(ctx.sender, n))


@command(
    "garde",
    sub="calendrier",
    aliases=("calendar", "agenda"),
    role=Role.ANYONE,
    where=Where.DM,  # the link is a secret: only in one's own direct chat
    help="cmd.garde.calendar.help",
    metavars={"action": "meta.calendar_action"},
)
async def garde_calendar(ctx: Ctx, action: Word = "") -> None:
    word = action.lower()
    if word in REVOKE:
        await ctx.reply(await ctx.services.calendar_revoke(ctx.sender))
    elif word in RENEW or not word:
        await ctx.reply(await ctx.services.calendar_link(ctx.sender, renew=bool(word)))
    else:
        raise BadArgument("roster.calendar.bad_action", value=action[:30])
