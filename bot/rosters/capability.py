"""On-call rosters (listes de garde) as a capability: the slots the templates make for each
territory with an oncall room (the rules are in ``book``), a coordinator's file dropped in a
room, the morning post and the topic naming who is on duty, warnings and reminders so nothing
is left uncovered, swaps and releases (``swaps``), and a removed member's slots emptied."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import replace
from typing import Any

from bot import effects
from bot.capability import Capability, Core
from bot.errors import BadArgument, PermissionDenied, UserError
from bot.events import MemberRemoved
from bot.i18n import LOCALES, in_each_language, t
from bot.matrix.content import edit, notice
from bot.matrix.ids import server_of
from bot.matrix.sync import Reaction
from bot.rosters import calendars
from bot.rosters.book import RosterBook
from bot.rosters.importing import (
    decoded,
)
from bot.rosters.swaps import Swaps
from bot.scheduler import Again
from bot.store.rosters import SlotRow
from bot.territories.model import DUTY_MARK

log = logging.getLogger(__name__)


DAILY_JOB = "rosters.daily"  # a territory's morning post, every day
WATCH_JOB = "rosters.watch"  # unfilled slots, reminders, posts kept up to date
TELL_JOB = "rosters.tell"  # one notice about slots, said where it belongs
WATCH_EVERY = 900.0
FEED_SPAN = (31 * 86400.0, 400 * 86400.0)  # a feed's slots: a month back, a year ahead
YES = frozenset({"✅", "✔", "👍", "☑"})  # a ✅ on an offer's message: yes


class Rosters(Capability):
    name = "rosters"
    commands = ("bot.commands.rosters",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.book = RosterBook(lambda: core.config, core.store, core.clock)
        self.swaps = Swaps(core, self.book, TELL_JOB, self.changed)
        self.jobs = {DAILY_JOB: self.daily, WATCH_JOB: self.watch, TELL_JOB: self.tell}
        self.job_pools = {DAILY_JOB: 1, WATCH_JOB: 1}
        self.events = {MemberRemoved: self.on_removed, Reaction: self.on_reaction}

    async def start(self) -> None:
        """The slots of this month and the next, and the recurring jobs that post and watch
        them (one of each, whatever the restarts)."""
        await self.book.make_slots()
        now, store = self.core.clock(), self.core.store
        for territory in self.book.territories():
            await store.ensure_job(
                DAILY_JOB, {"territory": territory}, at=self.book.next_morning(now)
            )
        await store.ensure_job(WATCH_JOB, {}, at=now)
        self.core.wake_jobs()

    async def reloaded(self) -> None:
        await self.start()

    # --- the day's roster in the on-call rooms ------------------------------------------------

    async def daily(self, payload: dict[str, Any]) -> Again | None:
        """The recurring job: the day's roster posted at ``rosters.morning_post``."""
        territory = payload["territory"]
        if territory not in self.book.territories():
            return None  # no roster any more: the job ends
        await self.post_today(territory, fresh=True)
        return Again(self.book.next_morning(self.core.clock() + 60))

    async def post_today(self, territory: str, *, fresh: bool = False) -> None:
        """Today's roster in the territory's on-call rooms: posted (``fresh``: the morning's
        post), else the post already made today edited if the roster changed since."""
        day = self.book.today()
        key = f"roster.post:{territory}:{day.isoformat()}"
        posted: dict[str, list[str]] = await self.core.store.get(key, {})
        if not posted and not fresh:
            return
        text = await self.book.day_text(territory, day, self.config.locale)
        digest = effects.digest(text)
        gateway = self.core.gateway
        for room_id in await self.book.rooms(territory, "oncall"):
            earlier = posted.get(room_id)
            if earlier is None:
                event_id = await gateway.send(
                    room_id,
                    notice(text),
                    txn=effects.stable_key("roster-post", territory, day.isoformat(), room_id),
                )
                posted[room_id] = [event_id, digest]
            elif earlier[1] != digest:
                await gateway.send(
                    room_id,
                    edit(earlier[0], text),
                    txn=effects.stable_key("roster-edit", earlier[0], digest),
                )
                posted[room_id] = [earlier[0], digest]
            await self.core.store.put(key, posted)

    # --- a coordinator's file, dropped in a room ---------------------------------------------

    async def import_dropped(
        self, user: str, room_id: str, named: str | None, file: tuple[str, bytes], partial: bool
    ) -> tuple[bool, str]:
        """A CSV or ICS file a coordinator sent with ``!garde import``, checked and applied like
        ``agora-bot import-roster``; today's post follows at once. (Whether anything was
        applied, the row-by-row answer.)"""
        territory = await self.book.coordinated(user, room_id, named)
        name, data = file
        try:
            text = decoded(data)
        except ValueError as exc:
            raise BadArgument("roster.import.not_text", name=name[:80] or "—") from exc
        report, assigned = await self.book.import_file(
            territory, text, name=name, by=user, partial=partial
        )
        if report.applied:
            await self.post_today(territory)
        locale = await self.core.language(user)
        return report.applied, self.book.report_text(report, assigned, locale)

    # --- calendars ----------------------------------------------------------------------------

    async def calendar_link(self, user: str, renew: bool) -> str:
        """The member's calendar links (their slots; each roster they may read), made at the
        first ask or when ``renew`` (the old one stops working). Only a digest is kept, so a
        link is shown once."""
        rosters = await self.book.where(user, None)
        locale = await self.core.language(user)
        token = self._calendar_token(user)
        rerun = await self.book.slots.calendar_owner(_digest(token)) == user
        since = await self.book.slots.calendar_since(user)
        if since is not None and not renew and not rerun:
            day = self.book.day_name(since, locale)
            return t("roster.calendar.exists", locale, since=day, prefix=self.prefix)
        if not rerun:
            await self.book.slots.new_calendar_link(user, _digest(token))
            await self.core.store.audit(user, "roster.calendar", "renewed" if since else "made")
        base = f"{self.config.web.public_url.rstrip('/')}/calendrier/{token}"
        feeds = "\n".join(
            f"• {self.book.territory_name(tid)} : {base}/{tid}.ics" for tid in rosters
        )
        return t(
            "roster.calendar.made", locale, mine=f"{base}.ics", feeds=feeds, prefix=self.prefix
        )

    def _calendar_token(self, user: str) -> str:
        """A link's secret: derived from the command that asks for it (with a key kept in the
        data directory, apart from the database), so that the command run again after a crash
        shows the same link it made; random without one."""
        event = effects.current_event()
        if event is None:
            return secrets.token_urlsafe(24)
        path = self.core.data_dir / "calendar.key"
        if not path.exists():  # made whole, then put in place (a second maker loses)
            fresh = path.with_name(f"calendar.key.{secrets.token_hex(4)}")
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
            with contextlib.suppress(FileExistsError):
                os.link(fresh, path)
            fresh.unlink()
        mac = hmac.new(path.read_bytes(), f"calendar\x1f{user}\x1f{event}".encode(), "sha256")
        return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")

    async def calendar_revoke(self, user: str) -> str:
        done = await self.book.slots.drop_calendar_link(user)
        if done:
            await self.core.store.audit(user, "roster.calendar", "revoked")
        locale = await self.core.language(user)
        return t("roster.calendar.revoked" if done else "roster.calendar.none", locale)

    async def calendar_owner(self, token: str) -> str | None:
        """Whose calendar link ``token`` is (None: unknown or revoked), for the feeds that
        join theirs (the workshops one registered for)."""
        return await self.book.slots.calendar_owner(_digest(token))

    async def calendar(self, token: str, territory: str | None) -> bytes | None:
        """A feed asked for on the web: the link's member's slots, or (``territory``) that
        roster if they may still read it. None when the link is unknown, revoked or the roster
        is not theirs (all alike to the asker)."""
        user = await self.book.slots.calendar_owner(_digest(token))
        if user is None:
            return None
        locale, now = self.config.locale, self.core.clock()
        since, until = now - FEED_SPAN[0], now + FEED_SPAN[1]
        domain = server_of(self.core.gateway.user_id)
        if territory is None:
            rows = await self.book.slots.slots(None, since, until, member=user)
            return calendars.feed(
                t("roster.ics.mine_title", locale),
                rows,
                lambda s: t(
                    "roster.ics.mine",
                    locale,
                    role=self.book.role_name(s.role, locale),
                    territory=self.book.territory_name(s.territory),
                ),
                domain=domain,
                now=now,
            )
        try:
            allowed = await self.book.where(user, None)
        except PermissionDenied:
            return None
        if territory not in allowed:
            return None
        names = await self.book.names()
        rows = await self.book.slots.slots(territory, since, until)
        return calendars.feed(
            t("roster.ics.title", locale, territory=self.book.territory_name(territory)),
            rows,
            lambda s: t(
                "roster.ics.slot",
                locale,
                role=self.book.role_name(s.role, locale),
                who=(names.get(s.member) or s.member) if s.member else t("roster.unfilled", locale),
            ),
            domain=domain,
            now=now,
        )

    @property
    def prefix(self) -> str:
        return self.config.commands.prefix

    # --- nothing left uncovered ---------------------------------------------------------------

    async def watch(self, payload: dict[str, Any]) -> Again:
        """The recurring job: a slot still unfilled ``warn_before`` ahead announced (again 24 h
        ahead) in the replacements room and to the coordinators; the member on duty reminded
        ``remind_before`` ahead; today's posts kept up to date. Each said once (noted with the
        job that says it), and again only if the slot changes hands."""
        now, config = self.core.clock(), self.config.rosters
        horizon = now + max(config.warn_before, config.remind_before)
        slots = self.book.slots
        await self.swaps.tidy()
        for territory in self.book.territories():
            await self.post_today(territory)
            await self.show_on_duty(territory)
            name = self.book.territory_name(territory)
            for slot in await slots.slots(territory, now, horizon):
                if slot.start < now:
                    continue
                ahead = slot.start - now

                def line(loc: str, slot: SlotRow = slot) -> str:
                    return self.book.slot_line(slot, {}, loc, False)

                if slot.member is None:
                    for key, within in (
                        ("roster.warn", config.warn_before),
                        ("roster.warn24", 86400.0),
                    ):
                        if ahead <= within:
                            hours = round(within / 3600)
                            texts = {
                                loc: t(key, loc, territory=name, slot=line(loc), hours=hours)
                                for loc in LOCALES
                            }
                            await slots.notice_once(
                                slot.id, key, TELL_JOB, _about(f"{key}:{slot.id}", texts, territory)
                            )
                elif ahead <= config.remind_before:
                    texts = {loc: t("roster.remind", loc, slot=line(loc)) for loc in LOCALES}
                    key = f"roster.remind:{slot.id}:{slot.member}"
                    payload = {"key": key, "texts": texts, "user": slot.member}
                    await slots.notice_once(slot.id, "roster.remind", TELL_JOB, payload)
        self.core.wake_jobs()
        # Next round: in a quarter of an hour, or when a slot begins or ends if sooner (the
        # topic says who is on duty from the first minute).
        soon = await slots.slots(None, now, now + WATCH_EVERY)
        edges = [x for s in soon for x in (s.start, s.end) if now < x < now + WATCH_EVERY]
        return Again(min(edges, default=now + WATCH_EVERY - 1) + 1)

    async def tell(self, payload: dict[str, Any]) -> None:
        """The job that says one notice: to a member (``user``), or about a territory's slots
        in its replacements room (else its on-call rooms) and to its coordinators (``only``:
        ``rooms`` or ``coordinators``). Sent with stable transaction ids, so a retry does not
        say it twice; a message about an offer (``offer``, ``role``) is remembered, for the ✅
        on it."""
        key = payload["key"]
        texts: dict[str, str] = payload.get("texts") or {}
        region = texts.get(self.config.locale) or payload.get("text") or ""
        territory, only = payload.get("territory"), payload.get("only")
        rooms: list[str] = []
        people: list[str] = [payload["user"]] if payload.get("user") else []
        if territory:
            if only != "coordinators":
                rooms = await self.book.rooms(territory, "replacements", "oncall")
            if only != "rooms":
                people = self.book.coordinators(territory)
        gateway = self.core.gateway
        sent = []
        for room_id in rooms:
            sent.append(
                await gateway.send(
                    room_id, notice(region), txn=effects.stable_key("roster-tell", key, room_id)
                )
            )
        for user_id in people:
            room_id = await self.core.direct.room_for(user_id)
            text = texts.get(await self.core.language(user_id)) or region  # theirs
            sent.append(
                await gateway.send(
                    room_id, notice(text), txn=effects.stable_key("roster-tell", key, user_id)
                )
            )
        if payload.get("offer"):
            for event_id in sent:
                await self.book.slots.note_offer_event(event_id, payload["offer"], payload["role"])

    async def changed(self, territory: str) -> None:
        """A territory's roster changed: today's post and the on-call rooms' topics follow."""
        await self.post_today(territory)
        await self.show_on_duty(territory)

    async def show_on_duty(self, territory: str) -> None:
        """The on-call rooms' topic names who is on duty now, after the declared topic (the
        reconciler leaves this line alone)."""
        found = self.config.network.find(territory)
        if found is None:
            return
        line = DUTY_MARK + await self.book.on_duty_text(territory, self.config.locale)
        for spec in found.rooms:
            if spec.kind != "oncall":
                continue
            room_id = await self.core.store.managed_room_id(f"{territory}.{spec.id}")
            if room_id is None:
                continue
            topic = f"{spec.topic}\n{line}" if spec.topic else line
            key = f"roster.topic:{room_id}"
            if await self.core.store.get(key) == topic:
                continue
            await self.core.gateway.put_state(room_id, "m.room.topic", {"topic": topic})
            await self.core.store.put(key, topic)

    async def on_reaction(self, r: Reaction) -> bool:
        """A ✅ on a message about an offer: the colleague accepts, someone takes a released
        slot, the coordinator approves (from a device their identity signed)."""
        if r.key.replace("\ufe0f", "") not in YES or r.sender == self.core.gateway.user_id:
            return False
        found = await self.book.slots.offer_of_event(r.relates_to)
        if found is None:
            return False
        offer, role = found
        core = self.core
        if not r.encrypted:
            return True  # rosters' rooms and direct chats are encrypted: a forgery at best
        if (
            r.device_curve
            and r.megolm_session
            and r.megolm_index is not None
            and not await core.store.first_sight(
                r.device_curve, r.megolm_session, r.megolm_index, r.event_id
            )
        ):
            return True  # the same ciphertext posted again: a replay decides nothing
        try:
            if role == "coordinator":
                reason = await core.trust.check(r.sender, r.device_curve, r.device_ed)
                if reason is not None:
                    raise PermissionDenied(
                        reason, prefix=self.config.commands.prefix, user=r.sender
                    )
                text = await self.swaps.approve(r.sender, offer.id)
            elif role == "colleague":
                text = await self.swaps.accept(r.sender, offer.id)
            else:
                text = await self.swaps.take(r.sender, offer.id)
        except UserError as exc:
            text = exc.render(await core.language(r.sender))
        await core.tell(r.sender, text)
        return True

    async def on_removed(self, event: MemberRemoved) -> None:
        """A revoked or forgotten member's slots to come are emptied, and the territories told
        which ones are now to fill (both in one transaction)."""

        def notices(emptied: list[SlotRow]) -> list[tuple[str, dict[str, Any]]]:
            jobs = []
            for territory in sorted({s.territory for s in emptied}):
                mine = [s for s in emptied if s.territory == territory]

                def text(loc: str, mine: list[SlotRow] = mine) -> str:
                    lines = "\n".join(
                        self.book.slot_line(replace(s, member=None), {}, loc, False) for s in mine
                    )
                    return t("roster.emptied", loc, user=event.user_id, slots=lines)

                key = f"roster.emptied:{mine[0].id}:{event.user_id}"
                jobs.append((TELL_JOB, _about(key, in_each_language(text), territory)))
            return jobs

        await self.book.slots.empty_from(event.user_id, self.core.clock(), notices)
        await self.book.slots.drop_calendar_link(event.user_id)
        await self.book.slots.close_offers(member=event.user_id)
        self.core.wake_jobs()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _about(key: str, texts: dict[str, str], territory: str) -> dict[str, Any]:
    return {"key": key, "texts": texts, "territory": territory}
