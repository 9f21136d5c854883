"""Vetting commands: asking to join (direct chat) and deciding (control room)."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import (
    RequestId,
    RequestIdArg,
    RequestSelection,
    Rest,
    Role,
    UserId,
    Where,
    Word,
    command,
    command_group,
)
from bot.config import Config
from bot.errors import BadArgument, NotFound
from bot.i18n import t
from bot.matrix.markup import Markdown, escape
from bot.store.vetting import VettingStore
from bot.vetting.cards import Cards
from bot.vetting.decisions import Decisions
from bot.vetting.intake import Intake
from bot.vetting.ledger import Ledger
from bot.vetting.outcome import REGISTRATION_TOKEN_DAYS, Outcomes


class Uses(Protocol):
    """What these commands use (``bot.vetting.capability.Vetting``)."""

    requests: VettingStore
    ledger: Ledger
    cards: Cards
    intake: Intake
    decisions: Decisions
    outcomes: Outcomes

    @property
    def config(self) -> Config: ...

    async def forget(self, user_id: str, by: str) -> int: ...


Ctx = CommandContext[Uses]


@command(
    "join",
    role=Role.ANYONE,
    where=Where.DM,
    help="cmd.join.help",
    aliases=("adhesion",),
    metavars={"fields": "meta.fields"},
)
async def join(ctx: Ctx, fields: Rest = "") -> None:
    if not fields:  # the guided conversation, one question at a time
        await ctx.reply(await ctx.services.intake.start_dialogue(ctx.sender, ctx.room_id))
        return
    request = await ctx.services.intake.submit_from_matrix(
        fields, ctx.sender, ctx.room_id, ctx.locale
    )
    await ctx.reply(
        t(
            "vetting.submitted",
            ctx.locale,
            id=request.id,
            required=ctx.services.config.vetting.approvals_required,
        )
    )


@command("request", role=Role.ANYONE, where=Where.DM, help="cmd.request.help", aliases=("demande",))
async def request(ctx: Ctx) -> None:
    mine = await ctx.services.requests.requests(user_id=ctx.sender, limit=1)
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
    where=Where.DM,
    help="cmd.cancel.help",
    aliases=("annuler",),
    metavars={"request": "meta.request"},
)
async def cancel(ctx: Ctx, request: RequestId | None = None) -> None:
    """My conversation, or my pending request: one has at most one, so its number, if
    typed, changes nothing (a held ban rule: ``bot.commands.moderation``)."""
    cancelled = await ctx.services.intake.cancel(ctx.sender)
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
async def requests(ctx: Ctx) -> None:
    pending = await ctx.services.requests.requests(status="pending", limit=100)
    if not pending:
        await ctx.reply(t("vetting.none_pending", ctx.locale))
        return
    lines = [t("vetting.pending_title", ctx.locale, n=len(pending))]
    for r in reversed(pending):
        result = await ctx.services.ledger.standing_of(r)
        lines.append(
            f"#{r.id} — {r.name} ({r.profession}, {r.territory}) — "
            f"{len(result.approvals)}/{result.required}"
        )
    await ctx.reply("\n".join(lines))


async def _decide(
    ctx: Ctx, request: int, decision: str, note: str, without_directory: bool = False
) -> None:
    result = await ctx.services.decisions.decide(
        request, ctx.sender, decision, note, without_directory=without_directory
    )
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
    options={"sans_annuaire": ("without-directory",)},
)
async def approve(
    ctx: Ctx, request: RequestSelection, note: Rest = "", *, sans_annuaire: bool = False
) -> None:
    if request.single is not None:
        await _decide(ctx, request.single, "approve", note, sans_annuaire)
        return
    if sans_annuaire:
        raise BadArgument("vetting.override_one_at_a_time")
    decisions = ctx.services.decisions
    ids = await decisions.selection(request.first, request.last, request.batch)
    what = f"import:{request.batch}" if request.batch else f"#{request.first}-#{request.last}"
    if not ids:
        raise NotFound("bulk.none", what=what)
    progress = await ctx.progress(t("bulk.progress", ctx.locale, done=0, total=len(ids)))

    async def report(done: int) -> None:
        await progress.update(t("bulk.progress", ctx.locale, done=done, total=len(ids)))

    result = await decisions.approve_many(ctx.sender, ids, note, report)
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
    example="12 RPPS introuvable",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.reject.help",
    aliases=("refuser",),
    metavars={"reason": "meta.reason"},
)
async def reject(ctx: Ctx, request: RequestId, reason: Rest) -> None:
    await _decide(ctx, request, "reject", reason)


@command(
    "question",
    example="12 Dans quelle structure exercez-vous ?",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.question.help",
    aliases=("ask",),
    metavars={"text": "meta.question"},
)
async def question(ctx: Ctx, request: RequestId, text: Rest) -> None:
    if not text.strip():
        raise BadArgument("vetting.ask.empty", prefix=ctx.prefix)
    asked = await ctx.services.decisions.ask(request, ctx.sender, text.strip())
    await ctx.reply(t("vetting.ask.sent", ctx.locale, id=asked.id, user=asked.user_id))


@command(
    "info",
    example="12",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.info.help",
    metavars={"who": "meta.request_or_user"},
)
async def info(ctx: Ctx, who: Word) -> None:
    vetting = ctx.services
    if who.startswith("@"):
        found = await vetting.requests.requests(user_id=who, limit=1)
        if not found:
            raise NotFound("vetting.none_for", who=who)
        request = found[0]
    else:
        request = await vetting.ledger.get(RequestIdArg.parse(who, ctx))
    text: str = await vetting.cards.text(request, detail=True)
    if request.user_id and await vetting.requests.is_member(request.user_id):
        rooms = t(
            "vetting.member_rooms",
            ctx.locale,
            rooms=await vetting.outcomes.rooms_text(request.user_id),
        )
        text = Markdown(text + "\n" + escape(rooms))
    await ctx.reply(text)


@command(
    "members",
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.members.help",
    aliases=("membres",),
    metavars={"territory": "meta.territory"},
)
async def members(ctx: Ctx, territory: Word | None = None) -> None:
    network = ctx.services.config.network
    scope = None
    if territory:
        subtree = network.subtree(territory.lower())
        if not subtree:
            raise NotFound(
                "vetting.form.unknown_territory", choices=", ".join(t.id for t, _ in network.walk())
            )
        scope = {t.id for t in subtree}
    found = await ctx.services.requests.members(scope)
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
async def forget(ctx: Ctx, user: UserId) -> None:
    erased = await ctx.services.forget(user, ctx.sender)
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
async def token_renew(ctx: Ctx, request: RequestId) -> None:
    renewed = await ctx.services.outcomes.renew_token(request, ctx.sender)
    await ctx.reply(t("token.renewed", ctx.locale, id=renewed.id, days=REGISTRATION_TOKEN_DAYS))
