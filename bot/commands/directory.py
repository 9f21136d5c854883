"""The cross-region directory, in a direct chat with the bot: opting in, searching, withdrawing
(``bot.federation.directory``)."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Rest, Role, Where, command, command_group
from bot.config import Config
from bot.errors import BadArgument, NotFound, PermissionDenied
from bot.federation.directory import Directory
from bot.i18n import t
from bot.moderation.policy import animated_by
from bot.vetting.form import DEFAULT_PROFESSIONS

MIN_QUERY = 2


class Uses(Protocol):
    """What these commands use (``bot.federation.capability.Federation``)."""

    directory: Directory

    @property
    def config(self) -> Config: ...


Ctx = CommandContext[Uses]
PLACES = (Where.DM, Where.CONTROL_ROOM)

command_group("annuaire", help="cmd.annuaire.help", aliases=("directory",), default="search",
              fallback="search")  # fmt: skip


@command(
    "annuaire",
    sub="inscription",
    aliases=("inscrire", "join", "opt-in"),
    role=Role.ANYONE,
    where=PLACES,
    help="cmd.annuaire.join.help",
)
async def annuaire_join(ctx: Ctx) -> None:
    entry = await ctx.services.directory.publish(ctx.sender)
    if entry is None:
        raise PermissionDenied("directory.members_only")
    await ctx.reply(
        t(
            "directory.published",
            ctx.locale,
            name=entry.name or entry.user_id,
            profession=_label(entry.profession, ctx.locale),
            territories=", ".join(entry.territories) or "—",
            prefix=ctx.prefix,
        )
    )


@command(
    "annuaire",
    sub="retrait",
    aliases=("retirer", "withdraw", "leave"),
    role=Role.ANYONE,
    where=PLACES,
    help="cmd.annuaire.withdraw.help",
)
async def annuaire_withdraw(ctx: Ctx) -> None:
    if not await ctx.services.directory.withdraw(ctx.sender):
        raise NotFound("directory.not_listed", prefix=ctx.prefix)
    await ctx.reply(t("directory.withdrawn", ctx.locale))


@command(
    "annuaire",
    sub="search",
    aliases=("chercher", "recherche"),
    role=Role.ANYONE,
    where=PLACES,
    help="cmd.annuaire.search.help",
    metavars={"query": "meta.directory_query"},
)
async def annuaire_search(ctx: Ctx, query: Rest = "") -> None:
    directory, config = ctx.services.directory, ctx.services.config
    words = " ".join(query.split())
    if len(words) < MIN_QUERY:
        raise BadArgument("directory.usage", prefix=ctx.prefix, n=MIN_QUERY)
    searcher = ctx.sender
    is_member = await directory.members.member_info(searcher) is not None
    if not (is_member or animated_by(searcher, config.network, config.admins)):
        raise PermissionDenied("directory.members_only")
    labels = {p.id: p.label(ctx.locale) for p in DEFAULT_PROFESSIONS}
    found, unreachable = await directory.search(words, labels)
    lines = [
        t("directory.found", ctx.locale, n=len(found), query=words)
        if found
        else t("directory.none", ctx.locale, query=words)
    ]
    for e in found:
        lines.append(
            t(
                "directory.line",
                ctx.locale,
                name=e.name or e.user_id,
                profession=labels.get(e.profession, e.profession) or "—",
                territories=", ".join(e.territories) or "—",
                region=e.region,
                user=e.user_id,
            )
        )
    if unreachable:
        lines.append(t("directory.unreachable", ctx.locale, regions=", ".join(unreachable)))
    await ctx.reply("\n".join(lines))


def _label(profession: str, locale: str) -> str:
    return next((p.label(locale) for p in DEFAULT_PROFESSIONS if p.id == profession), profession)
