"""Commands about the network's structure: plan and apply."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Role, Where, command
from bot.errors import BadArgument
from bot.i18n import t
from bot.territories.reconciler import Progress


class Uses(Protocol):
    """What these commands use (``bot.territories.capability.Territories``)."""

    async def reconcile(
        self, *, dry_run: bool, progress: Progress | None = None
    ) -> tuple[str, bool]: ...


Ctx = CommandContext[Uses]


@command("reconcile", role=Role.ADMIN, where=Where.CONTROL_ROOM, help="cmd.reconcile.help")
async def reconcile(ctx: Ctx, dry_run: bool = False) -> None:
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
