"""Commands every Agora bot has: ping, help, status, reload."""

from __future__ import annotations

import time
from typing import Any, Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import ANYWHERE, CommandName, Role, Where, Word, command
from bot.config import ConfigError
from bot.errors import BadArgument
from bot.i18n import LOCALES, format_duration, t


class Uses(Protocol):
    """What these commands use (``bot.runtime.Runtime``)."""

    async def status_info(self) -> dict[str, Any]: ...

    def reload(self) -> list[str]: ...


Ctx = CommandContext[Uses]
# Also in a peer region's shared room, where this bot answers its own people.
EVERYWHERE = ANYWHERE | {Where.SHARED_ROOM}


@command("ping", role=Role.ANYONE, where=EVERYWHERE, help="cmd.ping.help")
async def ping(ctx: Ctx) -> None:
    elapsed = max(0, int(time.time() * 1000) - ctx.origin_ts)
    await ctx.reply(t("cmd.ping.reply", ctx.locale, ms=elapsed))


@command(
    "langue",
    role=Role.ANYONE,
    where=EVERYWHERE,
    help="cmd.language.help",
    aliases=("language",),
    metavars={"choice": "meta.language"},
)
async def language(ctx: Ctx, choice: Word | None = None) -> None:
    """Each person's language: every answer and notice to them in it from now on."""
    if choice is None:
        await ctx.reply(
            t("cmd.language.current", ctx.locale, choices=", ".join(LOCALES), prefix=ctx.prefix)
        )
        return
    chosen = choice.lower()
    if chosen not in LOCALES:
        raise BadArgument("cmd.language.unknown", value=choice[:20], choices=", ".join(LOCALES))
    await ctx.store.set_language(ctx.sender, chosen)
    await ctx.reply(t("cmd.language.set", chosen))


@command("help", role=Role.ANYONE, where=EVERYWHERE, help="cmd.help.help", aliases=("aide",))
async def help_(ctx: Ctx, name: CommandName | None = None) -> None:
    if name:
        await ctx.reply(ctx.registry.describe(name, ctx.locale, ctx.prefix))
    else:
        where = Where(ctx.room_kind) if ctx.room_kind else None
        server = ctx.sender.split(":", 1)[1] if ":" in ctx.sender else ""
        await ctx.reply(ctx.registry.help_text(ctx.locale, ctx.prefix, ctx.role, where, server))


@command(
    "status", role=Role.ADMIN, where=Where.CONTROL_ROOM, help="cmd.status.help", aliases=("etat",)
)
async def status(ctx: Ctx) -> None:
    info = await ctx.services.status_info()
    loc = ctx.locale
    counts = t("cmd.status.counts", loc, **info["counts"])
    await ctx.reply(
        t(
            "cmd.status.reply",
            loc,
            version=info["version"],
            uptime=format_duration(time.time() - info["started_at"], loc),
            homeserver=info["homeserver"],
            server_name=info["server_name"],
            device_id=info["device_id"],
            fingerprint=info["fingerprint"],
            cross_signed=t(
                "cmd.status.cross_signed." + ("yes" if info["cross_signed"] else "no"), loc
            ),
            counts=counts,
        )
    )


@command("reload", role=Role.ADMIN, where=Where.CONTROL_ROOM, help="cmd.reload.help")
async def reload(ctx: Ctx) -> None:
    try:
        later = ctx.services.reload()
    except ConfigError as exc:
        raise BadArgument("reload.error", error=str(exc)) from None
    text = t("reload.ok", ctx.locale)
    if later:
        text += "\n" + t("reload.restart", ctx.locale, keys=", ".join(later))
    await ctx.reply(text)
