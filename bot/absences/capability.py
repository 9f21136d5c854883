"""Absences and replacements in a care community (CPTS) as a capability.

A member announces an absence (``!absence du 12/08 au 26/08 remplacé·e par @x``): a card in the
territory's replacements room (else its community room) says who, when and who replaces them.
A vetted replacement is lent the absent member's rooms of that territory for the period only:
from its start (at once if it has begun) to its end, each by a durable job that does it once
whatever the restarts; lent rooms count in what enforcement allows (``bot.store.vetting``
reads them with the grants), so when the period ends the replacement is taken out of them
unless they may be there on their own. A replacement not yet vetted waits for a request that
the coordinator endorses and the admins approve; the member it makes has no territory of their
own, only what absences lend.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from bot import effects
from bot.absences.wording import read
from bot.capability import Capability, Core
from bot.dates import day_start, parse_day
from bot.errors import BadArgument, Conflict, NotFound, PermissionDenied
from bot.events import MemberProvisioned, MemberRemoved, MemberWithdrawn
from bot.i18n import day_text, t
from bot.matrix.content import edit, notice
from bot.moderation.policy import animated_by, may_be_in
from bot.store.absences import OPEN, AbsenceRow, AbsenceStore, Jobs
from bot.store.vetting import VettingStore
from bot.vetting.capability import Vetting
from bot.vetting.form import parse_pairs, render_problems
from bot.vetting.provisioning import entitlement

log = logging.getLogger(__name__)

BEGIN_JOB = "absences.begin"  # the replacement lent the rooms
END_JOB = "absences.end"  # the absence over: the rooms taken back
CARD_JOB = "absences.card"  # the card posted, or edited as the absence changes
TELL_JOB = "absences.tell"  # one person told one thing about an absence
KEEP = 30 * 86400.0  # an absence over is forgotten after this
LONGEST = 366  # days
CARD_KINDS = ("replacements", "community")  # where the card goes, the first the territory has


class Absences(Capability):
    name = "absences"
    commands = ("bot.commands.absences",)

    def __init__(self, core: Core, vetting: Vetting):
        super().__init__(core)
        self.vetting = vetting
        self.absences = AbsenceStore(core.store)
        self.members = VettingStore(core.store)
        self.jobs = {
            BEGIN_JOB: self.begin,
            END_JOB: self.end,
            CARD_JOB: self.card,
            TELL_JOB: self.tell,
        }
        self.events = {
            MemberProvisioned: self.on_provisioned,
            MemberRemoved: self.on_removed,
            MemberWithdrawn: self.on_withdrawn,
        }
        # Every change of an absence's state reads it, decides, and moves it: one at a time
        # (its jobs may come due together after a stop, a command may cross a job).
        self.lock = asyncio.Lock()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.rosters.timezone)

    async def start(self) -> None:
        await self.absences.prune(self.core.clock() - KEEP)

    # --- declaring, ending, extending ---------------------------------------------------------

    async def declare(self, user: str, room_id: str, text: str, locale: str) -> str:
        """``!absence du … au … [remplacé·e par @x] [note]``: the absence recorded, its card
        and its start and end queued, in one transaction."""
        if await self.members.member_info(user) is None:
            raise PermissionDenied("absence.not_member")
        now = self.core.clock()
        said = read(text, lambda s: parse_day(s, self.tz, now))
        territory = await self.territory_of(user, room_id)
        start, end = day_start(said.first, self.tz), day_start(self._after(said.last), self.tz)
        if end <= now:
            raise BadArgument("absence.past")
        if (said.last - said.first).days >= LONGEST:
            raise BadArgument("absence.too_long", days=LONGEST)
        who = said.replacement
        if who == user:
            raise BadArgument("absence.self")
        jobs: Jobs = [(CARD_JOB, {}, None), (END_JOB, {"end": end}, end)]
        status = "planned"
        if who is not None and not await self._vetted(who):
            status = "waiting"
            jobs.append((TELL_JOB, {"what": "waiting"}, None))
        elif who is not None:
            jobs.append((BEGIN_JOB, {}, max(start, now)))
        async with self.lock:
            for other in await self.absences.of_member(user):
                if other.start < end and start < other.end:
                    raise Conflict("absence.overlaps", n=other.id)
            row = await self.absences.add(territory, user, who, start, end, said.note, status, jobs)
        await self.core.store.audit(user, "absence.declare", "ok", detail=f"n°{row.id}")
        self.core.wake_jobs()
        key = "absence.declared_waiting" if status == "waiting" else "absence.declared"
        return t(key, locale, n=row.id, card=self.card_text(row, {}, locale))

    async def finish(self, user: str, n: int | None, locale: str) -> str:
        """``!absence fin``: an absence ended now (or cancelled, if it had not begun); the
        replacement's rooms taken back by its end job, at once. The absent member's own, or
        (by number) one of a territory its coordinators or an admin look after."""
        async with self.lock:
            return await self._finish(user, n, locale)

    async def _finish(self, user: str, n: int | None, locale: str) -> str:
        row = await self._mine(user, n, others=True)
        now = self.core.clock()
        begun = row.start <= now
        ended = await self.absences.move(
            row.id,
            frm=OPEN,
            to="ended" if begun else "cancelled",
            jobs=[(END_JOB, {"end": now}, None), (CARD_JOB, {}, None)]
            + ([(TELL_JOB, {"what": "end"}, None)] if row.status == "active" else []),
            end=max(now, row.start) if begun else row.end,
        )
        if not ended:
            raise Conflict("absence.over", n=row.id)
        await self.core.store.audit(user, "absence.end", "ok", detail=f"n°{row.id}")
        self.core.wake_jobs()
        return t("absence.ended" if begun else "absence.cancelled", locale, n=row.id)

    async def extend(self, user: str, n: int | None, when: str, locale: str) -> str:
        """``!absence prolonger <date>``: the last day moved later; the replacement keeps the
        rooms until then (the old end's job finds the absence not over, and does nothing)."""
        async with self.lock:
            return await self._extend(user, n, when, locale)

    async def _extend(self, user: str, n: int | None, when: str, locale: str) -> str:
        row = await self._mine(user, n)
        now = self.core.clock()
        last = parse_day(when, self.tz, now)
        if last is None:
            raise BadArgument("absence.bad_day", value=when[:40])
        end = day_start(self._after(last), self.tz)
        if end <= row.end:
            raise BadArgument("absence.not_later", n=row.id)
        first = dt.datetime.fromtimestamp(row.start, self.tz).date()
        if (last - first).days >= LONGEST:
            raise BadArgument("absence.too_long", days=LONGEST)
        for other in await self.absences.of_member(user):
            if other.id != row.id and other.start < end and row.start < other.end:
                raise Conflict("absence.overlaps", n=other.id)
        done = await self.absences.move(
            row.id,
            frm=(row.status,),
            to=row.status,
            jobs=[(END_JOB, {"end": end}, end), (CARD_JOB, {}, None)],
            end=end,
        )
        if not done:
            raise Conflict("absence.over", n=row.id)
        await self.core.store.audit(user, "absence.extend", "ok", detail=f"n°{row.id}")
        self.core.wake_jobs()
        return t("absence.extended", locale, n=row.id, last=self._day(end - 1, locale))

    async def listing(self, user: str, room_id: str, named: str | None, locale: str) -> str:
        """``!absences [territoire]``: those of a territory (and below it) now and to come."""
        admin = user in self.config.admins
        top: str | None
        if named:
            found = self.config.network.find(named.lower())
            if found is None:
                raise NotFound("absence.unknown_territory", territory=named[:40])
            top = found.id
        elif admin and await self.core.store.managed_key(room_id) is None:
            top = None
        else:
            top = await self.territory_of(user, room_id)
        if not admin and not await self._may_read(user, top):
            raise PermissionDenied("absence.not_yours_to_read")
        ids = (
            [x.id for x in self.config.network.subtree(top)]
            if top
            else [x.id for x, _ in self.config.network.walk()]
        )
        rows = await self.absences.current(ids, self.core.clock())
        names = await self._names()
        lines = [self.card_text(r, names, locale) for r in rows]
        return "\n".join(lines) or t("absence.none", locale)

    async def mine(self, user: str, locale: str) -> str:
        rows = await self.absences.involving(user)
        names = await self._names()
        return "\n".join(self.card_text(r, names, locale) for r in rows) or t(
            "absence.none_mine", locale
        )

    async def endorse(self, coordinator: str, n: int, fields: str, locale: str) -> str:
        """``!absence parrainer <n> nom=… profession=…``: the coordinator files the request of
        a replacement who is not vetted, endorsed by them; once the admins approve, the
        replacement is lent the rooms for the period only."""
        row = await self.absences.get(n)
        if row is None or row.status != "waiting" or row.replacement is None:
            raise NotFound("absence.no_waiting", n=n)
        animated = {x.id for x in animated_by(coordinator, self.config.network, self.config.admins)}
        if row.territory not in animated:
            raise PermissionDenied("absence.not_coordinator", territory=row.territory)
        values, problems = parse_pairs(fields)
        if problems:
            raise BadArgument("error.text", text=render_problems(problems, locale))
        values["territory"] = row.territory
        request, _ = await self.vetting.intake.endorse(
            values, coordinator, row.replacement, locale, replacement_for=row.id
        )
        await self.absences.link_request(row.id, request.id)
        await self.core.store.audit(
            coordinator, "absence.endorse", "ok", detail=f"n°{row.id} #{request.id}"
        )
        return t("absence.endorsed", locale, n=row.id, request=request.id)

    # --- the jobs ------------------------------------------------------------------------------

    async def begin(self, payload: dict[str, Any]) -> None:
        """The absence's start: the replacement lent the absent member's rooms of the
        territory (once: the status moves with the notices), then invited to them."""
        async with self.lock:
            row = await self._begin(int(payload["absence"]))
        # Outside the lock: provisioning tells the capabilities (this one too) of the member.
        if row is not None and row.status == "active" and row.replacement:
            await self.vetting.outcomes.provision(row.replacement)  # invites: safe again
        self.core.wake_jobs()

    async def _begin(self, absence_id: int) -> AbsenceRow | None:
        row = await self.absences.get(absence_id)
        if row is None or row.replacement is None:
            return None
        now = self.core.clock()
        if row.status == "planned" and now + 1 >= row.start and now < row.end:
            rooms = await self.lent_rooms(row)
            await self.absences.move(
                row.id,
                frm=("planned",),
                to="active",
                jobs=[(TELL_JOB, {"what": "begin"}, None), (CARD_JOB, {}, None)],
                rooms=rooms,
            )
            row = await self.absences.get(row.id) or row
        return row

    async def end(self, payload: dict[str, Any]) -> None:
        """The absence's end (or an early end, a cancellation): over, and the rooms lent taken
        back from the replacement unless they may be there on their own."""
        async with self.lock:
            await self._end(int(payload["absence"]))
            await self.absences.prune(self.core.clock() - KEEP)
        self.core.wake_jobs()

    async def _end(self, absence_id: int) -> None:
        row = await self.absences.get(absence_id)
        if row is None:
            return
        now = self.core.clock()
        if row.open:
            if row.end > now + 1:
                return  # extended: the job of the new end does it
            jobs: Jobs = [(CARD_JOB, {}, None)]
            if row.status == "active":
                jobs.append((TELL_JOB, {"what": "end"}, None))
            moved = await self.absences.move(
                row.id, frm=(row.status,), to="ended", jobs=jobs, ended_by=now + 1
            )
            row = await self.absences.get(row.id) or row
            if not moved and row.open:
                return  # changed meanwhile (extended): its own end job will come
        if row.replacement and row.rooms and row.status in ("ended", "cancelled"):
            await self.take_back(row)
        if row.request_id is not None and not row.open:
            await self._drop_request(row.request_id)

    async def take_back(self, row: AbsenceRow) -> int:
        """The replacement out of the rooms (and spaces) the absence lent, where nothing else
        lets them be."""
        user = row.replacement
        assert user is not None
        member = await self.members.member_info(user)
        network, config = self.config.network, self.config
        keys = {*row.rooms, *(k.split(".", 1)[0] for k in row.rooms)}
        managed = {r.key: r.room_id for r in await self.core.store.managed_rooms()}
        gone = [
            managed[key]
            for key in sorted(keys)
            if key in managed
            and not may_be_in(
                user,
                key,
                network=network,
                admins=config.admins,
                bot=self.core.gateway.user_id,
                member=member,
                provisioning=config.vetting.provisioning,
            )
        ]
        reason = t("absence.kick_reason", config.locale)
        removed = await self.core.gateway.remove_everywhere(gone, user, reason)
        if removed:
            await self.core.store.audit(
                self.core.gateway.user_id, "absence.take_back", "ok", detail=f"n°{row.id}"
            )
        return removed

    async def card(self, payload: dict[str, Any]) -> None:
        """The absence's card in the territory's replacements room (else community room):
        posted once, then edited as the absence changes."""
        row = await self.absences.get(int(payload["absence"]))
        if row is None:
            return
        text = self.card_text(row, await self._names(), self.config.locale)
        key = f"absence.card:{row.id}"
        posted: dict[str, list[str]] = await self.core.store.get(key, {})
        digest = effects.digest(text)
        for room_id in await self.card_rooms(row.territory):
            earlier = posted.get(room_id)
            if earlier is None:
                event_id = await self.core.gateway.send(
                    room_id, notice(text), txn=effects.stable_key("absence-card", str(row.id))
                )
                posted[room_id] = [event_id, digest]
            elif earlier[1] != digest:
                await self.core.gateway.send(
                    room_id,
                    edit(earlier[0], text),
                    txn=effects.stable_key("absence-edit", earlier[0], digest),
                )
                posted[room_id] = [earlier[0], digest]
            await self.core.store.put(key, posted)

    async def tell(self, payload: dict[str, Any]) -> None:
        """One notice about an absence: the replacement at the start and the end, the
        coordinators when a replacement must be vetted first."""
        row = await self.absences.get(int(payload["absence"]))
        if row is None:
            return
        what = payload["what"]
        names = await self._names()
        people: list[str]
        if what == "waiting":
            people = self.coordinators(row.territory)
        elif row.replacement is None:
            return
        else:
            people = [row.replacement]
        for user in people:  # each in their own language
            text = self._tell_text(row, what, names, await self.core.language(user))
            room_id = await self.core.direct.room_for(user)
            await self.core.gateway.send(
                room_id,
                notice(text),
                txn=effects.stable_key("absence-tell", str(row.id), what, user),
            )

    def _tell_text(self, row: AbsenceRow, what: str, names: dict[str, str], locale: str) -> str:
        if what == "waiting":
            return t(
                "absence.tell.waiting",
                locale,
                n=row.id,
                card=self.card_text(row, names, locale),
                prefix=self.config.commands.prefix,
            )
        rooms = "\n".join(f"• {self.config.network.name_of(k)}" for k in row.rooms) or "—"
        return t(
            f"absence.tell.{what}",
            locale,
            who=_who(row.member, names),
            territory=self.config.network.name_of(row.territory),
            until=self._day(row.end - 1, locale),
            rooms=rooms,
        )

    # --- events --------------------------------------------------------------------------------

    async def on_provisioned(self, event: MemberProvisioned) -> None:
        """A replacement just vetted: their absences waiting for it are planned (their start
        queued, at once if begun)."""
        if await self.members.member_info(event.user_id) is None:
            return
        async with self.lock:
            now = self.core.clock()
            for row in await self.absences.waiting_for(event.user_id):
                await self.absences.move(
                    row.id,
                    frm=("waiting",),
                    to="planned",
                    jobs=[(BEGIN_JOB, {}, max(row.start, now)), (CARD_JOB, {}, None)],
                )
        self.core.wake_jobs()

    async def on_removed(self, event: MemberRemoved) -> None:
        """A revoked or forgotten member: their own absences cancelled (their replacement told,
        the rooms taken back by the end job); where they replace someone, the absence goes on
        without a replacement (revocation took them out of every room already)."""
        user = event.user_id
        async with self.lock:
            for row in await self.absences.involving(user):
                if row.member == user:
                    jobs: Jobs = [(END_JOB, {"end": row.end}, None), (CARD_JOB, {}, None)]
                    if row.status == "active":
                        jobs.append((TELL_JOB, {"what": "end"}, None))
                    await self.absences.move(row.id, frm=OPEN, to="cancelled", jobs=jobs)
                else:
                    await self._without_replacement(row)
            if event.why == "forgotten":
                await self.absences.forget(user)
        self.core.wake_jobs()

    async def on_withdrawn(self, event: MemberWithdrawn) -> None:
        """An animator took a replacement out of the territory: the absences there go on
        without them (what they were lent is not lent any more)."""
        there = {t.id for t in self.config.network.subtree(event.territory)}
        async with self.lock:
            for row in await self.absences.involving(event.user_id):
                if row.replacement == event.user_id and row.territory in there:
                    await self._without_replacement(row)
        self.core.wake_jobs()

    async def _without_replacement(self, row: AbsenceRow) -> None:
        """The absence goes on, its replacement gone (revoked, or taken out by an animator,
        which took them out of the rooms already); a request filed for them closed."""
        await self.absences.move(
            row.id,
            frm=OPEN,
            to="planned" if row.status == "waiting" else row.status,
            jobs=[(CARD_JOB, {}, None)],
            replacement=None,
            rooms=[],
        )
        if row.request_id is not None:
            await self._drop_request(row.request_id)

    async def _drop_request(self, request_id: int) -> None:
        """The request filed for a replacement who is no longer needed, closed if it waits
        (the admins' card says so)."""
        if await self.vetting.requests.close_request(request_id, "cancelled", "absence"):
            await self.core.store.audit(
                self.core.gateway.user_id, "absence.request_dropped", "ok", detail=f"#{request_id}"
            )
            await self.vetting.cards.show(await self.vetting.ledger.get(request_id))

    # --- what an absence concerns --------------------------------------------------------------

    async def territory_of(self, user: str, room_id: str | None) -> str:
        """The territory an absence is declared in: the room's (in a managed room), else the
        member's own; the nearest one, going up, that has a replacements or community room."""
        start: str | None = None
        if room_id is not None and (key := await self.core.store.managed_key(room_id)):
            start = key.split(".", 1)[0]
        if start is None:
            start = await self.members.member_territory(user) or None
        if start is None:
            raise PermissionDenied("absence.no_territory")
        for place in reversed(self.config.network.lineage(start)):
            if any(r.kind in CARD_KINDS for r in place.rooms):
                return place.id
        raise NotFound("absence.no_room", territory=start)

    async def lent_rooms(self, row: AbsenceRow) -> list[str]:
        """The absent member's rooms of the territory (and below it), private groups and
        managerial rooms apart (their own member lists decide)."""
        member = await self.members.member_info(row.member, own=True)  # not what is lent them
        if member is None:
            return []
        ent = entitlement(member, self.config.network, self.config.vetting.provisioning)
        return [
            f"{place.id}.{room.id}"
            for place in self.config.network.subtree(row.territory)
            for room in place.rooms
            if not room.private and ent.allows(f"{place.id}.{room.id}")
        ]

    async def card_rooms(self, territory: str) -> list[str]:
        found = self.config.network.find(territory)
        managed = {
            r.key: r.room_id for r in await self.core.store.managed_rooms(include_archived=False)
        }
        for kind in CARD_KINDS:
            keys = [f"{territory}.{r.id}" for r in (found.rooms if found else ()) if r.kind == kind]
            ids = [managed[k] for k in keys if k in managed]
            if ids:
                return ids
        return []

    def coordinators(self, territory: str) -> list[str]:
        """The territory's coordinators (its animators or the nearest above), else the
        admins."""
        return list(self.config.network.coordinators(territory) or self.config.admins)

    def card_text(self, row: AbsenceRow, names: dict[str, str], locale: str) -> str:
        replaced = (
            t("absence.card.replaced", locale, who=_who(row.replacement, names))
            if row.replacement
            else t("absence.card.not_replaced", locale)
        )
        note = f" — {row.note}" if row.note else ""
        return t(
            "absence.card",
            locale,
            n=row.id,
            who=_who(row.member, names),
            first=self._day(row.start, locale),
            last=self._day(row.end - 1, locale),
            replaced=replaced,
            note=note,
            status=t(f"absence.status.{row.status}", locale),
        )

    async def _mine(self, user: str, n: int | None, *, others: bool = False) -> AbsenceRow:
        """The absence a command is about: the sender's (the only one, or number ``n``); with
        ``others``, number ``n`` of a territory they coordinate (or any, for an admin)."""
        rows = await self.absences.of_member(user)
        if n is not None:
            rows = [r for r in rows if r.id == n]
            if not rows and others:
                found = await self.absences.get(n)
                if found is not None and found.open and self._coordinates(user, found.territory):
                    return found
            if not rows:
                raise NotFound("absence.not_yours", n=n)
        if not rows:
            raise NotFound("absence.none_mine")
        if len(rows) > 1:
            raise BadArgument("absence.which", choices=", ".join(f"n°{r.id}" for r in rows))
        return rows[0]

    def _coordinates(self, user: str, territory: str) -> bool:
        if user in self.config.admins:
            return True
        animated = animated_by(user, self.config.network, self.config.admins)
        return territory in {x.id for x in animated}

    async def _may_read(self, user: str, territory: str | None) -> bool:
        """Members of the territory (on their own or as a replacement there), its animators
        and the admins read its absences."""
        if territory is None:
            return user in self.config.admins
        if self._coordinates(user, territory):
            return True
        member = await self.members.member_info(user)
        if member is None:
            return False
        ent = entitlement(member, self.config.network, self.config.vetting.provisioning)
        return ent.allows(territory)

    async def _vetted(self, user: str) -> bool:
        member = await self.members.member_info(user)
        return user in self.config.admins or member is not None

    async def _names(self) -> dict[str, str]:
        return {m["user_id"]: m["name"] for m in await self.members.members() if m["name"]}

    def _after(self, day: dt.date) -> dt.date:
        return day + dt.timedelta(days=1)

    def _day(self, ts: float, locale: str) -> str:
        return day_text(ts, locale, self.tz)


def _who(user: str | None, names: dict[str, str]) -> str:
    if user is None:
        return "—"
    return f"{names[user]} ({user})" if names.get(user) else user
