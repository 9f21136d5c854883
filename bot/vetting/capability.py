"""Vetting as a capability: requests in (a direct chat, the web form, an imported list),
cards in the control room, N distinct admins' decisions, the outcome once (provisioning, the
applicant told, a registration token for a web applicant)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from bot.capability import Capability, Core
from bot.errors import AgoraError, Conflict, MatrixError
from bot.events import MemberRemoved
from bot.i18n import t
from bot.mail import Mailer
from bot.matrix.content import notice
from bot.matrix.ids import host_of
from bot.matrix.sync import Reaction, Redaction
from bot.store.vetting import RequestRow, VettingStore, refused_key
from bot.vetting.cards import Cards
from bot.vetting.decisions import CONCLUDE_JOB, Decisions, directory_what
from bot.vetting.intake import CONFIRM_MAIL_JOB, EXPIRE_JOB, Intake
from bot.vetting.ledger import Ledger
from bot.vetting.links import hash_token, web_secret
from bot.vetting.outcome import IMPORT_NOTICE_JOB, TELL_JOB, TOKEN_MAIL_JOB, Outcomes
from bot.vetting.quorum import Standing

log = logging.getLogger(__name__)

REGISTRATION_POLL = 3.0  # seconds between checks of the approved web requests' tokens


class Vetting(Capability):
    name = "vetting"
    commands = ("bot.commands.vetting",)

    def __init__(self, core: Core):
        super().__init__(core)
        config = core.config
        mailer = Mailer(
            config.smtp,
            core.data_dir / "mail",
            f"{config.bot.localpart}@{host_of(config.homeserver.server_name)}",
        )
        self.requests = VettingStore(core.store)
        self.ledger = Ledger(core)
        self.cards = Cards(core, self.ledger)
        self.decisions = Decisions(core, self.ledger, self.cards)
        self.intake = Intake(core, self.ledger, self.cards, self.decisions, mailer)
        self.outcomes = Outcomes(core, self.ledger, mailer)
        self.jobs = {
            CONCLUDE_JOB: self.outcomes.conclude,
            CONFIRM_MAIL_JOB: self.intake.send_confirmation,
            EXPIRE_JOB: self.intake.expire,
            IMPORT_NOTICE_JOB: self.outcomes.import_notice,
            TELL_JOB: self.outcomes.tell_outcome,
            TOKEN_MAIL_JOB: self.outcomes.send_token_mail,
        }
        self.job_priorities = {TELL_JOB: 1}  # telling someone can wait for provisioning
        self.events = {Reaction: self.on_reaction, Redaction: self.on_redaction}

    def loops(self) -> dict[str, Coroutine[Any, Any, None]]:
        return {"registrations": self._watch_registrations()}

    async def _watch_registrations(self) -> None:
        """Approved web requests: link the account made with each one's token, once used."""
        while True:
            await asyncio.sleep(REGISTRATION_POLL)
            try:
                await self.outcomes.link_registrations()
            except MatrixError as exc:
                log.warning("checking registration tokens: %s", exc)

    async def get(self, request_id: int) -> RequestRow:
        return await self.ledger.get(request_id)

    async def standing_of(self, request: RequestRow) -> Standing:
        return await self.ledger.standing_of(request)

    async def forget(self, user_id: str, by: str) -> int:
        """`!forget`: someone who is not a member, with nothing pending, erased (their
        requests, conversation, notes; their directory entry withdrawn). How many requests
        were erased."""
        if await self.requests.is_member(user_id):
            raise Conflict("forget.member", user=user_id)
        if await self.requests.requests(status="pending", user_id=user_id):
            raise Conflict("forget.pending", user=user_id)
        erased = await self.requests.forget(user_id)
        await self.core.publish(MemberRemoved(user_id, "forgotten"))
        await self.core.store.audit(
            by, "vetting.forget", "ok", detail=f"{user_id}: {erased} request(s) erased"
        )
        return erased

    async def converse(self, sender: str, room_id: str, text: str) -> str | None:
        """A plain message in a direct chat: the next step of the person's conversation, else
        their answer to an admin's question about their request."""
        said = await self.intake.converse(sender, room_id, text)
        if said is None:
            said = await self.decisions.answered(sender, text)
        return said

    # --- events in the control room -----------------------------------------------------------

    async def on_reaction(self, r: Reaction) -> bool:
        """An admin's reaction on a card counts only encrypted, from a device their pinned
        identity signed, and never as a replay of an earlier ciphertext."""
        core = self.core
        if r.room_id != core.control.room_id:
            return False
        if r.sender not in self.config.admins:
            return True
        if not r.encrypted:
            await core.store.audit(
                r.sender, "vetting.reaction", "ignored", room_id=r.room_id, detail="unencrypted"
            )
            if await core.store.once(f"unencrypted:{r.room_id}:{r.sender}"):
                await core.control.announce(
                    "control.unencrypted_ignored",
                    {"user": r.sender, "prefix": self.config.commands.prefix},
                )
            return True
        if (
            r.device_curve
            and r.megolm_session
            and r.megolm_index is not None
            and not await core.store.first_sight(
                r.device_curve, r.megolm_session, r.megolm_index, r.event_id
            )
        ):
            # The same ciphertext as an earlier event, posted again: a replay decides nothing.
            await core.store.audit(
                r.sender, "vetting.reaction", "ignored", room_id=r.room_id, detail="replayed"
            )
            return True
        reason = await core.trust.check(r.sender, r.device_curve, r.device_ed)
        if reason is not None:
            await core.store.audit(
                r.sender, "vetting.reaction", "refused", room_id=r.room_id, detail=reason
            )
            prefix = self.config.commands.prefix
            text = t(reason, self.config.locale, prefix=prefix, user=r.sender)
            with contextlib.suppress(AgoraError):
                await core.gateway.send(r.room_id, notice(text, reply_to=r.relates_to))
            theirs = t(reason, await core.language(r.sender), prefix=prefix, user=r.sender)
            with contextlib.suppress(AgoraError):
                await core.tell(r.sender, theirs)
            return True
        await self.decisions.on_reaction(r.sender, r.relates_to, r.key)
        return True

    async def on_redaction(self, r: Redaction) -> None:
        """Something withdrawn in the control room: an admin's ✅, or a card."""
        if r.room_id == self.core.control.room_id:
            await self.decisions.on_redaction(r.sender, r.redacts)

    # --- the web join form's side -------------------------------------------------------------

    async def web_secret(self) -> bytes:
        return await web_secret(self.core.store)

    async def file_web_request(
        self, values: dict[str, str], status_hash: str, locale: str
    ) -> RequestRow:
        data = self.intake.validated(values, locale)
        return await self.intake.file_from_web(data, status_hash=status_hash, locale=locale)

    async def confirm_web_request(self, token: str) -> tuple[str, RequestRow | None]:
        return await self.intake.confirm_email(token)

    async def web_request_to_confirm(self, token: str) -> RequestRow | None:
        return await self.requests.request_by_email_hash(hash_token(token))

    async def count_web_post(self, client: str, limit: int) -> bool:
        return await self.core.store.count_post(client, limit)

    async def directory_refusal(self, request: RequestRow, locale: str) -> str | None:
        """Why the national directory refused ``request`` and whom to write to, in
        ``locale``; None when it did not refuse it."""
        what = await self.core.store.get(refused_key(request.id))
        if request.status != "rejected" or not what:
            return None
        return t(
            "vetting.applicant.directory_refused",
            locale,
            id=request.id,
            what=directory_what(what, locale),
            contact=self.config.admin_contact,
        )

    async def web_request(self, status_hash: str) -> tuple[RequestRow, int, int] | None:
        row = await self.requests.request_by_status_hash(status_hash)
        if row is None:
            return None
        standing = await self.ledger.standing_of(row)
        return row, len(standing.approvals), standing.required
