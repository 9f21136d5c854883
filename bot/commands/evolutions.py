"""Evolution requests (`!evolution`, `!evolutions`), in a room shared between regions: filed
and voted on through each person's own region's bot, qualified by the club's animators."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Number, Rest, Role, Where, Word, command, command_group

PLACES = (Where.MANAGED_ROOM, Where.SHARED_ROOM)


class Uses(Protocol):
    """What these commands use (``bot.evolutions.capability.Evolutions``)."""

    async def propose(self, user: str, room_id: str, cause: str, text: str, locale: str) -> str: ...

    async def vote(self, user: str, room_id: str, n: int, cause: str, locale: str) -> str: ...

    async def withdraw(self, user: str, room_id: str, n: int, cause: str, locale: str) -> str: ...

    async def merge(
        self, user: str, room_id: str, n: int, into: int, cause: str, locale: str
    ) -> str: ...

    async def set_status(
        self, user: str, room_id: str, n: int, word: str, note: str, cause: str, locale: str
    ) -> str: ...

    async def listing(self, room_id: str, which: str, page: int, locale: str) -> str: ...


Ctx = CommandContext[Uses]

command_group("evolution", help="cmd.evolution.help", default="liste")


@command(
    "evolution",
    sub="proposer",
    example='"Export des comptes rendus en PDF" depuis la fiche patient',
    aliases=("propose",),
    role=Role.ANYONE,
    where=PLACES,
    help="cmd.evolution.propose.help",
    metavars={"text": "meta.evolution"},
)
async def evolution_propose(ctx: Ctx, text: Rest) -> None:
    await ctx.reply(
        await ctx.services.propose(ctx.sender, ctx.room_id, ctx.event_id, text, ctx.locale)
    )


@command(
    "evolution",
    sub="voter",
    aliases=("vote",),
    role=Role.ANYONE,
    where=PLACES,
    help="cmd.evolution.vote.help",
    metavars={"n": "meta.evolution_number"},
)
async def evolution_vote(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.vote(ctx.sender, ctx.room_id, n, ctx.event_id, ctx.locale))


@command(
    "evolution",
    sub="retirer",
    aliases=("withdraw", "unvote"),
    role=Role.ANYONE,
    where=PLACES,
    help="cmd.evolution.withdraw.help",
    metavars={"n": "meta.evolution_number"},
)
async def evolution_withdraw(ctx: Ctx, n: Number) -> None:
    await ctx.reply(
        await ctx.services.withdraw(ctx.sender, ctx.room_id, n, ctx.event_id, ctx.locale)
    )


@command(
    "evolution",
    sub="fusionner",
    example="4 2",
    aliases=("merge",),
    role=Role.ANIMATOR,
    where=Where.MANAGED_ROOM,
    help="cmd.evolution.merge.help",
    metavars={"n": "meta.evolution_duplicate", "into": "meta.evolution_number"},
)
async def evolution_merge(ctx: Ctx, n: Number, into: Number) -> None:
    await ctx.reply(
        await ctx.services.merge(ctx.sender, ctx.room_id, n, into, ctx.event_id, ctx.locale)
    )


@command(
    "evolution",
    sub="statut",
    example="2 transmise version 24.3",
    aliases=("status",),
    role=Role.ANIMATOR,
    where=Where.MANAGED_ROOM,
    help="cmd.evolution.status.help",
    metavars={
        "n": "meta.evolution_number",
        "status": "meta.evolution_status",
        "note": "meta.evolution_note",
    },
)
async def evolution_status(ctx: Ctx, n: Number, status: Word, note: Rest = "") -> None:
    await ctx.reply(
        await ctx.services.set_status(
            ctx.sender, ctx.room_id, n, status, note, ctx.event_id, ctx.locale
        )
    )


@command(
    "evolution",
    sub="liste",
    aliases=("list",),
    role=Role.ANYONE,
    where=PLACES,
    help="cmd.evolutions.help",
    metavars={"which": "meta.evolution_filter"},
)
async def evolution_list(ctx: Ctx, which: Word = "", *, page: Number = 1) -> None:
    await ctx.reply(await ctx.services.listing(ctx.room_id, which, page, ctx.locale))


@command(
    "evolutions",
    role=Role.ANYONE,
    where=PLACES,
    help="cmd.evolutions.help",
    metavars={"which": "meta.evolution_filter"},
)
async def evolutions(ctx: Ctx, which: Word = "", *, page: Number = 1) -> None:
    await ctx.reply(await ctx.services.listing(ctx.room_id, which, page, ctx.locale))
