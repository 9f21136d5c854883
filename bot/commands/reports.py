"""The month's report (`!rapport`, `!report`): admins, in the control room."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Rest, Role, Where, command


class Uses(Protocol):
    """What this command uses (``bot.reports.capability.Reports``)."""

    async def post(self, room_id: str, reply_to: str, text: str, locale: str) -> str: ...


Ctx = CommandContext[Uses]


@command(
    "rapport",
    aliases=("report",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.report.help",
    metavars={"month": "meta.month"},
)
async def report(ctx: Ctx, month: Rest = "") -> None:
    await ctx.reply(await ctx.services.post(ctx.room_id, ctx.event_id, month, ctx.locale))
