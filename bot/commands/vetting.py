"""Vetting commands: asking to join (direct chat) and deciding (control room)."""

from __future__ import annotations

from bot.commands.context import CommandContext
from bot.commands.moderation import cancel_hold
from bot.commands.registry import (
    Integer,
    RequestId,
    RequestSelection,
    Rest,
    Role,
    Selection,
    UserId,
    Where,
    Word,
    command,
    command_group,
)
from bot.errors import BadArgument, Conflict, NotFound
from bot.i18n import t
from bot.vetting.service import REGISTRATION_TOKEN_DAYS


def _vetting(ctx: CommandContext):
    return ctx.services.vetting


@command(
    "join",
    role=Role.ANYONE,
    where=Where.DM,
    help="cmd.join.help",
    aliases=("adhesion",),
    metavars={"fields": "meta.fields"},
)
async def join(ctx: CommandContext, fields: Rest = "") -> None:
    if not fields:  # the guided conversation, one question at a time
        await ctx.reply(await _vetting(ctx).start_dialogue(ctx.sender, ctx.room_id))
        return
    request = await _vetting(ctx).submit_from_matrix(fields, ctx.sender, ctx.room_id, ctx.locale)
    await ctx.reply(
        t(
            "vetting.submitted",
            ctx.locale,
            id=request.id,
            required=ctx.services.config.vetting.approvals_required,
        )
    )


@command("request", role=Role.ANYONE, where=Where.DM, help="cmd.request.help", aliases=("demande",))
async def request(ctx: CommandContext) -> None:
    mine = await _vetting(ctx).requests.requests(user_id=ctx.sender, limit=1)
    if not mine:
        raise NotFound("vetting.none_yet", prefix=ctx.prefix)
    last = mine[0]
    text = t(
        "vetting.mine",
        ctx.locale,
        id=last.id,
        status=t(f"vetting.status.{last.status}", ctx.locale),
    )
    if last.reason:
        text += "\n" + t("vetting.card.reason", ctx.locale, reason=last.reason)
    await ctx.reply(text)


@command(
    "cancel",
    role=Role.ANYONE,
    where=(Where.DM, Where.CONTROL_ROOM),
    help="cmd.cancel.help",
    aliases=("annuler",),
    metavars={"hold": "meta.hold"},
)
async def cancel(ctx: CommandContext, hold: Integer | None = None) -> None:
    """In a direct chat: my request or conversation. In the control room: a held ban rule."""
    if ctx.room_kind == Where.CONTROL_ROOM.value:
        if hold is None:
            raise BadArgument("policy.cancel_usage", prefix=ctx.prefix)
        await cancel_hold(ctx, hold)
        return
    cancelled = await _vetting(ctx).cancel(ctx.sender)
    await ctx.reply(
        t("dialogue.abandoned", ctx.locale)
        if cancelled is None
        else t("vetting.cancelled", ctx.locale, id=cancelled.id)
    )


@command(
    "requests",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.requests.help",
    aliases=("demandes",),
)
async def requests(ctx: CommandContext) -> None:
    pending = await _vetting(ctx).requests.requests(status="pending", limit=100)
    if not pending:
        await ctx.reply(t("vetting.none_pending", ctx.locale))
        return
    lines = [t("vetting.pending_title", ctx.locale, n=len(pending))]
    for r in reversed(pending):
        result = await _vetting(ctx).standing_of(r)
        lines.append(
            f"#{r.id} — {r.name} ({r.profession}, {r.territory}) — "
            f"{len(result.approvals)}/{result.required}"
        )
    await ctx.reply("\n".join(lines))


async def _decide(ctx: CommandContext, request: int, decision: str, note: str) -> None:
    result = await _vetting(ctx).decide(request, ctx.sender, decision, note)
    key = {"approved": "vetting.now_approved", "rejected": "vetting.now_rejected"}.get(
        result.status, "vetting.recorded"
    )
    await ctx.reply(
        t(key, ctx.locale, id=request, n=len(result.approvals), required=result.required)
    )


