"""Moderation commands: revoking a member, the region's ban list and the peers' lists, the
identities admins trust."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Number, Rest, Role, UserId, Where, Word, command, command_group
from bot.i18n import t
from bot.matrix.crosssigning import fingerprint
from bot.moderation.revocation import Revocation
from bot.moderation.rules import Asked, people_list
from bot.moderation.trust import DeviceTrust
from bot.store.moderation import Hold


class Uses(Protocol):
    """What these commands use (``bot.moderation.capability.Moderation``)."""

    revocation: Revocation
    trust: DeviceTrust

    async def ban(self, entity: str, reason: str, by: str) -> Asked: ...

    async def unban(self, entity: str, by: str) -> None: ...

    async def listing(self, locale: str) -> str: ...

    async def trusted(self, locale: str) -> str: ...

    async def confirm(self, hold: int, by: str) -> tuple[Hold, int]: ...

    async def cancel(self, hold: int, by: str) -> Hold: ...


Ctx = CommandContext[Uses]


@command(
    "revoke",
    example="@dr.martin:{server} Radiation du tableau de l'Ordre",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.revoke.help",
    aliases=("revoquer",),
    metavars={"reason": "meta.reason"},
)
async def revoke(ctx: Ctx, user: UserId, reason: Rest, deactivate: bool = False) -> None:
    was_member = await ctx.services.revocation.start(user, reason, ctx.sender, deactivate)
    await ctx.reply(
        t("revoke.started" if was_member else "revoke.started_not_member", ctx.locale, user=user)
    )


@command(
    "confirm",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.confirm.help",
    aliases=("confirmer",),
    metavars={"hold": "meta.hold"},
)
async def confirm(ctx: Ctx, hold: Number) -> None:
    done, removed = await ctx.services.confirm(hold, ctx.sender)
    await ctx.reply(
        t("policy.confirmed", ctx.locale, n=hold, entity=done.rule.entity, removed=removed)
    )


@command(
    "cancel",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.cancel_hold.help",
    aliases=("annuler",),
    metavars={"hold": "meta.hold"},
)
async def cancel_hold(ctx: Ctx, hold: Number) -> None:
    """`!cancel <n>` in the control room (in a direct chat it cancels one's own request)."""
    done = await ctx.services.cancel(hold, ctx.sender)
    await ctx.reply(t("policy.cancelled", ctx.locale, n=hold, entity=done.rule.entity))


@command(
    "trust",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.trust.help",
    aliases=("confiance",),
    metavars={"fingerprint_start": "meta.fingerprint"},
)
async def trust(ctx: Ctx, user: UserId, fingerprint_start: Rest = "") -> None:
    change = await ctx.services.trust.accept(user, ctx.sender, fingerprint_start)
    await ctx.reply(
        t(
            "trust.accepted",
            ctx.locale,
            user=user,
            old=fingerprint(change.old),
            new=fingerprint(change.new),
        )
    )


command_group("policy", help="cmd.policy.help", aliases=("politique",), default="list")


@command(
    "policy",
    sub="list",
    aliases=("liste",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.policy.list.help",
)
async def policy_list(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.listing(ctx.locale))


@command(
    "policy",
    sub="ban",
    example="@spam:exemple.org Spam répété",
    aliases=("bannir",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.policy.ban.help",
    metavars={"entity": "meta.entity", "reason": "meta.reason"},
)
async def policy_ban(ctx: Ctx, entity: Word, reason: Rest) -> None:
    asked = await ctx.services.ban(entity, reason, ctx.sender)
    if asked.hold is not None:
        await ctx.reply(
            t(
                "policy.ban_held",
                ctx.locale,
                entity=entity,
                n=asked.hold,
                count=len(asked.users),
                people=people_list(asked.users) or "—",
                prefix=ctx.prefix,
            )
        )
        return
    await ctx.reply(t("policy.banned", ctx.locale, entity=entity, n=asked.removed))


@command(
    "policy",
    sub="unban",
    example="@spam:exemple.org",
    aliases=("lever",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.policy.unban.help",
    metavars={"entity": "meta.entity"},
)
async def policy_unban(ctx: Ctx, entity: Word) -> None:
    await ctx.services.unban(entity, ctx.sender)
    await ctx.reply(t("policy.unbanned", ctx.locale, entity=entity))


@command(
    "policy",
    sub="trusted",
    aliases=("confiance",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.policy.trusted.help",
)
async def policy_trusted(ctx: Ctx) -> None:
    await ctx.reply(await ctx.services.trusted(ctx.locale))
