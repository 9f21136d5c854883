"""News and alerts: feeds, manual news, sanitary alerts and their acknowledgements. Admins act
on any territory (and `all`), animators on theirs, in a direct chat with the bot or (admins)
in the control room."""

from __future__ import annotations

from typing import Annotated, ClassVar, Protocol
from zoneinfo import ZoneInfo

from bot.commands.context import CommandContext
from bot.commands.registry import (
    ANYWHERE,
    Arg,
    Duration,
    Number,
    Parsing,
    Rest,
    Role,
    Where,
    Word,
    command,
    command_group,
)
from bot.config import Config
from bot.errors import BadArgument
from bot.i18n import short_when, t
from bot.news.alerts import LEVELS, Alerts
from bot.news.audience import territories_of
from bot.news.feeds import Feeds
from bot.news.posts import Posts

PLACES = (Where.DM, Where.CONTROL_ROOM)
DEFAULT_EVERY = 1800.0


class Uses(Protocol):
    """What these commands use (``bot.news.capability.News``)."""

    posts: Posts
    alerts: Alerts
    feeds: Feeds

    @property
    def config(self) -> Config: ...


Ctx = CommandContext[Uses]


class UrlArg(Arg):
    metavar = "meta.url"

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> str:
        if not raw.lower().startswith(("http://", "https://")) or len(raw) > 2000:
            raise BadArgument("feed.bad_url", url=raw[:100])
        return raw


Url = Annotated[str, UrlArg]


class LevelArg(Arg):
    """An alert's level, in either language: info, warning (vigilance), critical (critique)."""

    metavar = "meta.level"
    FRENCH: ClassVar[dict[str, str]] = {"vigilance": "warning", "critique": "critical"}

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> str:
        level = cls.FRENCH.get(raw.lower(), raw.lower())
        if level not in LEVELS:
            raise BadArgument("alert.level", level=raw, levels=", ".join(LEVELS))
        return level


Level = Annotated[str, LevelArg]


def _when(ts: float | None, locale: str, config: Config) -> str:
    return short_when(ts, locale, ZoneInfo(config.rosters.timezone)) if ts else "—"


command_group("feed", help="cmd.feed.help", aliases=("flux",), default="list")


@command(
    "feed",
    sub="add",
    example="https://www.ars.sante.fr/rss.xml vaucluse --every 1h",
    aliases=("ajouter",),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.feed.add.help",
    metavars={"target": "meta.feed_target", "filter": "meta.word"},
)
async def feed_add(
    ctx: Ctx,
    url: Url,
    target: Word | None = None,
    *,
    every: Duration = DEFAULT_EVERY,
    filter: Word | None = None,
    public: bool = False,
) -> None:
    added = await ctx.services.feeds.add(ctx.sender, url, target, every, filter, public=public)
    await ctx.reply(
        t(
            "feed.added",
            ctx.locale,
            id=added.id,
            url=added.url,
            target=added.territory,
            minutes=round(added.every / 60),
            n=ctx.services.config.news.first_posts,
        )
    )


@command(
    "feed",
    sub="remove",
    aliases=("retirer", "supprimer"),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.feed.remove.help",
    metavars={"feed": "meta.feed"},
)
async def feed_remove(ctx: Ctx, feed: Number) -> None:
    removed = await ctx.services.feeds.remove(ctx.sender, feed)
    await ctx.reply(t("feed.removed", ctx.locale, id=removed.id, url=removed.url))


@command(
    "feed",
    sub="list",
    aliases=("liste",),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.feeds.help",
)
async def feed_list(ctx: Ctx) -> None:
    mine = territories_of(ctx.services.config, ctx.sender)
    rows = [f for f in await ctx.services.feeds.feeds() if f.territory in mine]
    if not rows:
        await ctx.reply(t("feed.none", ctx.locale, prefix=ctx.prefix))
        return
    lines = [t("feed.list_title", ctx.locale, n=len(rows))]
    for f in rows:
        lines.append(
            t(
                "feed.line",
                ctx.locale,
                id=f.id,
                url=f.url,
                target=", ".join(f.rooms) + f" @ {f.territory}",
                every=round(f.every / 60),
                last=_when(f.last_fetch, ctx.locale, ctx.services.config),
                error=f.last_error or "—",
                errors=f.errors,
                next=_when(f.next_at, ctx.locale, ctx.services.config),
                origin=f.origin,
            )
        )
    await ctx.reply("\n".join(lines))


@command("feeds", role=Role.ANIMATOR, where=PLACES, help="cmd.feeds.help", aliases=("flux-liste",))
async def feeds(ctx: Ctx) -> None:
    await feed_list(ctx)


@command(
    "news",
    example="vaucluse Réunion des CPTS jeudi 18h",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.news.help",
    aliases=("actu",),
    metavars={"target": "meta.news_target"},
)
async def news_(ctx: Ctx, target: Word, text: Rest, public: bool = False) -> None:
    news_id, rooms = await ctx.services.posts.post(ctx.sender, target, text, public=public)
    await ctx.reply(t("news.posted", ctx.locale, id=news_id, n=rooms))


command_group("alert", help="cmd.alert.help", aliases=("alerte",), fallback="send")


@command(
    "alert",
    sub="send",
    example="vaucluse --level vigilance Canicule : plan niveau 3",
    aliases=("envoyer",),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.alert.send.help",
    metavars={"target": "meta.news_target"},
    options={"level": ("niveau",)},
)
async def alert_send(ctx: Ctx, target: Word, text: Rest, *, level: Level = "info") -> None:
    alert_id, rooms = await ctx.services.alerts.post(ctx.sender, target, level, text)
    await ctx.reply(t("alert.posted", ctx.locale, id=alert_id, n=rooms))


@command(
    "alert",
    sub="status",
    aliases=("etat", "état"),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.alert.status.help",
    metavars={"alert": "meta.alert"},
)
async def alert_status(ctx: Ctx, alert: Number) -> None:
    await ctx.reply(await ctx.services.alerts.status(ctx.sender, alert))


@command(
    "ack",
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.ack.help",
    aliases=("vu",),
    metavars={"alert": "meta.alert"},
)
async def ack(ctx: Ctx, alert: Number) -> None:
    fresh = await ctx.services.alerts.ack(alert, ctx.sender, "command")
    await ctx.reply(t("alert.acked" if fresh else "alert.acked_before", ctx.locale, id=alert))
