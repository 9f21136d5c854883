"""The national directory (`!rpps`): what is loaded, and the members it does not bear out."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Role, Where, command, command_group

PLACES = frozenset({Where.CONTROL_ROOM, Where.DM})


class Uses(Protocol):
    """What these commands use (``bot.rpps.capability.Directory``)."""

    async def status(self, locale: str) -> str: ...

    async def gaps_text(self, locale: str) -> str: ...


Ctx = CommandContext[Uses]

command_group("rpps", help="cmd.rpps.help", aliases=("annuaire-sante",), default="etat")


@command(
    "rpps", sub="etat", aliases=("état", "status"), role=Role.ADMIN, where=PLACES,
    help="cmd.rpps.status.help",
)  # fmt: skip
async def rpps_status(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.status(ctx.locale))


@command(
    "rpps", sub="ecarts", aliases=("écarts", "gaps"), role=Role.ADMIN, where=PLACES,
    help="cmd.rpps.gaps.help",
)  # fmt: skip
async def rpps_gaps(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.gaps_text(ctx.locale))
