"""Requests coming in: a direct chat's `!join` (one line, or the guided conversation), the
web form (held until its email is confirmed), an animator's `!admit`. A request is validated
in full before it is stored, and shown to the admins as a card."""

from __future__ import annotations

import logging
import time

from bot import effects
from bot.capability import Core
from bot.errors import BadArgument, Conflict, NotFound, PermissionDenied, UserError
from bot.i18n import t
from bot.mail import Mailer
from bot.moderation.bans import Shield, ban_for
from bot.store.moderation import ModerationStore
from bot.store.vetting import RequestRow
from bot.vetting import dialogue
from bot.vetting.cards import ENDORSEMENT, Cards
from bot.vetting.decisions import Decisions
from bot.vetting.form import (
    FormProblems,
    JoinRequestData,
    Profession,
    offered,
    parse_pairs,
    render_problems,
    validate,
)
from bot.vetting.ledger import Ledger, Part
from bot.vetting.links import confirm_url, confirmation_token, hash_token, web_secret
from bot.vetting.quorum import Standing

log = logging.getLogger(__name__)

CONFIRM_MAIL_JOB = "vetting.confirm_mail"  # a web applicant's email confirmation link
EXPIRE_JOB = "vetting.expire_unconfirmed"  # forgotten when never confirmed


