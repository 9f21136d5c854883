"""The cross-region directory, in a direct chat with the bot: opting in, searching, withdrawing
(``bot.federation.directory``)."""

from __future__ import annotations

from bot.commands.context import CommandContext
from bot.commands.registry import Rest, Role, Where, command
from bot.errors import BadArgument, NotFound, PermissionDenied
from bot.i18n import t
from bot.moderation.policy import animated_by
from bot.vetting.form import DEFAULT_PROFESSIONS

OPT_IN = ("inscription", "inscrire", "join", "opt-in")
WITHDRAW = ("retrait", "retirer", "withdraw", "leave")
MIN_QUERY = 2


@command(
    "annuaire",
    role=Role.ANYONE,
    where=(Where.DM, Where.CONTROL_ROOM),
    help="cmd.annuaire.help",
    aliases=("directory",),
    metavars={"query": "meta.directory_query"},
)
async def annuaire(ctx: CommandContext, query: Rest = "") -> None:
    directory = ctx.services.directory
    config = ctx.services.config
    words = " ".join(query.split())
    if words.lower() in OPT_IN:
        entry = await directory.publish(ctx.sender)
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
        return
    if words.lower() in WITHDRAW:
        if not await directory.withdraw(ctx.sender):
            raise NotFound("directory.not_listed", prefix=ctx.prefix)
        await ctx.reply(t("directory.withdrawn", ctx.locale))
        return
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
