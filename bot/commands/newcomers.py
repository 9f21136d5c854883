"""Newcomers (`!accueil`, `!welcome`): an animator welcomes a member; the member answers whether
to be introduced in the community room."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import ANYWHERE, Rest, Role, UserId, Where, command, command_group


class Uses(Protocol):
    """What these commands use (``bot.newcomers.capability.Newcomers``)."""

    async def welcome(self, animator: str, user: str, named: str | None, locale: str) -> str: ...

    async def answer(self, user: str, yes: bool, town: str, locale: str) -> str: ...


Ctx = CommandContext[Uses]

command_group("accueil", help="cmd.accueil.help", aliases=("welcome",), fallback="membre")


@command(
    "accueil",
    sub="membre",
    aliases=("member",),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.accueil.member.help",
    metavars={"territory": "meta.territory"},
)
async def accueil_member(ctx: Ctx, user: UserId, territory: Rest = "") -> None:
    await ctx.reply(
        await ctx.services.welcome(ctx.sender, user, territory.strip() or None, ctx.locale)
    )


@command(
    "accueil",
    sub="oui",
    aliases=("yes",),
    role=Role.ANYONE,
    where=frozenset({Where.DM}),
    help="cmd.accueil.yes.help",
    metavars={"town": "meta.town"},
)
async def accueil_yes(ctx: Ctx, town: Rest = "") -> None:
    await ctx.reply(await ctx.services.answer(ctx.sender, True, town, ctx.locale))


@command(
    "accueil",
    sub="non",
    aliases=("no",),
    role=Role.ANYONE,
    where=frozenset({Where.DM}),
    help="cmd.accueil.no.help",
)
async def accueil_no(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.answer(ctx.sender, False, "", ctx.locale))
