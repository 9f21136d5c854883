"""Moderation commands: revoking a member, the region's ban list and the peers' lists."""

from __future__ import annotations

import re
import time

from bot.commands.context import CommandContext
from bot.commands.registry import Integer, Rest, Role, UserId, Where, Word, command
from bot.errors import BadArgument, NotFound, PermissionDenied
from bot.i18n import t
from bot.matrix.crosssigning import fingerprint
from bot.matrix.ids import is_local
from bot.moderation.bans import PolicyRule
from bot.moderation.rules import people_list


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
    local = is_local(user, config.homeserver.server_name)
    if deactivate and not local:
        raise BadArgument("revoke.deactivate_remote", user=user)
    was_member = await ctx.services.revocation.start(user, reason.strip(), ctx.sender, deactivate)
    ctx.services.wake_jobs()
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
async def confirm(ctx: CommandContext, hold: Integer) -> None:
    done, removed = await ctx.services.bans.confirm(hold, ctx.sender)
    await ctx.reply(
        t("policy.confirmed", ctx.locale, n=hold, entity=done.rule.entity, removed=removed)
    )


async def cancel_hold(ctx: CommandContext, hold: int) -> None:
    """`!cancel <n>` in the control room (the same command cancels a request in a DM)."""
    done = await ctx.services.bans.cancel(hold, ctx.sender)
    await ctx.reply(t("policy.cancelled", ctx.locale, n=hold, entity=done.rule.entity))


@command(
    "trust",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.trust.help",
    aliases=("confiance",),
    metavars={"fingerprint_start": "meta.fingerprint"},
)
async def trust(ctx: CommandContext, user: UserId, fingerprint_start: Rest = "") -> None:
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


ENTITY_RE = re.compile(r"^(@[^\s:]+:[A-Za-z0-9.*?\-]+(:\d{1,5})?|[A-Za-z0-9.*?\-]+(:\d{1,5})?)$")


@command(
    "policy",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.policy.help",
    aliases=("politique",),
    metavars={"action": "meta.policy_action", "rest": "meta.policy_rest"},
)
async def policy(ctx: CommandContext, action: Word, rest: Rest = "") -> None:
    room = ctx.services.policy
    action = action.lower()
    if action in ("list", "liste"):
        stored = [
            s for s in await room.rules.stored_in(room.room_id or "") if s.status != "ignored"
        ]
        if not stored:
            await ctx.reply(t("policy.empty", ctx.locale))
            return
        lines = [t("policy.list_title", ctx.locale, n=len(stored))]
        lines += [
            f"• {s.rule.kind} {s.rule.entity} — {s.rule.recommendation} — "
            f"{s.rule.reason or '—'}"
            + ("" if s.status == "active" else f" ({t('policy.status.' + s.status, ctx.locale)})")
            for s in stored
        ]
        await ctx.reply("\n".join(lines))
    elif action in ("ban", "bannir"):
        entity, _, reason = rest.strip().partition(" ")
        if not ENTITY_RE.match(entity) or not reason.strip():
            raise BadArgument("policy.ban_usage", prefix=ctx.prefix)
        config = ctx.services.config
        kind = "user" if entity.startswith("@") else "server"
        shield = ctx.services.bans.shield
        probe = PolicyRule(kind, entity, "m.ban")
        if kind == "user" and entity in shield.people:
            raise PermissionDenied("policy.protected", user=entity)
        if shield.refuses(probe):
            raise PermissionDenied("policy.own_server", server=config.homeserver.server_name)
        asked = await ctx.services.bans.ask_ban(kind, entity, reason.strip(), ctx.sender)
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
    elif action in ("unban", "lever"):
        entity = rest.strip()
        kind = "user" if entity.startswith("@") else "server"
        if not await room.unban(kind, entity):
            raise NotFound("policy.no_rule", entity=entity)
        await ctx.services.store.audit(ctx.sender, "policy.unban", "ok", detail=f"{kind} {entity}")
        await ctx.reply(t("policy.unbanned", ctx.locale, entity=entity))
    elif action in ("trusted", "confiance"):
        refs = ctx.services.config.federation.trusted_policy_rooms
        if not refs:
            await ctx.reply(t("policy.no_trusted", ctx.locale))
            return
        lines = [t("policy.trusted_title", ctx.locale, n=len(refs))]
        for ref in refs:
            room_id = room.trusted.get(ref)
            rules = await room.rules.rules({room_id}) if room_id else []
            last = await room.rules.last_update(room_id) if room_id else None
            lines.append(
                t(
                    "policy.trusted_line",
                    ctx.locale,
                    ref=ref,
                    n=len(rules),
                    state=t("policy.reachable" if room_id else "policy.unreachable", ctx.locale),
                    last=time.strftime("%d/%m %H:%M", time.localtime(last)) if last else "—",
                )
            )
        await ctx.reply("\n".join(lines))
    else:
        raise BadArgument("policy.action", action=action, prefix=ctx.prefix)
