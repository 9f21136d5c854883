"""Moderation commands: revoking a member."""

from __future__ import annotations

from bot.commands.context import CommandContext
from bot.commands.registry import Rest, Role, UserId, Where, command
from bot.errors import BadArgument, PermissionDenied
from bot.i18n import t


@command(
    "revoke",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.revoke.help",
    aliases=("revoquer",),
    metavars={"reason": "meta.reason"},
)
async def revoke(ctx: CommandContext, user: UserId, reason: Rest, deactivate: bool = False) -> None:
    config = ctx.services.config
    if user in config.admins or user == config.bot_user_id:
        raise PermissionDenied("revoke.not_admin", user=user)
    if not reason.strip():
        raise BadArgument("vetting.reason_required")
    local = user.endswith(":" + config.homeserver.server_name)
    if deactivate and not local:
        raise BadArgument("revoke.deactivate_remote", user=user)
    was_member = await ctx.services.revocation.start(user, reason.strip(), ctx.sender, deactivate)
    ctx.services.wake_jobs()
    await ctx.reply(
        t("revoke.started" if was_member else "revoke.started_not_member", ctx.locale, user=user)
    )
