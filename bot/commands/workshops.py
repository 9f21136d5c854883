"""Workshops and events (`!atelier`, `!event`, `!ateliers`), anywhere: created by the
territory's animators and the admins, registered for by anyone the announcement reaches."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import ANYWHERE, Number, Rest, Role, command, command_group


class Uses(Protocol):
    """What these commands use (``bot.workshops.capability.Workshops``)."""

    async def create(self, user: str, room_id: str, text: str, locale: str) -> str: ...

    async def register(self, user: str, n: int, via: str, locale: str) -> str: ...

    async def withdraw(self, user: str, n: int, locale: str) -> str: ...

    async def cancel(self, user: str, n: int, locale: str) -> str: ...

    async def listing(self, user: str, named: str | None, locale: str) -> str: ...


Ctx = CommandContext[Uses]

command_group("atelier", help="cmd.atelier.help", aliases=("event",), default="liste")


@command(
    "atelier",
    sub="creer",
    example='"RGPD et ROR" 14/03/2027 14h --durée 2h --places 40 --lien https://visio.example.org/rgpd',
    aliases=("créer", "create"),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.atelier.create.help",
    metavars={"text": "meta.workshop"},
)
async def atelier_create(ctx: Ctx, text: Rest) -> None:
    await ctx.reply(await ctx.services.create(ctx.sender, ctx.room_id, text, ctx.locale))


@command(
    "atelier",
    sub="inscrire",
    example="3",
    aliases=("register", "join"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.atelier.register.help",
    metavars={"n": "meta.workshop_number"},
)
async def atelier_register(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.register(ctx.sender, n, "command", ctx.locale))


@command(
    "atelier",
    sub="desinscrire",
    example="3",
    aliases=("désinscrire", "unregister", "withdraw"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.atelier.withdraw.help",
    metavars={"n": "meta.workshop_number"},
)
async def atelier_withdraw(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.withdraw(ctx.sender, n, ctx.locale))


@command(
    "atelier",
    sub="annuler",
    example="3",
    aliases=("cancel",),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.atelier.cancel.help",
    metavars={"n": "meta.workshop_number"},
)
async def atelier_cancel(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.cancel(ctx.sender, n, ctx.locale))


@command(
    "atelier",
    sub="liste",
    aliases=("list",),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.ateliers.help",
    metavars={"territory": "meta.territory"},
)
async def atelier_list(ctx: Ctx, territory: Rest = "") -> None:
    await ctx.reply(await ctx.services.listing(ctx.sender, territory.strip() or None, ctx.locale))


@command(
    "ateliers",
    aliases=("events",),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.ateliers.help",
    metavars={"territory": "meta.territory"},
)
async def ateliers(ctx: Ctx, territory: Rest = "") -> None:
    await ctx.reply(await ctx.services.listing(ctx.sender, territory.strip() or None, ctx.locale))
