"""Documents shared in the territories' rooms (`!docs`, `!documents`, `!files`): found by name
in a direct chat or a room of the territory; pinned by an animator into the territory's
resources room."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Rest, Role, Where, command, command_group

HERE = frozenset({Where.DM, Where.MANAGED_ROOM})  # not the control room: admins share it


class Uses(Protocol):
    """What these commands use (``bot.documents.capability.Documents``)."""

    async def find(self, user: str, room_id: str, query: str, locale: str) -> str: ...

    async def pin(self, user: str, ref: str, locale: str) -> str: ...

    async def unpin(self, user: str, ref: str, locale: str) -> str: ...


Ctx = CommandContext[Uses]

command_group(
    "docs",
    help="cmd.docs.help",
    aliases=("documents", "files", "fichiers"),
    default="chercher",
    fallback="chercher",
)


@command(
    "docs",
    sub="chercher",
    example="protocole avk",
    aliases=("search", "find", "trouver"),
    role=Role.ANYONE,
    where=HERE,
    help="cmd.docs.find.help",
    metavars={"query": "meta.docs_query"},
)
async def docs_find(ctx: Ctx, query: Rest = "") -> None:
    await ctx.reply(await ctx.services.find(ctx.sender, ctx.room_id, query, ctx.locale))


@command(
    "docs",
    sub="epingler",
    example="12",
    aliases=("épingler", "pin"),
    role=Role.ANIMATOR,
    where=HERE,
    help="cmd.docs.pin.help",
    metavars={"ref": "meta.docs_ref"},
)
async def docs_pin(ctx: Ctx, ref: Rest) -> None:
    await ctx.reply(await ctx.services.pin(ctx.sender, ref, ctx.locale))


@command(
    "docs",
    sub="desepingler",
    example="12",
    aliases=("désépingler", "unpin"),
    role=Role.ANIMATOR,
    where=HERE,
    help="cmd.docs.unpin.help",
    metavars={"ref": "meta.docs_ref"},
)
async def docs_unpin(ctx: Ctx, ref: Rest) -> None:
    await ctx.reply(await ctx.services.unpin(ctx.sender, ref, ctx.locale))
