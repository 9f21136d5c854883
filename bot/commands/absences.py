"""Absences and replacements (`!absence`, `!away`, `!absences`), in a direct chat or a room of
the territory."""

from __future__ import annotations

import re
from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import (
    ANYWHERE,
    Number,
    Rest,
    Role,
    command,
    command_group,
)
from bot.errors import BadArgument

NUMBERED = re.compile(r"^(?:#|n°|no\.?|nº)\s*(\d+)$", re.IGNORECASE)


class Uses(Protocol):
    """What these commands use (``bot.absences.capability.Absences``)."""

    async def declare(self, user: str, room_id: str, text: str, locale: str) -> str: ...

    async def finish(self, user: str, n: int | None, locale: str) -> str: ...

    async def extend(self, user: str, n: int | None, when: str, locale: str) -> str: ...

    async def listing(self, user: str, room_id: str, named: str | None, locale: str) -> str: ...

    async def mine(self, user: str, locale: str) -> str: ...

    async def endorse(self, coordinator: str, n: int, fields: str, locale: str) -> str: ...


Ctx = CommandContext[Uses]

command_group(
    "absence", help="cmd.absence.help", aliases=("away",), default="mes", fallback="declarer"
)


def numbered(text: str) -> tuple[int | None, str]:
    """An absence's number written first (``#12``, ``n°12``), and the rest of the line."""
    parts = text.split(None, 1)
    found = NUMBERED.match(parts[0]) if parts else None
    if found is None:
        return None, text.strip()
    return int(found.group(1)), parts[1].strip() if len(parts) > 1 else ""


@command(
    "absence",
    sub="declarer",
    example="du 12/08 au 26/08 remplacé·e par @dr.martin:{server} congés",
    aliases=("déclarer", "declare"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.absence.declare.help",
    metavars={"text": "meta.absence"},
)
async def absence_declare(ctx: Ctx, text: Rest) -> None:
    await ctx.reply(await ctx.services.declare(ctx.sender, ctx.room_id, text, ctx.locale))


@command(
    "absence",
    sub="mes",
    aliases=("mine", "moi"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.absence.mine.help",
)
async def absence_mine(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.mine(ctx.sender, ctx.locale))


@command(
    "absence",
    sub="fin",
    aliases=("end", "terminer", "annuler", "cancel"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.absence.end.help",
    metavars={"which": "meta.absence_number"},
)
async def absence_end(ctx: Ctx, which: Rest = "") -> None:
    n, rest = numbered(which)
    if rest:
        raise BadArgument("absence.bad_number", value=rest[:30])
    await ctx.reply(await ctx.services.finish(ctx.sender, n, ctx.locale))


@command(
    "absence",
    sub="prolonger",
    example="30/08",
    aliases=("extend", "prolonge"),
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.absence.extend.help",
    metavars={"when": "meta.absence_until"},
)
async def absence_extend(ctx: Ctx, when: Rest) -> None:
    n, rest = numbered(when)
    await ctx.reply(await ctx.services.extend(ctx.sender, n, rest, ctx.locale))


@command(
    "absence",
    sub="parrainer",
    example='3 nom="Paul Martin" profession=medecin rpps=10101234564 territoire=vaucluse email=p.martin@example.org',
    aliases=("endorse", "presenter", "présenter"),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.absence.endorse.help",
    metavars={"fields": "meta.fields"},
)
async def absence_endorse(ctx: Ctx, n: Number, fields: Rest) -> None:
    await ctx.reply(await ctx.services.endorse(ctx.sender, n, fields, ctx.locale))


@command(
    "absences",
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.absences.help",
    metavars={"territory": "meta.territory"},
)
async def absences(ctx: Ctx, territory: Rest = "") -> None:
    await ctx.reply(
        await ctx.services.listing(ctx.sender, ctx.room_id, territory.strip() or None, ctx.locale)
    )
