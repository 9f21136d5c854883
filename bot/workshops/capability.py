"""Workshops and events (ateliers) as a capability.

An animator (or an admin) creates one for a territory (``!atelier créer "RGPD et ROR"
2027-03-14 14h --places 40``): the bot announces it in the territory's community room (the
nearest one going up), and edits that announcement (``m.replace``) as seats are taken. People
register with a ✅ on the announcement or ``!atelier inscrire <n>``; when it is full they wait,
first come first served, and the first one waiting gets the seat someone gives up, and is told
in a direct chat. Those registered are reminded 7 days and 1 day before (durable jobs: once,
whatever the restarts). When it ends, the bot opens a thread on the announcement for the
experience report, pins the files posted there, and (a recurring one) makes the next
occurrence. Its events go into the territory's calendar feed beside the roster's.

A community room shared with peer regions carries the announcement to their members: their ✅
reaches this bot like any other, and anyone joined to the announcement's room may register.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot import effects
from bot.capability import Capability, Core
from bot.dates import parse_day
from bot.errors import (
    BadArgument,
    Conflict,
    MatrixError,
    NotFound,
    PermissionDenied,
    Undecryptable,
)
from bot.events import MemberRemoved
from bot.i18n import format_duration, t, when
from bot.matrix.content import MEDIA_TYPES, edit, notice
from bot.matrix.gateway import path_part
from bot.matrix.ids import server_of
from bot.matrix.sync import Reaction, Redaction
from bot.moderation.policy import animated_by
from bot.scheduler import Again
from bot.store.vetting import VettingStore
from bot.store.workshops import REGISTERED, WAITING, Jobs, WorkshopRow, WorkshopStore
from bot.vetting.provisioning import entitlement
from bot.workshops import seats
from bot.workshops.wording import next_start, read, starts_at

log = logging.getLogger(__name__)

ANNOUNCE_JOB = "workshops.announce"  # the announcement posted, or edited as seats go
REMIND_JOB = "workshops.remind"  # those registered reminded, once per reminder
TELL_JOB = "workshops.tell"  # one person told one thing (promoted, registered by ✅)
END_JOB = "workshops.end"  # over: the report thread, the next occurrence
PINS_JOB = "workshops.pins"  # the files of the report thread pinned (recurring)
YES = frozenset({"✅", "✔", "👍", "☑"})
ROOM_KINDS = ("community",)  # where the announcement goes, the first the territory has
FEED_SPAN = (31 * 86400.0, 366 * 86400.0)  # a calendar shows a month back, a year ahead
REMINDERS = {"first": "workshop.remind.first", "last": "workshop.remind.last"}
TELLS = {
    "promoted": "workshop.tell.promoted",
    "registered": "workshop.tell.registered",
    "waiting": "workshop.tell.waiting",
    "cancelled": "workshop.tell.cancelled",
}
RECURRENCES = {
    "weekly": "workshop.card.recurrence.weekly",
    "monthly": "workshop.card.recurrence.monthly",
    "quarterly": "workshop.card.recurrence.quarterly",
}
YOURS = {REGISTERED: "workshop.yours.registered", WAITING: "workshop.yours.waiting"}


class RosterCalendars(Protocol):
    """The rosters' calendar feeds, which a territory's events join."""

    async def calendar(self, token: str, territory: str | None) -> bytes | None: ...

    async def calendar_owner(self, token: str) -> str | None: ...


class Workshops(Capability):
    name = "workshops"
    commands = ("bot.commands.workshops",)

    def __init__(self, core: Core, rosters: RosterCalendars):
        super().__init__(core)
        self.rosters = rosters
        self.workshops = WorkshopStore(core.store)
        self.members = VettingStore(core.store)
        self.jobs = {
            ANNOUNCE_JOB: self.announce,
            REMIND_JOB: self.remind,
            TELL_JOB: self.tell,
            END_JOB: self.end,
            PINS_JOB: self.pins,
        }
        self.events = {
            Reaction: self.on_reaction,
            Redaction: self.on_redaction,
            MemberRemoved: self.on_removed,
        }
        # Seats are counted and the announcement edited one change at a time.
        self.lock = asyncio.Lock()
        self.announcing = asyncio.Lock()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.rosters.timezone)

    # --- creating ------------------------------------------------------------------------------

    async def create(self, user: str, room_id: str, text: str, locale: str) -> str:
        """``!atelier créer "titre" <jour> <heure> [--options]``: the workshop recorded with its
        announcement, reminders and end queued, in one transaction."""
        now = self.core.clock()
        said = read(text, lambda s: parse_day(s, self.tz, now))
        territory = await self._territory(user, room_id, said.territory)
        start = starts_at(said.day, said.time, self.tz)
        if start <= now:
            raise BadArgument("workshop.past")
        duration = said.duration or self.config.workshops.default_duration
        if not await self._announcement_room(territory):
            raise NotFound("workshop.no_room", territory=territory)
        row, fresh = await self.workshops.add(
            territory=territory,
            title=said.title,
            start=start,
            end=start + duration,
            recurrence=said.recurrence,
            seats=said.seats,
            link=said.link,
            place=said.place,
            author=user,
            jobs=self._timed_jobs(start, start + duration, now),
            cause=effects.current_event(),
        )
        if fresh:
            await self.core.store.audit(user, "workshop.create", "ok", detail=f"n°{row.id}")
        self.core.wake_jobs()
        card = self.card_text(row, [], locale, how=False)
        return t("workshop.created", locale, n=row.id, card=card)

    def _timed_jobs(self, start: float, end: float, now: float) -> Jobs:
        """A new occurrence's announcement, its reminders (those still ahead) and its end."""
        config = self.config.workshops
        jobs: Jobs = [(ANNOUNCE_JOB, {}, None), (END_JOB, {}, end)]
        for which, ahead in (("first", config.first_reminder), ("last", config.last_reminder)):
            if start - ahead > now:
                jobs.append((REMIND_JOB, {"which": which}, start - ahead))
        return jobs

    async def _territory(self, user: str, room_id: str, named: str | None) -> str:
        """The territory a workshop is for: the one named, else the room's, else the one the
        animator animates; only its animators (or those above) and the admins make one."""
        network, admins = self.config.network, self.config.admins
        animated = [x.id for x in animated_by(user, network, admins)]
        if named is not None:
            if network.find(named) is None:
                raise NotFound("workshop.unknown_territory", territory=named[:40])
            territory = named
        elif key := await self.core.store.managed_key(room_id):
            territory = key.split(".", 1)[0]
        elif user not in admins and animated:
            tops = [x for x in animated if not any(
                x != y and x in {s.id for s in network.subtree(y)} for y in animated
            )]  # fmt: skip
            if len(tops) != 1:
                raise BadArgument("workshop.which_territory", choices=", ".join(tops[:10]))
            territory = tops[0]
        else:
            tops = [x.id for x, above in network.walk() if not above]
            raise BadArgument("workshop.which_territory", choices=", ".join(tops[:10]) or "—")
        if user not in admins and territory not in animated:
            raise PermissionDenied("workshop.not_animator", territory=territory)
        return territory

    # --- registering ---------------------------------------------------------------------------

    async def register(
        self, user: str, n: int, via: str, locale: str, reaction: str | None = None
    ) -> str:
        """A seat for ``user`` (``!atelier inscrire <n>`` or ``reaction``, a ✅), else a place
        on the waiting list; the announcement edited."""
        row = await self._open(n)
        if not await self._may_register(user, row):
            raise PermissionDenied("workshop.not_for_you", n=n)
        jobs: Jobs = [(ANNOUNCE_JOB, {}, None)]
        if via == "reaction":  # a reaction gets no answer where it was made: told in private
            jobs.append((TELL_JOB, {"what": "registered"}, None))
        async with self.lock:
            row = await self._open(n)  # still open: not cancelled meanwhile
            done = await self.workshops.register(row, user, via, jobs, seats.place, reaction)
        if done.fresh:
            await self.core.store.audit(user, "workshop.register", done.status, detail=f"n°{n}")
            self.core.wake_jobs()
        key = {
            (REGISTERED, True): "workshop.registered",
            (REGISTERED, False): "workshop.already_registered",
            (WAITING, True): "workshop.waiting",
            (WAITING, False): "workshop.already_waiting",
        }[(done.status, done.fresh)]
        return t(key, locale, n=n, title=row.title, when=self._when(row, locale))

    async def withdraw(self, user: str, n: int, locale: str) -> str:
        """``!atelier désinscrire <n>``: the seat given up; the first one waiting gets it (and
        is told), the announcement edited."""
        row = await self._open(n)
        async with self.lock:
            had, up = await self.workshops.withdraw(
                row, user, [(ANNOUNCE_JOB, {}, None)], TELL_JOB, seats.promoted
            )
        if had is None:
            raise NotFound("workshop.not_registered", n=n)
        await self.core.store.audit(user, "workshop.withdraw", had, detail=f"n°{n}")
        for someone in up:
            await self.core.store.audit(someone, "workshop.promoted", "ok", detail=f"n°{n}")
        self.core.wake_jobs()
        return t("workshop.withdrawn", locale, n=n, title=row.title)

    async def cancel(self, user: str, n: int, locale: str) -> str:
        """``!atelier annuler <n>``: the workshop called off (a recurring one makes no next
        occurrence), its announcement says so and everyone registered or waiting is told."""
        row = await self.workshops.get(n)
        if row is None:
            raise NotFound("workshop.unknown", n=n)
        animated = {x.id for x in animated_by(user, self.config.network, self.config.admins)}
        if user != row.author and user not in self.config.admins and row.territory not in animated:
            raise PermissionDenied("workshop.not_yours", n=n)
        async with self.lock:  # nobody registers between the list and the change
            people = [s.user for s in await self.workshops.seats(row.id)]
            jobs: Jobs = [(ANNOUNCE_JOB, {}, None)]
            jobs += [(TELL_JOB, {"what": "cancelled", "user": who}, None) for who in people]
            if not await self.workshops.move(row.id, frm="open", to="cancelled", jobs=jobs):
                raise Conflict("workshop.not_open", n=n)
        await self.core.store.audit(user, "workshop.cancel", "ok", detail=f"n°{n}")
        self.core.wake_jobs()
        return t("workshop.cancelled", locale, n=n, title=row.title)

    async def listing(self, user: str, named: str | None, locale: str) -> str:
        """``!ateliers [territoire]``: the workshops to come (of a territory and those below
        it), with the seats left and whether the asker has one."""
        territories: list[str] | None = None
        if named:
            found = self.config.network.find(named.lower())
            if found is None:
                raise NotFound("workshop.unknown_territory", territory=named[:40])
            territories = [x.id for x in self.config.network.subtree(found.id)]
        rows = await self._visible(
            user, await self.workshops.upcoming(territories, self.core.clock())
        )
        mine = await self.workshops.of_user(user)
        lines = []
        for row in rows[:30]:
            taken = await self.workshops.seats(row.id)
            line = t(
                "workshop.line",
                locale,
                n=row.id,
                title=row.title,
                when=self._when(row, locale),
                territory=self.config.network.name_of(row.territory),
                seats=self._seats_text(row, taken, locale),
            )
            if row.id in mine:
                line += " — " + t(YOURS[mine[row.id]], locale)
            lines.append(line)
        return "\n".join(lines) or t("workshop.none", locale)

    async def _visible(self, user: str, rows: list[WorkshopRow]) -> list[WorkshopRow]:
        """What a listing shows someone: what was announced where they may be (the
        announcement's room: theirs as a vetted member, or joined, for a peer region's member),
        the territories they animate, every workshop to an admin."""
        config = self.config
        animated = {x.id for x in animated_by(user, config.network, config.admins)}
        member = await self.members.member_info(user)
        given = entitlement(member, config.network, config.vetting.provisioning) if member else None
        seen: dict[str, bool] = {}
        shown = []
        for row in rows:
            if row.territory in animated:
                shown.append(row)
                continue
            room_id = row.room_id
            if room_id is None:
                continue
            if room_id not in seen:
                key = await self.core.store.managed_key(room_id)
                seen[room_id] = bool(given and key and given.allows(key)) or (
                    (await self.core.gateway.members(room_id)).get(user) == "join"
                )
            if seen[room_id]:
                shown.append(row)
        return shown

    async def _open(self, n: int) -> WorkshopRow:
        row = await self.workshops.get(n)
        if row is None or row.status == "cancelled":
            raise NotFound("workshop.unknown", n=n)
        if row.status != "open" or row.start <= self.core.clock():
            raise Conflict("workshop.begun", n=n)
        return row

    async def _may_register(self, user: str, row: WorkshopRow) -> bool:
        """Whoever may see it (``_visible``): a member of this region given the room it was
        announced in, or joined to it (a peer region's member in a shared room), its
        territory's animators and the admins. A member of another territory who guessed its
        number is not given a seat, nor so its link."""
        return user in self.config.admins or bool(await self._visible(user, [row]))

    async def on_reaction(self, r: Reaction) -> bool:
        """A ✅ on an announcement registers its sender (an unencrypted one too: registering
        for a workshop is not a privilege, and Element sends reactions in the clear)."""
        if r.key.replace("\ufe0f", "") not in YES or r.sender == self.core.gateway.user_id:
            return False
        row = await self.workshops.of_announcement(r.relates_to)
        if row is None:
            return False
        try:
            locale = await self.core.language(r.sender)
            await self.register(r.sender, row.id, "reaction", locale, reaction=r.event_id)
        except (NotFound, Conflict, PermissionDenied) as exc:
            log.info("a ✅ on workshop %s not taken: %s", row.id, exc.key)
        return True

    async def on_redaction(self, r: Redaction) -> None:
        """The ✅ that took a seat removed (Element's "remove"): the seat given up, as with
        ``!atelier désinscrire`` (the first one waiting promoted), while it has not begun."""
        found = await self.workshops.of_reaction(r.redacts)
        if found is None or found[1] != r.sender:
            return
        try:
            await self.withdraw(r.sender, found[0], await self.core.language(r.sender))
        except (NotFound, Conflict) as exc:
            log.info("a ✅ withdrawn on workshop %s changes nothing: %s", found[0], exc.key)

    async def on_removed(self, event: MemberRemoved) -> None:
        """A revoked or forgotten member gives up their seats (the first waiting promoted)."""
        for workshop_id in await self.workshops.of_user(event.user_id):
            row = await self.workshops.get(workshop_id)
            if row is not None and row.status == "open":
                async with self.lock:
                    await self.workshops.withdraw(
                        row, event.user_id, [(ANNOUNCE_JOB, {}, None)], TELL_JOB, seats.promoted
                    )
        await self.workshops.forget(event.user_id)
        self.core.wake_jobs()

    # --- the jobs ------------------------------------------------------------------------------

    async def announce(self, payload: dict[str, Any]) -> None:
        """The announcement in the territory's community room: posted once, then edited as
        seats are taken and given up (each version once, whatever the restarts)."""
        async with self.announcing:
            row = await self.workshops.get(int(payload["workshop"]))
            if row is None:
                return
            text = self.card_text(row, await self.workshops.seats(row.id), self.config.locale)
            key = f"workshop.card:{row.id}"
            posted: dict[str, Any] = await self.core.store.get(key, {})
            digest = effects.digest(text)
            if not posted:
                rooms = await self._announcement_room(row.territory)
                if not rooms:
                    return
                event_id = await self.core.gateway.send(
                    rooms[0], notice(text), txn=effects.stable_key("workshop-card", str(row.id))
                )
                posted = {"room": rooms[0], "event": event_id, "digest": digest, "version": 0}
                await self.workshops.set_announcement(row.id, rooms[0], event_id)
            elif posted["digest"] != digest:
                version = int(posted["version"]) + 1
                await self.core.gateway.send(
                    posted["room"],
                    edit(posted["event"], text),
                    txn=effects.stable_key("workshop-edit", posted["event"], str(version), digest),
                )
                posted = {**posted, "digest": digest, "version": version}
            await self.core.store.put(key, posted)

    async def remind(self, payload: dict[str, Any]) -> None:
        """A reminder to each person registered, in their language, in a direct chat: once
        (each send's transaction id names the workshop, the reminder and the person)."""
        row = await self.workshops.get(int(payload["workshop"]))
        if row is None or row.status != "open" or row.start <= self.core.clock():
            return
        which = str(payload["which"])
        for user in await self.workshops.registered(row.id):
            locale = await self.core.language(user)
            text = t(
                REMINDERS[which],
                locale,
                n=row.id,
                title=row.title,
                when=self._when(row, locale),
                where=self._where(row, locale),
            )
            room_id = await self.core.direct.room_for(user)
            await self.core.gateway.send(
                room_id,
                notice(text),
                txn=effects.stable_key("workshop-remind", str(row.id), which, user),
            )

    async def tell(self, payload: dict[str, Any]) -> None:
        """One person told one thing: promoted from the waiting list, or registered (or put
        on the waiting list) by their ✅."""
        row = await self.workshops.get(int(payload["workshop"]))
        if row is None:
            return
        user, what = str(payload["user"]), str(payload["what"])
        if what == "registered" and payload.get("status") == WAITING:
            what = "waiting"
        locale = await self.core.language(user)
        text = t(
            TELLS[what],
            locale,
            n=row.id,
            title=row.title,
            when=self._when(row, locale),
            where=self._where(row, locale),
            prefix=self.config.commands.prefix,
        )
        room_id = await self.core.direct.room_for(user)
        # Named by this job (its cause): the same notice told again later (promoted a second
        # time the same day) is a new message, this one sent again after a crash is not.
        await self.core.gateway.send(room_id, notice(text))

    async def end(self, payload: dict[str, Any]) -> None:
        """The workshop over: its announcement says so, a thread opens on it for the report
        (its files pinned by a recurring job), and a recurring one makes its next occurrence,
        all queued with the change of status."""
        row = await self.workshops.get(int(payload["workshop"]))
        if row is None or row.status == "cancelled":
            return
        if row.status == "open":
            if row.end > self.core.clock() + 1:
                return  # not yet (moved later): its own end job comes
            jobs: Jobs = [(ANNOUNCE_JOB, {}, None), (PINS_JOB, {}, None)]
            await self.workshops.move(row.id, frm="open", to="over", jobs=jobs)
            row = await self.workshops.get(row.id) or row
        # Each step below is done once, and done again only if a stop cut it short.
        if row.recurrence:
            await self._next_occurrence(row)
        if not row.thread_id:
            await self._open_thread(row)
        self.core.wake_jobs()

    async def _open_thread(self, row: WorkshopRow) -> None:
        if not row.room_id or not row.event_id:
            return
        text = t("workshop.report", self.config.locale, n=row.id, title=row.title)
        thread_id = await self.core.gateway.send(
            row.room_id,
            notice(text, thread=row.event_id),
            txn=effects.stable_key("workshop-report", str(row.id)),
        )
        await self.workshops.set_thread(row.id, thread_id)
        await self.core.store.audit(
            self.core.gateway.user_id, "workshop.report", "ok", detail=f"n°{row.id}"
        )

    async def _next_occurrence(self, row: WorkshopRow) -> None:
        start = next_start(row.start, row.recurrence, self.tz)
        while start <= self.core.clock():  # the bot was away longer than a period
            start = next_start(start, row.recurrence, self.tz)
        end = start + (row.end - row.start)
        made, _ = await self.workshops.add(
            territory=row.territory,
            title=row.title,
            start=start,
            end=end,
            recurrence=row.recurrence,
            seats=row.seats,
            link=row.link,
            place=row.place,
            author=row.author,
            jobs=self._timed_jobs(start, end, self.core.clock()),
            series=row.series,
            cause=f"workshop-next:{row.id}",  # made once, whatever the restarts
        )
        log.info("workshop %s: next occurrence n°%s", row.id, made.id)

    async def pins(self, payload: dict[str, Any]) -> Again | None:
        """The files posted in the report thread pinned in the room (``m.room.pinned_events``),
        each once (someone may unpin one), read again every ``pin_every`` until
        ``report_window`` after the end."""
        row = await self.workshops.get(int(payload["workshop"]))
        if row is None or not row.room_id or not row.event_id:
            return None
        config, now = self.config.workshops, self.core.clock()
        key = f"workshop.pinned:{row.id}"
        # What was pinned (pinned once: someone may unpin it) and what was read and holds no
        # file (not decrypted again at each reading).
        kept: dict[str, list[str]] = await self.core.store.get(key, {})
        done, read = kept.get("pinned", []), set(kept.get("read", []))
        files, plain = await self._thread_files(row, read | set(done))
        if files:
            await self.core.gateway.change_pins(row.room_id, add=files)
            await self.core.store.audit(
                self.core.gateway.user_id, "workshop.pin", "ok", detail=f"n°{row.id} {len(files)}"
            )
        if files or plain:
            await self.core.store.put(
                key, {"pinned": done + files, "read": sorted(read | set(plain))}
            )
        if now >= row.end + config.report_window:
            return None
        return Again(now + config.pin_every)

    async def _thread_files(self, row: WorkshopRow, read: set[str]) -> tuple[list[str], list[str]]:
        """The events of the announcement's thread that carry a file, oldest first, and those
        read now that carry none (``read``: known to carry none; one not decrypted yet is
        tried again at the next reading)."""
        assert row.room_id and row.event_id
        found: list[str] = []
        plain: list[str] = []
        since: str | None = None
        for _ in range(20):  # pages of 100: a report thread is not longer than that
            query = {"limit": "100", "dir": "f", **({"from": since} if since else {})}
            page = await self.core.gateway.raw(
                "GET",
                f"/_matrix/client/v1/rooms/{path_part(row.room_id)}/relations/"
                f"{path_part(row.event_id)}/m.thread",
                query=query,
                what="read a report thread",
            )
            for ev in page.get("chunk") or []:
                event_id = ev.get("event_id")
                if ev.get("sender") == self.core.gateway.user_id or event_id in read:
                    continue
                content = ev.get("content") or {}
                if ev.get("type") == "m.room.encrypted":
                    try:
                        _, content = await self.core.gateway.event(row.room_id, event_id)
                    except (Undecryptable, MatrixError):  # the next reading tries again
                        continue
                (found if content.get("msgtype") in MEDIA_TYPES else plain).append(event_id)
            since = page.get("next_batch")
            if not since:
                break
        return found, plain

    # --- calendars -----------------------------------------------------------------------------

    async def calendar(self, token: str, territory: str | None) -> bytes | None:
        """A calendar feed asked for on the web: the rosters' (who may read it is theirs to
        say); a territory's gets its workshops and those of the territories above it, one's
        own the workshops one has a seat in."""
        body = await self.rosters.calendar(token, territory)
        if body is None:
            return None
        now = self.core.clock()
        since, until = now - FEED_SPAN[0], now + FEED_SPAN[1]
        if territory is not None:
            lineage = [x.id for x in self.config.network.lineage(territory)]
            rows = await self.workshops.between(lineage, since, until)
        else:
            owner = await self.rosters.calendar_owner(token)
            seated = await self.workshops.of_user(owner) if owner else {}
            rows = [
                row
                for workshop_id, status in seated.items()
                if status == REGISTERED
                and (row := await self.workshops.get(workshop_id)) is not None
                and row.end > since
                and row.start < until
            ]
        if not rows:
            return body
        calendar = Calendar.from_ical(body)
        domain = server_of(self.core.gateway.user_id)
        locale = self.config.locale
        stamp = dt.datetime.fromtimestamp(now, dt.UTC)
        for row in sorted(rows, key=lambda r: (r.start, r.id)):
            calendar.add_component(self._vevent(row, domain, locale, stamp))
        return bytes(calendar.to_ical())

    def _vevent(self, row: WorkshopRow, domain: str, locale: str, stamp: dt.datetime) -> Event:
        event = Event()
        event.add("uid", f"atelier-{row.id}@{domain}")  # the same whatever the feed's version
        event.add("dtstamp", stamp)
        event.add("dtstart", dt.datetime.fromtimestamp(row.start, dt.UTC))
        event.add("dtend", dt.datetime.fromtimestamp(row.end, dt.UTC))
        event.add("summary", t("workshop.ics.summary", locale, title=row.title))
        event.add("status", "CANCELLED" if row.status == "cancelled" else "CONFIRMED")
        event.add("transp", "OPAQUE")
        if row.place:
            event.add("location", row.place)
        elif row.link:
            event.add("location", row.link)
        if row.link:
            event.add("url", row.link)
        event.add("categories", [t("workshop.ics.category", locale)])
        return event

    # --- what people read ----------------------------------------------------------------------

    async def _announcement_room(self, territory: str) -> list[str]:
        """The community room of the territory, else of the nearest one above that has one."""
        managed = {
            r.key: r.room_id for r in await self.core.store.managed_rooms(include_archived=False)
        }
        for place in reversed(self.config.network.lineage(territory)):
            for kind in ROOM_KINDS:
                ids = [
                    managed[f"{place.id}.{r.id}"]
                    for r in place.rooms
                    if r.kind == kind and f"{place.id}.{r.id}" in managed
                ]
                if ids:
                    return ids[:1]
        return []

    def card_text(
        self, row: WorkshopRow, taken: list[seats.Seat], locale: str, *, how: bool = True
    ) -> str:
        lines = [
            t("workshop.card.title", locale, n=row.id, title=row.title),
            t(
                "workshop.card.when",
                locale,
                when=self._when(row, locale),
                duration=format_duration(row.end - row.start, locale),
            ),
        ]
        if row.recurrence:
            lines.append(t(RECURRENCES[row.recurrence], locale))
        if where := self._where(row, locale):
            lines.append(where.strip())
        lines.append(t("workshop.card.territory", locale, territory=self._territory_name(row)))
        if row.status == "over":
            lines.append(t("workshop.card.over", locale))
            return "\n".join(lines)
        if row.status == "cancelled":
            lines.append(t("workshop.card.cancelled", locale))
            return "\n".join(lines)
        lines.append(self._seats_text(row, taken, locale))
        if how:
            prefix = self.config.commands.prefix
            lines.append(t("workshop.card.how", locale, n=row.id, prefix=prefix))
        return "\n".join(lines)

    def _seats_text(self, row: WorkshopRow, taken: list[seats.Seat], locale: str) -> str:
        counted = seats.count(row.seats, taken)
        if counted.left is None:
            text = t("workshop.card.registered", locale, n=counted.registered)
        else:
            text = t("workshop.card.seats", locale, n=counted.left, seats=row.seats)
        if counted.waiting:
            text += " · " + t("workshop.card.waiting", locale, n=counted.waiting)
        return text

    def _where(self, row: WorkshopRow, locale: str) -> str:
        parts = []
        if row.place:
            parts.append(t("workshop.card.place", locale, place=row.place))
        if row.link:
            parts.append(t("workshop.card.link", locale, link=row.link))
        return "".join(f"\n{p}" for p in parts)

    def _territory_name(self, row: WorkshopRow) -> str:
        return self.config.network.name_of(row.territory)

    def _when(self, row: WorkshopRow, locale: str) -> str:
        return when(row.start, locale, self.tz)