@command(
    "approve",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.approve.help",
    aliases=("valider",),
    metavars={"note": "meta.note"},
)
async def approve(ctx: CommandContext, request: RequestSelection, note: Rest = "") -> None:
    chosen: Selection = request  # type: ignore[assignment]
    if chosen.single is not None:
        await _decide(ctx, chosen.single, "approve", note)
        return
    vetting = _vetting(ctx)
    # The selection is fixed when the command first runs: run again after a crash, it goes
    # over the same requests (those it already approved are counted, not approved twice).
    key = f"bulk:{ctx.event_id}"
    ids = await ctx.services.store.get(key)
    if ids is None:
        ids = await vetting.requests.pending_ids(
            first=chosen.first, last=chosen.last, batch=chosen.batch
        )
        await ctx.services.store.put(key, ids)
    what = f"import:{chosen.batch}" if chosen.batch else f"#{chosen.first}-#{chosen.last}"
    if not ids:
        raise NotFound("bulk.none", what=what)
    progress = await ctx.progress(t("bulk.progress", ctx.locale, done=0, total=len(ids)))

    async def report(done: int) -> None:
        await progress.update(t("bulk.progress", ctx.locale, done=done, total=len(ids)))

    result = await vetting.approve_many(ctx.sender, ids, note, report)
    text = t(
        "bulk.done",
        ctx.locale,
        total=len(ids),
        approved=result.approved,
        waiting=result.waiting,
        skipped=len(result.skipped),
    )
    if result.skipped:
        text += "\n" + t(
            "bulk.skipped",
            ctx.locale,
            list=", ".join(f"#{i} ({why})" for i, why in result.skipped[:20])
            + (" …" if len(result.skipped) > 20 else ""),
        )
    await progress.update(text)


@command(
    "reject",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.reject.help",
    aliases=("refuser",),
    metavars={"reason": "meta.reason"},
)
async def reject(ctx: CommandContext, request: RequestId, reason: Rest) -> None:
    await _decide(ctx, request, "reject", reason)


@command(
    "info",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.info.help",
    metavars={"who": "meta.request_or_user"},
)
async def info(ctx: CommandContext, who: Word) -> None:
    vetting = _vetting(ctx)
    if who.startswith("@"):
        found = await vetting.requests.requests(user_id=who, limit=1)
        if not found:
            raise NotFound("vetting.none_for", who=who)
        request = found[0]
    else:
        request = await vetting.get(RequestId.parse(who, ctx))
    text = await vetting.card_text(request)
    if request.user_id and await vetting.requests.member_territory(request.user_id):
        text += "\n" + t(
            "vetting.member_rooms", ctx.locale, rooms=await vetting.rooms_text(request.user_id)
        )
    await ctx.reply(text)


@command(
    "members",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.members.help",
    aliases=("membres",),
    metavars={"territory": "meta.territory"},
)
async def members(ctx: CommandContext, territory: Word | None = None) -> None:
    network = ctx.services.config.network
    scope = None
    if territory:
        subtree = network.subtree(territory.lower())
        if not subtree:
            raise NotFound(
                "vetting.form.unknown_territory", choices=", ".join(t.id for t, _ in network.walk())
            )
        scope = {t.id for t in subtree}
    found = await _vetting(ctx).requests.members(scope)
    lines = [t("members.title", ctx.locale, n=len(found))]
    lines += [
        f"• {m['user_id']} — {m['name'] or '—'} ({m['profession'] or '—'}, {m['territory']})"
        for m in found[:200]
    ]
    if len(found) > 200:
        lines.append(t("members.more", ctx.locale, n=len(found) - 200))
    await ctx.reply("\n".join(lines))


@command(
    "forget",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.forget.help",
    aliases=("oublier",),
)
async def forget(ctx: CommandContext, user: UserId) -> None:
    store = _vetting(ctx).requests
    if await store.member_territory(user):
        raise Conflict("forget.member", user=user)
    if await store.requests(status="pending", user_id=user):
        raise Conflict("forget.pending", user=user)
    erased = await store.forget(user)
    await ctx.services.directory.withdraw(user)
    await ctx.services.store.audit(
        ctx.sender, "vetting.forget", "ok", detail=f"{user}: {erased} request(s) erased"
    )
    await ctx.reply(t("forget.done", ctx.locale, user=user, n=erased))


command_group("token", help="cmd.token.help", aliases=("jeton",))


@command(
    "token",
    sub="renew",
    aliases=("renouveler",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.token.renew.help",
    metavars={"request": "meta.request"},
)
async def token_renew(ctx: CommandContext, request: RequestId) -> None:
    renewed = await _vetting(ctx).renew_token(request, ctx.sender)
    await ctx.reply(t("token.renewed", ctx.locale, id=renewed.id, days=REGISTRATION_TOKEN_DAYS))
