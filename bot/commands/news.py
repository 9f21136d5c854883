"""News and alerts: feeds, manual news, sanitary alerts and their acknowledgements. Admins act
on any territory (and `all`), animators on theirs, in a direct chat with the bot or (admins)
in the control room."""

from __future__ import annotations

import time

from bot.commands.context import CommandContext
from bot.commands.registry import ANYWHERE, Integer, Rest, Role, Where, Word, command, tokenize
from bot.errors import BadArgument
from bot.i18n import t
from bot.news.feeds import parse_duration

PLACES = (Where.DM, Where.CONTROL_ROOM)


def _news(ctx: CommandContext):
    return ctx.services.news


def _options(text: str, names: set[str], flags: set[str]) -> tuple[dict[str, str], list[str]]:
    """`--every 15m --filter canicule rest…` → ({every: 15m, filter: canicule}, [rest…])."""
    values: dict[str, str] = {}
    rest: list[str] = []
    tokens = tokenize(text)
    i = 0
    while i < len(tokens):
        word = tokens[i].text
        if word.startswith("--") and word[2:] in names:
            if i + 1 >= len(tokens):
                raise BadArgument("news.option_value", option=word)
            values[word[2:]] = tokens[i + 1].text
            i += 2
            continue
        if word.startswith("--") and word[2:] in flags:
            values[word[2:]] = "yes"
            i += 1
            continue
        rest.append(word)
        i += 1
    return values, rest


def _when(ts: float | None, locale: str) -> str:
    if not ts:
        return "—"
    return time.strftime("%d/%m %H:%M" if locale == "fr" else "%m-%d %H:%M", time.localtime(ts))


@command(
    "feed",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.feed.help",
    aliases=("flux",),
    metavars={"action": "meta.feed_action", "rest": "meta.feed_rest"},
)
async def feed(ctx: CommandContext, action: Word, rest: Rest = "") -> None:
    news = _news(ctx)
    action = action.lower()
    if action in ("add", "ajouter"):
        options, words = _options(rest, {"every", "filter"}, {"public"})
        if not words or len(words) > 2:
            raise BadArgument("feed.add_usage", prefix=ctx.prefix)
        try:
            every = parse_duration(options.get("every", "30m"))
        except ValueError:
            raise BadArgument("feed.bad_every", value=options["every"]) from None
        added = await news.add_feed(
            ctx.sender,
            words[0],
            words[1] if len(words) > 1 else None,
            every,
            options.get("filter"),
            public="public" in options,
        )
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
    elif action in ("remove", "retirer", "supprimer"):
        removed = await news.remove_feed(ctx.sender, Integer.parse(rest.strip().lstrip("#"), ctx))
        await ctx.reply(t("feed.removed", ctx.locale, id=removed.id, url=removed.url))
    else:
        raise BadArgument("feed.action", action=action, prefix=ctx.prefix)


@command("feeds", role=Role.ANIMATOR, where=PLACES, help="cmd.feeds.help", aliases=("flux-liste",))
async def feeds(ctx: CommandContext) -> None:
    news = _news(ctx)
    mine = news.territories_of(ctx.sender)
    rows = [f for f in await news.feeds() if f.territory in mine]
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
                last=_when(f.last_fetch, ctx.locale),
                error=f.last_error or "—",
                errors=f.errors,
                next=_when(f.next_at, ctx.locale),
                origin=f.origin,
            )
        )
    await ctx.reply("\n".join(lines))


@command(
    "news",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.news.help",
    aliases=("actu",),
    metavars={"target": "meta.news_target"},
)
async def news_(ctx: CommandContext, target: Word, text: Rest, public: bool = False) -> None:
    news_id, rooms = await _news(ctx).post_news(ctx.sender, target, text, public=public)
    await ctx.reply(t("news.posted", ctx.locale, id=news_id, n=rooms))


@command(
    "alert",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.alert.help",
    aliases=("alerte",),
    metavars={"target": "meta.alert_target"},
)
async def alert(ctx: CommandContext, target: Word, text: Rest) -> None:
    news = _news(ctx)
    if target.lower() == "status":
        number = text.strip().lstrip("#")
        await ctx.reply(await news.alert_status(ctx.sender, Integer.parse(number, ctx)))
        return
    options, _ = _options(text, {"level", "niveau"}, set())
    level = options.get("level") or options.get("niveau") or "info"
    for name in ("level", "niveau"):
        if name in options:
            text = text.replace(f"--{name} {options[name]}", " ", 1)
    level = {"vigilance": "warning", "critique": "critical"}.get(level.lower(), level.lower())
    alert_id, rooms = await news.post_alert(ctx.sender, target, level, text)
    await ctx.reply(t("alert.posted", ctx.locale, id=alert_id, n=rooms))


@command(
    "ack",
    role=Role.ANYONE,
    where=ANYWHERE,
    help="cmd.ack.help",
    aliases=("vu",),
    metavars={"alert": "meta.alert"},
)
async def ack(ctx: CommandContext, alert: Word) -> None:
    number = Integer.parse(alert.lstrip("#"), ctx)
    fresh = await _news(ctx).ack(number, ctx.sender, "command")
    await ctx.reply(t("alert.acked" if fresh else "alert.acked_before", ctx.locale, id=number))
