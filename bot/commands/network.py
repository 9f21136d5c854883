"""Commands about the network's structure: plan and apply, reload."""

from __future__ import annotations

from bot.commands.context import CommandContext
from bot.commands.registry import Role, Where, command
from bot.config import ConfigError
from bot.errors import BadArgument
from bot.i18n import t


@command("reconcile", role=Role.ADMIN, where=Where.CONTROL_ROOM, help="cmd.reconcile.help")
async def reconcile(ctx: CommandContext, dry_run: bool = False) -> None:
    if dry_run:
        text, _ = await ctx.services.reconcile(dry_run=True)
        await ctx.reply(text)
        return
    progress = await ctx.progress(t("reconcile.progress", ctx.locale, done=0, total="…"))

    async def report(done: int, total: int) -> None:
        await progress.update(t("reconcile.progress", ctx.locale, done=done, total=total))

    text, ok = await ctx.services.reconcile(dry_run=False, progress=report)
    await progress.update(text)
    if not ok:
        raise BadArgument("error.text", text=text)


@command("reload", role=Role.ADMIN, where=Where.CONTROL_ROOM, help="cmd.reload.help")
async def reload(ctx: CommandContext) -> None:
    try:
        ctx.services.reload()
    except ConfigError as exc:
        raise BadArgument("reload.error", error=str(exc)) from None
    await ctx.reply(t("reload.ok", ctx.locale))
