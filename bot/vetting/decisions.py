"""Admins' decisions: by command (one request or many), by ✅ on a card, withdrawn by
removing the ✅. A request's outcome happens once: closing it is a conditional update, so two
admins approving at the same moment provision the member once."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot import effects
from bot.capability import Core
from bot.errors import BadArgument, Conflict, PermissionDenied, UserError
from bot.i18n import t
from bot.matrix.content import notice
from bot.store.vetting import RequestRow, asked_key, refused_key
from bot.vetting.cards import Cards
from bot.vetting.ledger import Ledger, Part
from bot.vetting.quorum import Standing, may_decide

CONCLUDE_JOB = "vetting.conclude"
APPROVE_KEYS = frozenset({"✅", "✔", "👍"})
REJECT_KEYS = frozenset({"❌", "✖", "👎"})


@dataclass
class BulkResult:
    approved: int = 0  # the quorum was reached with this approval
    waiting: int = 0  # approved by this admin, another approval still needed
    skipped: list[tuple[int, str]] = field(default_factory=list)


def directory_what(what: list[str], locale: str) -> str:
    """What the directory did not bear out, in words."""
    return ", ".join(t(f"vetting.directory.what.{w}", locale) for w in what)


class Decisions(Part):
    def __init__(self, core: Core, ledger: Ledger, cards: Cards):
        super().__init__(core)
        self.ledger = ledger
        self.cards = cards

    async def decide(
        self,
        request_id: int,
        admin: str,
        decision: str,
        note: str,
        *,
        without_directory: bool = False,
    ) -> Standing:
        """An admin's approval or rejection. ``without_directory``: an approval of a request
        the national directory refused (``vetting.directory_check: require``), with a reason:
        it is open again, and this approval counts like any."""
        request = await self.ledger.get(request_id)
        event_id = effects.current_event()
        if event_id and await self.requests.decided_by_event(request.id, event_id):
            return await self.settle(request, note)  # run again: the first run's outcome
        prefix = self.config.commands.prefix
        refused = await self.store.get(refused_key(request.id))
        if request.status == "rejected" and refused is not None:
            if decision != "approve" or not without_directory:
                raise Conflict("vetting.directory_refused", id=request.id, prefix=prefix)
            if not note.strip():
                raise BadArgument("vetting.override_reason_required")
            refusal = may_decide(admin, request.submitted_by, request.user_id)
            if refusal:
                raise PermissionDenied(refusal)
            await self.requests.reopen_refused(request.id, admin, note.strip())
            request = await self.ledger.get(request_id)
        if request.status != "pending":
            raise Conflict("vetting.already_decided", id=str(request_id), status=request.status)
        if decision == "approve" and self.config.vetting.directory_check == "require":
            # Whatever way an approval comes (✅, a bulk approval, a request filed before the
            # directory was loaded), one the directory does not bear out needs the override.
            verdict = await self.cards.verdict(request)
            if verdict is not None and not verdict.ok:
                if not without_directory:
                    raise Conflict("vetting.directory_not_borne_out", id=request.id, prefix=prefix)
                if not note.strip():
                    raise BadArgument("vetting.override_reason_required")
                await self.store.audit(
                    admin, "vetting.directory_override", "ok", detail=f"#{request.id} {note}"
                )
        refusal = may_decide(admin, request.submitted_by, request.user_id)
        if refusal:
            raise PermissionDenied(refusal)
        if decision == "reject" and not note.strip():
            raise BadArgument("vetting.reason_required")
        await self.requests.record_decision(request.id, admin, decision, note.strip())
        await self.store.audit(admin, f"vetting.{decision}", "ok", detail=f"#{request.id} {note}")
        return await self.settle(request, note)

    async def selection(self, first: int | None, last: int | None, batch: str | None) -> list[int]:
        """The pending requests a bulk approval goes over (a range, or an import batch),
        fixed when the command first runs: run again after a crash, it goes over the same
        ones (those it already approved are counted, not approved twice)."""
        key = f"bulk:{effects.current_event()}"
        ids = await self.store.get(key)
        if ids is None:
            ids = await self.requests.pending_ids(first=first, last=last, batch=batch)
            await self.store.put(key, ids)
        return list(ids)

    async def approve_many(
        self,
        admin: str,
        ids: list[int],
        note: str,
        progress: Callable[[int], Awaitable[None]],
        every: float = 1.0,
    ) -> BulkResult:
        """One admin's approval of many requests, each counted once. Run again after a crash,
        it finds the approvals already given and the requests already closed, so each outcome
        still happens once."""
        result = BulkResult()
        last = time.monotonic()
        for done, request_id in enumerate(ids, start=1):
            try:
                standing = await self.decide(request_id, admin, "approve", note)
            except UserError as exc:
                mine = [d for d in await self.requests.decisions(request_id) if d.admin == admin]
                if isinstance(exc, Conflict) and mine and mine[0].decision == "approve":
                    result.approved += 1  # closed with this approval, by a run cut short
                else:
                    result.skipped.append((request_id, exc.render(self.config.locale)))
            else:
                if standing.status == "approved":
                    result.approved += 1
                else:
                    result.waiting += 1
            if time.monotonic() - last > every:
                last = time.monotonic()
                await progress(done)
        return result

    async def directory_gate(self, request: RequestRow) -> RequestRow:
        """With ``vetting.directory_check: require``, a new request the loaded directory does
        not bear out (its RPPS number absent, another name or profession) refused at once;
        the applicant is told why, in their language, and whom to write to."""
        if self.config.vetting.directory_check != "require" or request.status != "pending":
            return request
        verdict = await self.cards.verdict(request)
        if verdict is None or verdict.ok:
            return request
        what = verdict.mismatches
        loc = self.config.locale
        reason = t("vetting.directory.reason", loc, what=directory_what(what, loc))
        if await self.requests.refuse_by_directory(
            request.id, reason, what, self.gateway.user_id, then=CONCLUDE_JOB
        ):
            self.wake_jobs()
        return await self.ledger.get(request.id)

    async def settle(self, request: RequestRow, note: str, *, card: bool = True) -> Standing:
        """Close the request if its decisions now reach an outcome; edit its card."""
        result = await self.ledger.standing_of(request)
        if result.status != "pending":
            reason = note.strip() if result.status == "rejected" else None
            # The outcome is a durable job: a crash right after this line loses nothing.
            await self.requests.close_request(request.id, result.status, reason, then=CONCLUDE_JOB)
            self.wake_jobs()
        if card:
            await self.cards.show(await self.ledger.get(request.id))
        return result

    async def ask(self, request_id: int, admin: str, question: str) -> RequestRow:
        """An admin's question to an applicant, relayed to their direct chat in their
        language; its record and the answers go to the card's thread (the card stays the
        summary). The applicant's next messages there, while the request is pending, are
        relayed back."""
        request = await self.ledger.get(request_id)
        if request.status != "pending":
            raise Conflict("vetting.already_decided", id=str(request_id), status=request.status)
        if request.user_id is None:
            raise Conflict("vetting.ask.no_account", id=request_id)
        locale = await self.core.language(request.user_id)
        text = t("vetting.ask.to_applicant", locale, id=request_id, question=question)
        await self.core.tell(request.user_id, text)
        await self.store.put(asked_key(request.user_id), {"request": request_id})
        await self.store.audit(admin, "vetting.ask", "ok", detail=f"#{request_id}")
        if self.control.room_id and request.card_event:
            said = t(
                "vetting.ask.asked",
                self.config.locale,
                admin=admin,
                user=request.user_id,
                question=question,
            )
            await self.gateway.send(self.control.room_id, notice(said, thread=request.card_event))
        return request

    async def answered(self, user_id: str, text: str) -> str | None:
        """A plain message from an applicant who was asked a question: relayed to the card's
        thread; what to tell them (None: no question open, the message is not for the admins)."""
        asked = await self.store.get(asked_key(user_id))
        if not asked:
            return None
        request = await self.requests.request(int(asked["request"]))
        if request is None or request.status != "pending" or request.user_id != user_id:
            await self.store.put(asked_key(user_id), None)
            return None
        if self.control.room_id and request.card_event:
            said = t("vetting.ask.answer", self.config.locale, user=user_id, text=text[:2000])
            await self.gateway.send(self.control.room_id, notice(said, thread=request.card_event))
        return t("vetting.ask.relayed", await self.core.language(user_id), id=request.id)

    async def on_reaction(self, admin: str, card_event: str, key: str) -> None:
        """An admin's ✅ on a card approves, ❌ asks for the reason (a rejection needs one)."""
        request = await self.requests.request_by_card(card_event)
        if request is None or not self.control.room_id:
            return
        loc = self.config.locale
        emoji = key.replace("\ufe0f", "")
        try:
            if emoji in APPROVE_KEYS:
                result = await self.decide(request.id, admin, "approve", "")
                text = t(
                    {"approved": "vetting.now_approved"}.get(result.status, "vetting.recorded"),
                    loc,
                    id=request.id,
                    n=len(result.approvals),
                    required=result.required,
                )
            elif emoji in REJECT_KEYS:
                text = t(
                    "vetting.reason_asked",
                    loc,
                    admin=admin,
                    id=request.id,
                    prefix=self.config.commands.prefix,
                )
            else:
                return
        except UserError as exc:
            text = exc.render(loc)
        # In the card's thread: the discussion of a request stays there, the card its summary.
        await self.gateway.send(self.control.room_id, notice(text, thread=card_event))

    async def on_redaction(self, sender: str, redacts: str) -> None:
        """Something withdrawn in the control room: an admin's own ✅ (their approval goes
        while the request is pending: one statement, so a decision that already closed it
        stays), or a card (posted again while its request is pending). A redaction proves
        no device, and taking an approval back only makes admission stricter."""
        if not self.control.room_id:
            return
        loc, prefix = self.config.locale, self.config.commands.prefix
        decided = await self.requests.decision_by_event(redacts)
        if decided is not None and decided[1] == sender:
            request_id, admin, _ = decided
            request = await self.ledger.get(request_id)
            if await self.requests.withdraw_decision(request_id, admin, redacts):
                await self.store.audit(admin, "vetting.withdraw", "ok", detail=f"#{request_id}")
                standing = await self.ledger.standing_of(request)
                await self.cards.show(request)
                text = t(
                    "vetting.withdrawn",
                    loc,
                    admin=admin,
                    id=request_id,
                    n=len(standing.approvals),
                    required=standing.required,
                )
            else:
                text = t(
                    "vetting.withdraw_too_late",
                    loc,
                    id=request_id,
                    status=request.status,
                    prefix=prefix,
                )
            await self.gateway.send(
                self.control.room_id, notice(text, thread=request.card_event or None)
            )
            return
        carded = await self.requests.request_by_card(redacts)
        if carded is not None and carded.status == "pending":
            # A new card under a key of its own (the removed one cannot be edited any more);
            # the old id stays recorded until the new one is, so a run cut short runs again.
            await self.gateway.send(
                self.control.room_id, notice(t("vetting.card_reposted", loc, id=carded.id))
            )
            await self.cards.post(await self.ledger.get(carded.id), replacing=redacts)
