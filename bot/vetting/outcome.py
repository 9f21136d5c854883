"""What follows a final decision, each step a durable job: the member provisioned (or, for a
web applicant with no account yet, a single-use registration token made), then told; the
registration tokens' accounts linked as they are used."""

from __future__ import annotations

import logging
import secrets
import time

from bot.capability import Core
from bot.errors import Conflict, MatrixError
from bot.events import MemberProvisioned
from bot.homeserver.privileges import privileges_for
from bot.i18n import t
from bot.mail import Mailer
from bot.matrix.content import notice
from bot.store.vetting import RequestRow, refused_key
from bot.vetting.decisions import CONCLUDE_JOB, directory_what
from bot.vetting.ledger import Ledger, Part
from bot.vetting.provisioning import deliveries, entitlement

log = logging.getLogger(__name__)

TELL_JOB = "vetting.tell_outcome"
IMPORT_NOTICE_JOB = "vetting.import_notice"  # queued by `agora-bot import-requests`
TOKEN_MAIL_JOB = "vetting.token_mail"
REGISTRATION_TOKEN_DAYS = 14


class Outcomes(Part):
    def __init__(self, core: Core, ledger: Ledger, mailer: Mailer | None):
        super().__init__(core)
        self.ledger = ledger
        self.mailer = mailer
        # Registration tokens and force-joins (through Agora's Synapse module, or the admin API).
        self.privileges = privileges_for(core.config, core.gateway, core.data_dir)

    async def conclude(self, payload: dict) -> None:
        """The job that follows a final decision: provisioning, then a job that tells the
        applicant (apart, so that opening direct chats never slows provisioning down). Safe to
        run again (member upsert; invites and joins of someone already there are no-ops)."""
        request = await self.ledger.get(int(payload["request_id"]))
        if request.status not in ("approved", "rejected"):
            return  # opened again meanwhile (admitted without the directory): not an outcome
        if request.status == "approved" and request.user_id:
            # A replacement's request: no territory of their own, only what absences lend.
            lent = await self.requests.replacement_for(request.id) is not None
            home = "" if lent else request.territory
            await self.requests.add_member(request.user_id, request.id, home)
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
        # (By outcome: a request the directory refused, then decided by the admins, is told
        # both times.)
        by = "directory" if await self.store.get(refused_key(request.id)) else "admins"
        told = {"request_id": request.id, "status": request.status, "by": by}
        if request.user_id and not await self.store.has_job(TELL_JOB, told):
            async with self.store.transaction() as db:
                await self.store.add_job(db, TELL_JOB, told)
            self.wake_jobs()

    async def tell_outcome(self, payload: dict) -> None:
        """The applicant told of the outcome, in their direct chat (opened if there is none)."""
        request = await self.ledger.get(int(payload["request_id"]))
        if request.user_id is None:
            return
        # Their language: the one they chose since (!langue), else the request's.
        locale = await self.store.language_of(request.user_id) or self.config.locale
        if payload.get("status", request.status) != request.status:
            return  # its outcome changed since (opened again): the new one is told
        if request.status == "approved" and not await self.requests.is_member(request.user_id):
            return  # revoked (or forgotten) meanwhile: not welcomed any more
        waiting_until = await self.requests.reg_expires(request.id) or 0.0
        if time.time() < waiting_until and not await self.core.direct.has_device(request.user_id):
            # A web applicant who has registered but not yet logged in: told once they have
            # a device (the job waits, retried like an outage, while their token would have
            # lasted), or they could never read it.
            raise MatrixError(None, "AGORA_NO_DEVICE", f"{request.user_id} has no device yet")
        if request.status == "approved":
            message = t(
                "vetting.applicant.approved",
                locale,
                id=request.id,
                territory=self.ledger.territory_name(request.territory),
            )
            given = await self.rooms_text(request.user_id)
            if given:
                message += "\n" + t("vetting.applicant.rooms", locale, rooms=given)
            message += "\n" + t(
                "vetting.applicant.directory", locale, prefix=self.config.commands.prefix
            )
        elif (what := await self.store.get(refused_key(request.id))) is not None:
            message = t(
                "vetting.applicant.directory_refused",
                locale,
                id=request.id,
                what=directory_what(what, locale),
                contact=self.config.admin_contact,
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
        room_id = room_id or await self.core.direct.room_for(user_id)
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
                await self.privileges.join(room_id, user_id)
            else:
                await self.gateway.invite(room_id, user_id, again_ok=True)
        await self.core.publish(MemberProvisioned(user_id))

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
        return self.config.network.name_of(key)

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
            token = (await self.ledger.get(request.id)).reg_token
            assert token is not None
            expires = await self.requests.reg_expires(request.id) or expires
        await self.privileges.new_registration_token(token, int(expires * 1000))
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
            await self.privileges.new_registration_token(token, int(expires * 1000))
            await self.privileges.delete_registration_token(old)
            return await self.ledger.get(request_id)
        request = await self.ledger.get(request_id)
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
        await self.privileges.new_registration_token(token, int(expires * 1000))
        await self.privileges.delete_registration_token(old)
        await self.store.audit(admin, "vetting.token_renew", "ok", detail=f"#{request.id}")
        self.wake_jobs()
        return await self.ledger.get(request.id)

    async def send_token_mail(self, payload: dict) -> None:
        """The job that tells a web applicant their token was renewed (by mail: they have no
        Matrix account yet)."""
        request = await self.ledger.get(int(payload["request_id"]))
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
        One request asks after the waiting tokens; only a used one is looked up (by its hash);
        nothing is asked while no token is waiting, nor for an expired one."""
        waiting = await self.requests.awaiting_registration()
        if not waiting:
            return 0
        known = await self.privileges.registration_tokens(
            [r.reg_token for r in waiting if r.reg_token]
        )
        linked = 0
        for request in waiting:
            record = known.get(request.reg_token or "")
            if record is None or not record.completed:
                continue
            user_id = await self.privileges.registered_with(request.reg_token or "")
            if user_id is None and await self.store.once(f"token.legacy:{request.id}"):
                # Made before the module recorded hashes: asked once under the token itself.
                user_id = await self.privileges.registered_with(
                    request.reg_token or "", legacy=True
                )
            if user_id is None:
                continue
            async with self.store.transaction() as db:  # linked and provisioned, or neither
                if not await self.requests.link_account(request.id, user_id, db=db):
                    continue
                await self.store.add_job(db, CONCLUDE_JOB, {"request_id": request.id})
            await self.store.audit(user_id, "vetting.registered", "ok", detail=f"#{request.id}")
            linked += 1
        if linked:
            self.wake_jobs()
        return linked
