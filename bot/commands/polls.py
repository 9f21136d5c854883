"""Polls (`!vote`, `!poll`): a native Matrix poll in one room or every room of a territory,
counted together, ended at its deadline (or by `!vote fin <n>`)."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import (
    ANYWHERE,
    Number,
    Rest,
    Role,
    Word,
    command,
    command_group,
    tokenize,
)
from bot.polls.model import split_items


class Uses(Protocol):
    """What these commands use (``bot.polls.capability.Polls``)."""

    async def create(
        self,
        user: str,
        room_id: str,
        items: list[str],
        territory: str | None,
        until: str | None,
        locale: str,
    ) -> str: ...

    async def finish(self, user: str, n: int, locale: str) -> str: ...

    async def listing(self, user: str, locale: str) -> str: ...


Ctx = CommandContext[Uses]

command_group("vote", help="cmd.vote.help", aliases=("poll",), default="liste", fallback="creer")


def items_of(text: str) -> list[str]:
    """The question then the answers: each in quotes, or one a line."""
    if "\n" in text.strip():
        return split_items(text)
    return [token.text.strip() for token in tokenize(text) if token.text.strip()]


@command(
    "vote",
    sub="creer",
    example='"Date de la prochaine réunion ?" "Mardi 14h" "Jeudi 18h" --territory vaucluse '
    "--until 3j",
    aliases=("créer", "create", "new", "nouveau"),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.vote.create.help",
    metavars={"text": "meta.poll", "territory": "meta.territory", "until": "meta.poll_until"},
    options={
        "territory": ("territoire", "dans", "in"),
        "until": ("jusqu'à", "jusqu’à", "jusqua", "fin"),
    },
)
async def vote_create(ctx: Ctx, text: Rest, *, territory: Word = "", until: Word = "") -> None:
    await ctx.reply(
        await ctx.services.create(
            ctx.sender,
            ctx.room_id,
            items_of(text),
            territory or None,
            until or None,
            ctx.locale,
        )
    )


@command(
    "vote",
    sub="fin",
    aliases=("end", "clore", "close", "terminer"),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.vote.end.help",
    metavars={"n": "meta.poll_number"},
)
async def vote_end(ctx: Ctx, n: Number) -> None:
    await ctx.reply(await ctx.services.finish(ctx.sender, n, ctx.locale))


@command(
    "vote",
    sub="liste",
    aliases=("list", "en-cours"),
    role=Role.ANIMATOR,
    where=ANYWHERE,
    help="cmd.vote.list.help",
)
async def vote_list(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.listing(ctx.sender, ctx.locale))
