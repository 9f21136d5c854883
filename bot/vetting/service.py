"""Vetting as the bot runs it: requests in, cards in the control room, decisions, outcome.

A request is validated in full before it is stored. Each is shown once in the control room as a
card that is edited as admins decide. Its outcome happens exactly once: closing a request is a
conditional update, so two admins approving at the same moment provision the member once.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot import effects
from bot.config import Config
from bot.errors import (
    BadArgument,
    Conflict,
    NotFound,
    PermissionDenied,
    UserError,
)
from bot.homeserver.admin import (
    delete_registration_token,
    force_join,
    new_registration_token,
    registration_tokens,
    user_registered_with,
)
from bot.i18n import t
from bot.mail import Mailer
from bot.matrix.content import edit, notice
from bot.matrix.direct import DirectChats
from bot.matrix.gateway import Gateway
from bot.moderation.bans import Shield, ban_for
from bot.moderation.control_room import ControlRoom
from bot.store import Store
from bot.store.moderation import ModerationStore
from bot.store.vetting import RequestRow, VettingStore
from bot.vetting import dialogue
from bot.vetting.form import (
    DEFAULT_PROFESSIONS,
    FormProblems,
    JoinRequestData,
    parse_pairs,
    render_problems,
    validate,
)
from bot.vetting.links import confirm_url, confirmation_token, hash_token, web_secret
from bot.vetting.provisioning import deliveries, entitlement
from bot.vetting.quorum import Standing, may_decide, standing

log = logging.getLogger(__name__)

CONCLUDE_JOB = "vetting.conclude"
CONFIRM_MAIL_JOB = "vetting.confirm_mail"  # a web applicant's email confirmation link
EXPIRE_JOB = "vetting.expire_unconfirmed"  # forgotten when never confirmed
TELL_JOB = "vetting.tell_outcome"
IMPORT_NOTICE_JOB = "vetting.import_notice"  # queued by `agora-bot import-requests`
APPROVE_KEYS = frozenset({"✅", "✔", "👍"})
REJECT_KEYS = frozenset({"❌", "✖", "👎"})
REGISTRATION_TOKEN_DAYS = 14
TOKEN_MAIL_JOB = "vetting.token_mail"
ENDORSEMENT = "endorsement"  # the note of an animator's approval when they file a request


@dataclass
class BulkResult:
    approved: int = 0  # the quorum was reached with this approval
    waiting: int = 0  # approved by this admin, another approval still needed
    skipped: list[tuple[int, str]] = field(default_factory=list)


class Vetting:
    def __init__(
        self,
        config: Config,
        gateway: Gateway,
        store: Store,
        control: ControlRoom,
        direct: DirectChats,
        wake_jobs: Callable[[], None] = lambda: None,
        mailer: Mailer | None = None,
    ):
        self.config = config
        self.mailer = mailer
        self.direct = direct
        self.wake_jobs = wake_jobs
        self.gateway = gateway
        self.store = store
        self.requests = VettingStore(store)
        self.control = control
        # Called with each member provisioned (the peers' shared rooms they are asked into).
        self.after_provision: Callable[[str], Awaitable[object]] | None = None

    # --- asking -----------------------------------------------------------------------------

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
            await self.show_card(request)
        return request

    def validated(self, values: dict[str, str], locale: str) -> JoinRequestData:
        try:
            return validate(values, self.config.network)
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
        await self.show_card(await self.get(request_id))
        return await self.get(request_id)

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
        row = await self.get(request_id)
        token = confirmation_token(await web_secret(self.store), row.id, row.created)
        await self.requests.set_email_hash(row.id, hash_token(token))
        await self.store.audit("web", "vetting.request", "ok", detail=f"#{row.id} (web)")
        self.wake_jobs()
        return await self.get(request_id)

    async def send_confirmation(self, payload: dict) -> None:
        """The job that mails the confirmation link (the same link if sent again)."""
        request = await self.get(int(payload["request_id"]))
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
        await self.show_card(await self.get(request.id))
        return "confirmed", await self.get(request.id)

    async def expire(self, payload: dict) -> None:
        """A web request whose address was never confirmed: closed and forgotten."""
        request_id = int(payload["request_id"])
        if await self.requests.expire_unconfirmed(request_id):
            await self.store.audit(
                self.gateway.user_id, "vetting.expired", "ok", detail=f"#{request_id}"
            )

    async def endorse(
        self, values: dict[str, str], animator: str, user_id: str, locale: str
    ) -> tuple[RequestRow, Standing]:
        """`!admit` of someone not vetted yet: a request filed by the animator, whose
        endorsement counts as one approval when ``vetting.animator_endorsement_counts``."""
        data = self.validated(values, locale)
        if (again := await self.filed_by_this_event()) is not None:
            return again, await self.standing_of(again)
        await self.refuse_if_unwelcome(user_id)
        request = await self.file(
            data,
            source="animator",
            user_id=user_id,
            dm_room=None,
            submitted_by=animator,
            endorsed_by=None if animator in self.config.admins else animator,
        )
        return request, await self._settle(request, "")

    # --- the guided conversation ------------------------------------------------------------

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
                dialogue.DialogueState(step, fields, locale), self.config.network
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
        reply = dialogue.answer(state, text, self.config.network)
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
        await self.show_card(request)
        return request

    # --- deciding ---------------------------------------------------------------------------

    async def get(self, request_id: int) -> RequestRow:
        request = await self.requests.request(request_id)
        if request is None:
            raise NotFound("vetting.unknown_request", id=str(request_id))
        return request

    def voters(self, territory: str) -> tuple[str, ...]:
        """Whose approvals count: the admins, and the animators of the territory or above it
        when their endorsement counts."""
        if not self.config.vetting.animator_endorsement_counts:
            return self.config.admins
        animators = [
            a
            for t, ancestors in self.config.network.walk()
            if t.id == territory
            for x in (*ancestors, t)
            for a in x.animators
        ]
        return tuple(dict.fromkeys((*self.config.admins, *animators)))

    async def standing_of(self, request: RequestRow) -> Standing:
        return standing(
            await self.requests.decisions(request.id),
            self.voters(request.territory),
            self.config.vetting.approvals_required,
            self.config.vetting.one_rejection_rejects,
        )

    async def decide(self, request_id: int, admin: str, decision: str, note: str) -> Standing:
        request = await self.get(request_id)
        event_id = effects.current_event()
        if event_id and await self.requests.decided_by_event(request.id, event_id):
            return await self._settle(request, note)  # run again: the first run's outcome
        if request.status != "pending":
            raise Conflict("vetting.already_decided", id=str(request_id), status=request.status)
        refusal = may_decide(admin, request.submitted_by, request.user_id)
        if refusal:
            raise PermissionDenied(refusal)
        if decision == "reject" and not note.strip():
            raise BadArgument("vetting.reason_required")
        await self.requests.record_decision(request.id, admin, decision, note.strip())
        await self.store.audit(admin, f"vetting.{decision}", "ok", detail=f"#{request.id} {note}")
        return await self._settle(request, note)

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

    async def _settle(self, request: RequestRow, note: str, *, card: bool = True) -> Standing:
        """Close the request if its decisions now reach an outcome; edit its card."""
        result = await self.standing_of(request)
        if result.status != "pending":
            reason = note.strip() if result.status == "rejected" else None
            # The outcome is a durable job: a crash right after this line loses nothing.
            await self.requests.close_request(request.id, result.status, reason, then=CONCLUDE_JOB)
            self.wake_jobs()
        if card:
            await self.show_card(await self.get(request.id))
        return result

    async def conclude(self, payload: dict) -> None:
        """The job that follows a final decision: provisioning, then a job that tells the
        applicant (apart, so that opening direct chats never slows provisioning down). Safe to
        run again (member upsert; invites and joins of someone already there are no-ops)."""
        request = await self.get(int(payload["request_id"]))
        if request.status == "approved" and request.user_id:
            await self.requests.add_member(request.user_id, request.id, request.territory)
            await self.provision(request.user_id)
            await self.store.audit(
                self.gateway.user_id,
                "vetting.provision",
                "ok",
                detail=f"#{request.id} {request.user_id} → {request.territory}",
            )
        elif request.status == "approved":
            # A web request: the person has no account yet. They get a single-use token on
            # their status page; the account made with it is linked and provisioned then.
            await self.registration_token(request)
            return
        # Once: this job run again after a crash (its follow-up written, itself not yet
        # marked done) finds the follow-up there, and the applicant is told once.
        if request.user_id and not await self.store.has_job(TELL_JOB, {"request_id": request.id}):
            async with self.store.transaction() as db:
                await self.store.add_job(db, TELL_JOB, {"request_id": request.id})
            self.wake_jobs()

    async def tell_outcome(self, payload: dict) -> None:
        """The applicant told of the outcome, in their direct chat (opened if there is none)."""
        request = await self.get(int(payload["request_id"]))
        locale = request.locale or self.config.locale
        if request.user_id is None:
            return
        if request.status == "approved":
            message = t(
                "vetting.applicant.approved",
                locale,
                id=request.id,
                territory=self._territory_name(request.territory),
            )
            given = await self.rooms_text(request.user_id)
            if given:
                message += "\n" + t("vetting.applicant.rooms", locale, rooms=given)
            message += "\n" + t(
                "vetting.applicant.directory", locale, prefix=self.config.commands.prefix
            )
        else:
            message = t(
                "vetting.applicant.rejected", locale, id=request.id, reason=request.reason or "—"
            )
        await self.tell(request.user_id, message, request.dm_room)

    async def import_notice(self, payload: dict) -> None:
        """One summary in the control room for an imported batch (no card per request)."""
        if self.control.room_id:
            await self.gateway.send(
                self.control.room_id,
                notice(
                    t(
                        "import.notice",
                        self.config.locale,
                        prefix=self.config.commands.prefix,
                        **payload,
                    )
                ),
            )

    async def tell(self, user_id: str, text: str, room_id: str | None = None) -> None:
        """A notice to one person, in the direct chat they use with the bot (opened if none)."""
        room_id = room_id or await self.direct.room_for(user_id)
        await self.gateway.send(room_id, notice(text))

    async def provision(self, user_id: str) -> None:
        """Give a member their spaces and rooms now (invites or, with force_join, joins). The
        reconciler gives the same on its next run if a room did not exist yet."""
        member = await self.requests.member_info(user_id)
        if member is None:
            return
        rooms = {r.key: r.room_id for r in await self.store.managed_rooms(include_archived=False)}
        server = self.config.homeserver.server_name
        for step in deliveries(
            member, self.config.network, self.config.vetting.provisioning, server
        ):
            room_id = rooms.get(step.key)
            if room_id is None:
                continue
            if step.op == "join":
                await force_join(self.gateway, room_id, user_id)
            else:
                await self.gateway.invite(room_id, user_id, again_ok=True)
        if self.after_provision is not None:
            await self.after_provision(user_id)

    async def rooms_text(self, user_id: str) -> str:
        """A member's spaces and rooms, one line each with its link."""
        member = await self.requests.member_info(user_id)
        if member is None:
            return ""
        server = self.config.homeserver.server_name
        ent = entitlement(member, self.config.network, self.config.vetting.provisioning)
        return "\n".join(
            f"• {self._room_name(key)} — https://matrix.to/#/%23{key}:{server}"
            for key in (*ent.spaces, *ent.rooms)
        )

    def _room_name(self, key: str) -> str:
        tid, _, rid = key.partition(".")
        territory = self.config.network.find(tid)
        if territory is None:
            return key
        if not rid:
            return territory.name
        return next((r.name for r in territory.rooms if r.id == rid), key)

    async def registration_token(self, request: RequestRow) -> str:
        """The single-use token of an approved web request, made once. Its value is chosen and
        stored before Synapse is asked, so a crash in between makes no second token."""
        token = request.reg_token
        expires = await self.requests.reg_expires(request.id)
        if token is None or expires is None:
            expires = time.time() + REGISTRATION_TOKEN_DAYS * 86400
            await self.requests.set_reg_token(
                request.id, f"agora-{request.id}-{secrets.token_urlsafe(18)}", expires
            )
            token = (await self.get(request.id)).reg_token
            assert token is not None
            expires = await self.requests.reg_expires(request.id) or expires
        await new_registration_token(self.gateway, token, int(expires * 1000))
        return token

    async def renew_token(self, request_id: int, admin: str) -> RequestRow:
        """`!token renew`: an approved web applicant who did not register in time gets a new
        token (the old one withdrawn), shown on their status page; they are told by mail. The
        new token, the mail and what a re-run needs are written in one transaction; the
        homeserver's steps after it are safe to repeat, so a run after a crash finishes them
        and makes no second token nor mail."""
        done, earlier = await self.store.earlier_outcome("token.renew")
        if done:
            old, token, expires = earlier
            await new_registration_token(self.gateway, token, int(expires * 1000))
            await delete_registration_token(self.gateway, old)
            return await self.get(request_id)
        request = await self.get(request_id)
        if request.status != "approved" or request.source != "web" or request.reg_token is None:
            raise Conflict("token.not_renewable", id=str(request_id))
        if request.user_id is not None:
            raise Conflict("token.already_used", id=str(request_id), user=request.user_id)
        old = request.reg_token
        expires = time.time() + REGISTRATION_TOKEN_DAYS * 86400
        token = f"agora-{request.id}-{secrets.token_urlsafe(18)}"
        async with self.store.transaction() as db:
            if not await self.requests.set_reg_token(
                request.id, token, expires, replacing=old, db=db
            ):
                raise Conflict("token.not_renewable", id=str(request_id))
            await self.store.add_job(db, TOKEN_MAIL_JOB, {"request_id": request.id})
            await self.store.keep_outcome(db, "token.renew", [old, token, expires])
        await new_registration_token(self.gateway, token, int(expires * 1000))
        await delete_registration_token(self.gateway, old)
        await self.store.audit(admin, "vetting.token_renew", "ok", detail=f"#{request.id}")
        self.wake_jobs()
        return await self.get(request.id)

    async def send_token_mail(self, payload: dict) -> None:
        """The job that tells a web applicant their token was renewed (by mail: they have no
        Matrix account yet)."""
        request = await self.get(int(payload["request_id"]))
        if request.user_id is not None or not request.email or self.mailer is None:
            return
        locale = request.locale or self.config.locale
        expires = await self.requests.reg_expires(request.id) or 0
        await self.mailer.send(
            request.email,
            t("mail.token.subject", locale, id=request.id),
            t("mail.token.body", locale, name=request.name, days=REGISTRATION_TOKEN_DAYS),
            message_id=f"<agora-token-{request.id}-{int(expires)}@"
            f"{self.mailer.sender.rsplit('@', 1)[-1]}>",
        )

    async def link_registrations(self) -> int:
        """Approved web requests whose token has been used: link the account and provision it.
        One request lists the homeserver's tokens; only a used one is looked up (by its hash);
        nothing is asked while no token is waiting, nor for an expired one."""
        waiting = await self.requests.awaiting_registration()
        if not waiting:
            return 0
        known = await registration_tokens(self.gateway)
        linked = 0
        for request in waiting:
            record = known.get(request.reg_token or "")
            if record is None or not record.get("completed"):
                continue
            user_id = await user_registered_with(self.gateway, request.reg_token or "")
            if user_id is None and await self.store.once(f"token.legacy:{request.id}"):
                # Made before the module recorded hashes: asked once under the token itself.
                user_id = await user_registered_with(
                    self.gateway, request.reg_token or "", legacy=True
                )
            if user_id is None or not await self.requests.link_account(request.id, user_id):
                continue
            await self.store.audit(user_id, "vetting.registered", "ok", detail=f"#{request.id}")
            async with self.store.transaction() as db:
                await self.store.add_job(db, CONCLUDE_JOB, {"request_id": request.id})
            linked += 1
        if linked:
            self.wake_jobs()
        return linked

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
        await self.gateway.send(self.control.room_id, notice(text, reply_to=card_event))

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
            request = await self.get(request_id)
            if await self.requests.withdraw_decision(request_id, admin, redacts):
                await self.store.audit(admin, "vetting.withdraw", "ok", detail=f"#{request_id}")
                standing = await self.standing_of(request)
                await self.show_card(request)
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
                self.control.room_id, notice(text, reply_to=request.card_event or None)
            )
            return
        request = await self.requests.request_by_card(redacts)
        if request is not None and request.status == "pending":
            # A new card under a key of its own (the removed one cannot be edited any more);
            # the old id stays recorded until the new one is, so a run cut short runs again.
            await self.gateway.send(
                self.control.room_id, notice(t("vetting.card_reposted", loc, id=request.id))
            )
            await self._post_card(await self.get(request.id), replacing=redacts)

    async def _space_of(self, territory: str) -> str | None:
        for room in await self.store.managed_rooms(include_archived=False):
            if room.key == territory and room.is_space:
                return room.room_id
        return None

    def _territory_name(self, territory: str) -> str:
        found = self.config.network.find(territory)
        return found.name if found else territory

    # --- showing ----------------------------------------------------------------------------

    async def card_text(self, request: RequestRow) -> str:
        loc = self.config.locale
        result = await self.standing_of(request)
        profession = next(
            (p.label(loc) for p in DEFAULT_PROFESSIONS if p.id == request.profession),
            request.profession,
        )
        identifier = (
            f"RPPS {request.rpps}"
            if request.rpps
            else f"ADELI {request.adeli}"
            if request.adeli
            else "—"
        )
        lines = [
            t(
                "vetting.card.title",
                loc,
                id=request.id,
                name=request.name,
                status=t(f"vetting.status.{request.status}", loc),
            ),
            t(
                "vetting.card.fields",
                loc,
                profession=profession,
                identifier=identifier,
                territory=self._territory_name(request.territory),
                structure=request.structure or "—",
                email=request.email,
                user=request.user_id or "—",
            ),
        ]
        duplicates = await self.requests.duplicates(
            _as_data(request), request.user_id, exclude=request.id
        )
        if duplicates:
            lines.append(
                t(
                    "vetting.card.duplicates",
                    loc,
                    list=", ".join(f"#{i} ({field})" for i, field in duplicates),
                )
            )
        lines.append(
            t(
                "vetting.card.approvals",
                loc,
                n=len(result.approvals),
                required=result.required,
                who=", ".join(result.approvals) or "—",
            )
        )
        endorsers = [
            d.admin
            for d in await self.requests.decisions(request.id)
            if d.note == ENDORSEMENT and d.admin not in result.approvals
        ]
        if endorsers:
            lines.append(t("vetting.card.endorsed", loc, who=", ".join(endorsers)))
        if result.rejections:
            lines.append(t("vetting.card.rejections", loc, who=", ".join(result.rejections)))
        if request.status == "pending":
            lines.append(
                t("vetting.card.howto", loc, id=request.id, prefix=self.config.commands.prefix)
            )
        elif request.reason:
            lines.append(t("vetting.card.reason", loc, reason=request.reason))
        return "\n".join(lines)

    async def show_card(self, request: RequestRow) -> None:
        """Post the card once; afterwards edit it in place. Imported requests get none (one
        summary for the batch instead)."""
        if not self.control.room_id or request.batch:
            return
        text = await self.card_text(request)
        if request.card_event is None:
            await self._post_card(request, text=text)
        else:
            await self.gateway.send(self.control.room_id, edit(request.card_event, text))

    async def _post_card(
        self, request: RequestRow, *, text: str | None = None, replacing: str = ""
    ) -> None:
        """One transaction id per request (and per removed card it replaces): a card posted
        just before a crash is not posted again (the homeserver gives back the one it
        stored)."""
        text = text or await self.card_text(request)
        event_id = await self.gateway.send(
            self.control.room_id,
            notice(text),
            txn=effects.stable_key("card", str(request.id), *([replacing] if replacing else [])),
        )
        await self.requests.set_card(request.id, event_id)


def _as_data(request: RequestRow) -> JoinRequestData:
    return JoinRequestData(
        name=request.name,
        profession=request.profession,
        territory=request.territory,
        email=request.email,
        structure=request.structure,
        rpps=request.rpps,
        adeli=request.adeli,
    )
