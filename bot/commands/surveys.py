"""Surveys (`!sondage`, `!survey`): written and answered in a direct chat with the bot,
results only in aggregate."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Number, Role, Where, Word, command, command_group


class Uses(Protocol):
    """What these commands use (``bot.surveys.capability.Surveys``)."""

    async def create(self, user: str, room_id: str, locale: str) -> str: ...

    async def cancel(self, user: str, locale: str) -> str: ...

    async def resume(self, user: str, n: int | None, locale: str) -> str: ...

    async def change(self, user: str, q: int, n: int | None, locale: str) -> str: ...

    async def results(self, user: str, n: int, room_id: str, reply_to: str, locale: str) -> str: ...

    async def publish(self, user: str, n: int, room: str, locale: str) -> str: ...

    async def share(self, user: str, n: int, locale: str) -> str: ...


Ctx = CommandContext[Uses]

command_group("sondage", help="cmd.survey.help", aliases=("survey",), default="reprendre")


@command(
    "sondage",
    sub="créer",
    aliases=("creer", "create", "new"),
    role=Role.ANIMATOR,
    where=Where.DM,
    help="cmd.survey.create.help",
)
async def survey_create(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.create(ctx.sender, ctx.room_id, ctx.locale))


@command(
    "sondage",
    sub="annuler",
    aliases=("cancel", "abandonner"),
    role=Role.ANYONE,
    where=Where.DM,
    help="cmd.survey.cancel.help",
)
async def survey_cancel(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.cancel(ctx.sender, ctx.locale))


@command(
    "sondage",
    sub="reprendre",
    aliases=("resume", "continuer"),
    role=Role.ANYONE,
    where=Where.DM,
    help="cmd.survey.resume.help",
    metavars={"survey": "meta.survey"},
)
async def survey_resume(ctx: Ctx, survey: Number | None = None) -> None:
    await ctx.reply(await ctx.services.resume(ctx.sender, survey, ctx.locale))


@command(
    "sondage",
    sub="modifier",
    example="2",
    aliases=("change", "edit"),
    role=Role.ANYONE,
    where=Where.DM,
    help="cmd.survey.change.help",
    metavars={"question": "meta.question", "survey": "meta.survey"},
)
async def survey_change(ctx: Ctx, question: Number, survey: Number | None = None) -> None:
    await ctx.reply(await ctx.services.change(ctx.sender, question, survey, ctx.locale))


@command(
    "sondage",
    sub="résultats",
    example="3",
    aliases=("resultats", "results"),
    role=Role.ANIMATOR,
    where=frozenset({Where.DM, Where.CONTROL_ROOM}),
    help="cmd.survey.results.help",
    metavars={"survey": "meta.survey"},
)
async def survey_results(ctx: Ctx, survey: Number) -> None:
    await ctx.reply(
        await ctx.services.results(ctx.sender, survey, ctx.room_id, ctx.event_id, ctx.locale)
    )


@command(
    "sondage",
    sub="publier",
    example="3 vaucluse.communaute",
    aliases=("publish",),
    role=Role.ANIMATOR,
    where=frozenset({Where.DM, Where.CONTROL_ROOM}),
    help="cmd.survey.publish.help",
    metavars={"survey": "meta.survey", "room": "meta.room"},
)
async def survey_publish(ctx: Ctx, survey: Number, room: Word) -> None:
    await ctx.reply(await ctx.services.publish(ctx.sender, survey, room, ctx.locale))


@command(
    "sondage",
    sub="partager",
    example="3",
    aliases=("share",),
    role=Role.ANIMATOR,
    where=frozenset({Where.DM, Where.CONTROL_ROOM}),
    help="cmd.survey.share.help",
    metavars={"survey": "meta.survey"},
)
async def survey_share(ctx: Ctx, survey: Number) -> None:
    await ctx.reply(await ctx.services.share(ctx.sender, survey, ctx.locale))