class Intake(Part):
    def __init__(
        self,
        core: Core,
        ledger: Ledger,
        cards: Cards,
        decisions: Decisions,
        mailer: Mailer | None,
    ):
        super().__init__(core)
        self.ledger = ledger
        self.cards = cards
        self.decisions = decisions
        self.mailer = mailer

    async def submit_from_matrix(
        self, text: str, sender: str, dm_room: str, locale: str
    ) -> RequestRow:
        values, problems = parse_pairs(text)
        if problems:
            raise BadArgument(
                "error.text",
                text=t("vetting.refused", locale) + "\n" + render_problems(problems, locale),
            )
        return await self.submit(values, sender, dm_room, locale)

    async def submit(
        self, values: dict[str, str], sender: str, dm_room: str, locale: str
    ) -> RequestRow:
        data = self.validated(values, locale)
        if (again := await self.filed_by_this_event()) is not None:
            return again
        await self.refuse_if_unwelcome(sender)
        return await self.file(
            data,
            source="matrix",
            user_id=sender,
            dm_room=dm_room,
            submitted_by=sender,
            locale=locale,
        )

    async def filed_by_this_event(self) -> RequestRow | None:
        """The request the command being handled filed already: it runs again after a crash,
        and gets the answer of its first run (its card posted, if the crash came first)."""
        event_id = effects.current_event()
        request = await self.requests.request_by_source(event_id) if event_id else None
        if request is not None:
            request = await self.decisions.directory_gate(request)
            await self.cards.show(request)
        return request

    @property
    def professions(self) -> tuple[Profession, ...]:
        """What applicants may choose here (``vetting.professions``)."""
        return offered(self.config.vetting.professions)

    def validated(self, values: dict[str, str], locale: str) -> JoinRequestData:
        try:
            return validate(values, self.config.network, self.professions)
        except FormProblems as exc:
            raise BadArgument(
                "error.text",
                text=t("vetting.refused", locale) + "\n" + render_problems(exc.problems, locale),
            ) from None

    async def file(
        self,
        data: JoinRequestData,
        *,
        source: str,
        user_id: str | None,
        dm_room: str | None,
        submitted_by: str,
        status_hash: str | None = None,
        locale: str | None = None,
        endorsed_by: str | None = None,
        replacement_for: int | None = None,
    ) -> RequestRow:
        """Store a validated request and post its card (with the animator's endorsement on it
        from the first version)."""
        request_id = await self.requests.add_request(
            data,
            source=source,
            user_id=user_id,
            dm_room=dm_room,
            submitted_by=submitted_by,
            status_hash=status_hash,
            locale=locale,
            replacement_for=replacement_for,
        )
        await self.store.audit(
            submitted_by,
            "vetting.request",
            "ok",
            room_id=dm_room,
            detail=f"#{request_id} ({source})",
        )
        if endorsed_by is not None:
            # Shown on the card; an approval only when the config says so (``voters``).
            await self.requests.record_decision(request_id, endorsed_by, "approve", ENDORSEMENT)
            await self.store.audit(endorsed_by, "vetting.endorse", "ok", detail=f"#{request_id}")
        # The directory first (``require`` may refuse it at once): no admin sees a card they
        # could approve before it is checked.
        request = await self.decisions.directory_gate(await self.ledger.get(request_id))
        await self.cards.show(request)
        return request

    async def file_from_web(
        self, data: JoinRequestData, *, status_hash: str, locale: str
    ) -> RequestRow:
        """A web request waits for its email to be confirmed before any admin sees it: an
        RPPS number is public and its check digit proves nothing about who typed it. The
        confirmation mail and the expiry are jobs, written with the request."""
        expires = time.time() + self.config.vetting.email_confirmation_expires
        async with self.store.transaction() as db:
            request_id = await self.requests.add_request(
                data,
                source="web",
                user_id=None,
                dm_room=None,
                submitted_by="web",
                status_hash=status_hash,
                locale=locale,
                status="unconfirmed",
                db=db,
            )
            await self.store.add_job(db, CONFIRM_MAIL_JOB, {"request_id": request_id})
            await self.store.add_job(db, EXPIRE_JOB, {"request_id": request_id}, at=expires)
        row = await self.ledger.get(request_id)
        token = confirmation_token(await web_secret(self.store), row.id, row.created)
        await self.requests.set_email_hash(row.id, hash_token(token))
        await self.store.audit("web", "vetting.request", "ok", detail=f"#{row.id} (web)")
        self.wake_jobs()
        return await self.ledger.get(request_id)

    async def send_confirmation(self, payload: dict) -> None:
        """The job that mails the confirmation link (the same link if sent again)."""
        request = await self.ledger.get(int(payload["request_id"]))
        if request.status != "unconfirmed" or self.mailer is None:
            return
        locale = request.locale or self.config.locale
        token = confirmation_token(await web_secret(self.store), request.id, request.created)
        await self.requests.set_email_hash(request.id, hash_token(token))  # if a crash lost it
        link = confirm_url(self.config.web.public_url, token, locale)
        hours = max(1, round(self.config.vetting.email_confirmation_expires / 3600))
        where = await self.mailer.send(
            request.email,
            t("mail.confirm.subject", locale, id=request.id),
            t("mail.confirm.body", locale, name=request.name, link=link, hours=hours),
            message_id=f"<agora-confirm-{request.id}-{int(request.created)}@"
            f"{self.mailer.sender.rsplit('@', 1)[-1]}>",
        )
        log.info("confirmation mail for request #%s sent (%s)", request.id, where)

    async def confirm_email(self, token: str) -> tuple[str, RequestRow | None]:
        """A confirmation link used: ``confirmed`` (the card goes to the control room now),
        ``already`` (used before: nothing more), or ``unknown`` (expired or never made)."""
        request = await self.requests.request_by_email_hash(hash_token(token))
        if request is None:
            return "unknown", None
        if not await self.requests.confirm_email(request.id):
            return ("already", request) if request.status != "expired" else ("unknown", None)
        await self.store.audit("web", "vetting.email_confirmed", "ok", detail=f"#{request.id}")
        # Confirmed, it is a request like any: the directory may refuse it (``require``).
        checked = await self.decisions.directory_gate(await self.ledger.get(request.id))
        await self.cards.show(checked)
        return "confirmed", checked

    async def expire(self, payload: dict) -> None:
        """A web request whose address was never confirmed: closed and forgotten."""
        request_id = int(payload["request_id"])
        if await self.requests.expire_unconfirmed(request_id):
            await self.store.audit(
                self.gateway.user_id, "vetting.expired", "ok", detail=f"#{request_id}"
            )

    async def endorse(
        self,
        values: dict[str, str],
        animator: str,
        user_id: str,
        locale: str,
        replacement_for: int | None = None,
    ) -> tuple[RequestRow, Standing]:
        """`!admit` of someone not vetted yet: a request filed by the animator, whose
        endorsement counts as one approval when ``vetting.animator_endorsement_counts``."""
        data = self.validated(values, locale)
        if (again := await self.filed_by_this_event()) is not None:
            return again, await self.ledger.standing_of(again)
        await self.refuse_if_unwelcome(user_id)
        request = await self.file(
            data,
            source="animator",
            user_id=user_id,
            dm_room=None,
            submitted_by=animator,
            endorsed_by=None if animator in self.config.admins else animator,
            replacement_for=replacement_for,
        )
        return request, await self.decisions.settle(request, "")

    async def refuse_if_unwelcome(self, user_id: str) -> None:
        """Members, people with a request pending and people a ban rule matches may not ask."""
        rules = await ModerationStore(self.store).rules()
        if ban_for(user_id, rules, Shield.for_config(self.config)):
            raise PermissionDenied("vetting.banned")
        if await self.requests.member_territory(user_id):
            raise Conflict("vetting.already_member")
        if await self.requests.requests(status="pending", user_id=user_id):
            raise Conflict("vetting.already_pending")

    async def start_dialogue(self, sender: str, room_id: str) -> str:
        await self.refuse_if_unwelcome(sender)
        await self.requests.save_dialogue(sender, room_id, "language", {}, "fr")
        return dialogue.start(self.config.commands.prefix)

    async def converse(self, sender: str, room_id: str, text: str) -> str | None:
        """A plain message in a direct chat: the next step of the person's conversation, if
        one is in progress there (otherwise nothing to say)."""
        current = await self.requests.dialogue(sender)
        stepped, _ = await self.store.earlier_outcome("dialogue")
        if stepped and current is not None and current[0] == room_id:
            # This answer moved the conversation on before a crash: not applied twice (it
            # would answer the next question); the question it led to is asked again.
            _, step, fields, locale = current
            return dialogue.question(
                dialogue.DialogueState(step, fields, locale),
                self.config.network,
                self.professions,
            )
        if current is None or current[0] != room_id:
            again = await self.filed_by_this_event()  # the last answer, run again
            if again is None:
                return None
            locale = again.locale or self.config.locale
            required = self.config.vetting.approvals_required
            return t("vetting.submitted", locale, id=again.id, required=required)
        _, step, fields, locale = current
        state = dialogue.DialogueState(step, fields, locale)
        reply = dialogue.answer(state, text, self.config.network, self.professions)
        if reply.state is not None:
            await self.requests.save_dialogue(
                sender, room_id, reply.state.step, reply.state.fields, reply.state.locale
            )
            if reply.state.step != step:  # the step, never the answer (personal data)
                await self.store.keep_outcome_now("dialogue", reply.state.step)
            return reply.text
        await self.requests.end_dialogue(sender)
        if reply.submit is None:
            return reply.text
        try:
            request = await self.submit(reply.submit, sender, room_id, state.locale)
        except UserError as exc:
            return exc.render(state.locale)
        return t(
            "vetting.submitted",
            state.locale,
            id=request.id,
            required=self.config.vetting.approvals_required,
        )

    async def cancel(self, sender: str) -> RequestRow | None:
        """Stop a conversation in progress (None), or cancel the pending request."""
        if await self.requests.end_dialogue(sender):
            return None
        pending = await self.requests.requests(status="pending", user_id=sender)
        if not pending:
            raise NotFound("vetting.no_pending")
        request = pending[0]
        await self.requests.close_request(request.id, "cancelled")
        await self.store.audit(sender, "vetting.cancel", "ok", detail=f"#{request.id}")
        await self.cards.show(request)
        return request
