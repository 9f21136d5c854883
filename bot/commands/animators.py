"""Animators' commands, in a direct chat with the bot (admins may use them in the control room
too): admitting, removing, working groups."""

from __future__ import annotations

from bot.commands.context import CommandContext
from bot.commands.registry import Rest, Role, UserId, Where, Word, command
from bot.errors import BadArgument
from bot.i18n import t

PLACES = (Where.DM, Where.CONTROL_ROOM)


def _animation(ctx: CommandContext):
    return ctx.services.animation


@command(
    "admit",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.admit.help",
    aliases=("admettre",),
    metavars={"fields": "meta.admit_fields"},
)
async def admit(ctx: CommandContext, user: UserId, fields: Rest = "") -> None:
    territory = None
    words = fields.split(maxsplit=1)
    if words and "=" not in words[0]:  # `!admit @x vaucluse [fields…]`
        territory, fields = words[0], words[1] if len(words) > 1 else ""
    done = await _animation(ctx).admit(ctx.sender, user, territory, fields, ctx.locale)
    if done.member:
        await ctx.reply(t("animate.admitted", ctx.locale, user=user, territory=done.territory.name))
        return
    assert done.request is not None and done.standing is not None
    await ctx.reply(
        t(
            "animate.endorsed",
            ctx.locale,
            user=user,
            id=done.request.id,
            n=len(done.standing.approvals),
            required=done.standing.required,
        )
    )


@command(
    "remove",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.remove.help",
    aliases=("retirer",),
    metavars={"territory": "meta.territory"},
)
async def remove(ctx: CommandContext, user: UserId, territory: Word | None = None) -> None:
    place, removed = await _animation(ctx).remove(ctx.sender, user, territory)
    await ctx.reply(t("animate.removed", ctx.locale, user=user, territory=place.name, n=removed))


@command(
    "group",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.group.help",
    aliases=("groupe",),
    metavars={
        "action": "meta.group_action",
        "target": "meta.group_target",
        "other": "meta.group_other",
    },
)
async def group(
    ctx: CommandContext,
    action: Word,
    target: Word,
    other: Word | None = None,
    open: bool = False,
    private: bool = False,
) -> None:
    animation = _animation(ctx)
    action = action.lower()
    if action in ("create", "creer", "créer"):
        if open == private:
            raise BadArgument("group.visibility")
        made = await animation.create_group(
            ctx.sender, target, "open" if open else "private", other
        )
        await ctx.reply(
            t(
                "group.created_open" if open else "group.created_private",
                ctx.locale,
                name=made.name,
                group=made.key,
                prefix=ctx.prefix,
            )
        )
    elif action in ("invite", "inviter"):
        if other is None:
            raise BadArgument("group.invite_usage", prefix=ctx.prefix)
        user = UserId.parse(other, ctx)
        found = await animation.invite_to_group(ctx.sender, target, user)
        await ctx.reply(t("group.invited", ctx.locale, user=user, name=found.name))
    else:
        raise BadArgument("group.action", action=action, prefix=ctx.prefix)
