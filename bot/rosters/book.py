"""The rosters' rules, for the bot and the command line alike: slots made from the config's
templates, files checked and applied, what `!garde` and the morning post show."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.dates import parse_day
from bot.errors import BadArgument, NotFound, PermissionDenied
from bot.i18n import day_text, t
from bot.moderation.policy import animated_by
from bot.rosters.importing import (
    Member,
    Report,
    Rules,
    folded,
    prepare,
    verify,
)
from bot.rosters.model import Slot, Template, local, month_slots, span_day, span_text
from bot.store import Store
from bot.store.rosters import RosterStore, SlotRow
from bot.store.vetting import VettingStore
from bot.vetting.provisioning import entitlement

log = logging.getLogger(__name__)
T = TypeVar("T")
MONTHS_AHEAD = 2  # the current month and the next have their slots made at start


class RosterBook:
    """The rosters' rules, for the bot and the command line alike."""

    def __init__(self, config: Callable[[], Config], store: Store, clock: Callable[[], float]):
        self._config = config
        self.store = store
        self.clock = clock
        self.slots = RosterStore(store)
        self.members = VettingStore(store)

    @property
    def config(self) -> Config:
        return self._config()

    # --- what the config declares -------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.rosters.timezone)

    def territories(self) -> list[str]:
        """The territories that have a roster (slot templates), in the config's order."""
        return list(dict.fromkeys(s.territory for s in self.config.rosters.templates))

    def templates(self, territory: str) -> list[Template]:
        return [
            Template(s.days, s.start, s.end, s.role)
            for s in self.config.rosters.templates
            if s.territory == territory
        ]

    def template_slots(self, territory: str, months: set[tuple[int, int]]) -> list[Slot]:
        templates, country = self.templates(territory), self.config.rosters.country
        return [
            s for y, m in sorted(months) for s in month_slots(templates, y, m, self.tz, country)
        ]

    def role_name(self, role: str, locale: str) -> str:
        found = self.config.rosters.role(role)
        return role if found is None else (found.en if locale == "en" else found.fr)

    # --- making the slots ---------------------------------------------------------------------

    async def make_slots(self) -> None:
        """This month's and the next's empty slots exist, so `!garde` shows what is unfilled."""
        now = local(self.clock(), self.tz)
        months = {_add_months(now.year, now.month, n) for n in range(MONTHS_AHEAD)}
        for territory in self.territories():
            made = self.template_slots(territory, months)
            await self.slots.fill(territory, [(s.role, s.start, s.end) for s in made], [])

    # --- importing a coordinator's file -------------------------------------------------------

    async def eligible(self, territory: str) -> list[Member]:
        """The vetted members who may be on the territory's roster: those its oncall rooms
        are open to."""
        found = self.config.network.find(territory)
        if found is None:
            raise NotFound("roster.unknown_territory", territory=territory)
        keys = self._oncall_keys(territory)
        rules = self.config.vetting.provisioning
        named = {m["user_id"]: m for m in await self.members.members()}
        out = []
        for info in await self.members.member_infos():
            if any(entitlement(info, self.config.network, rules).allows(k) for k in keys):
                row = named.get(info.user_id, {})
                out.append(Member(info.user_id, row.get("name") or "", row.get("rpps")))
        return out

    def _oncall_keys(self, territory: str) -> list[str]:
        found = self.config.network.find(territory)
        return [f"{territory}.{r.id}" for r in (found.rooms if found else ()) if r.kind == "oncall"]

    async def import_file(
        self, territory: str, text: str, *, name: str = "", by: str, partial: bool = False
    ) -> tuple[Report, int]:
        """Check every row of a CSV or ICS file (``name``, else its text, tells which); apply
        them all when none is wrong (``partial``: the valid ones). Returns the report and how
        many slots were assigned."""
        if territory not in self.territories():
            raise NotFound("roster.unknown_territory", territory=territory)
        # A big file is read and checked in a worker process: a year of a territory is a
        # tenth of a second of Python that would hold every other command up.
        rules = self.rules(territory)
        rows, problems, made = await offload(len(text), prepare, rules, text, name)
        if problems:
            return Report([], problems), 0
        times = [s.start for s in made] or [0.0]
        members = await self.eligible(territory)
        around = await self.slots.held_by(
            [m.user_id for m in members], min(times) - 86400, max(times) + 86400
        )
        report = await offload(
            len(text), verify, rules, territory, rows, members, made, around, self.clock()
        )
        if not report.ok and not (partial and report.valid):
            await self.store.audit(by, "roster.import", "refused", detail=territory)
            return report, 0
        assigned = await self.slots.fill(
            territory,
            [(s.role, s.start, s.end) for s in made],
            [(s.role, s.start, s.end, s.member) for s in report.valid],
        )
        await self.store.audit(by, "roster.import", "ok", detail=f"{territory}: {assigned} slot(s)")
        report.applied = True
        return report, assigned

    def rules(self, territory: str) -> Rules:
        config = self.config.rosters
        labels = {folded(x): r.id for r in config.roles for x in (r.id, r.fr, r.en)}
        return Rules(
            tz=config.timezone,
            country=config.country,
            role_ids=tuple(r.id for r in config.roles),
            role_labels=tuple(labels.items()),
            templates=tuple(self.templates(territory)),
        )

    def report_text(self, report: Report, assigned: int, locale: str) -> str:
        """The row-by-row answer to an import: what was wrong where, and what was done."""
        lines = [t(key, locale, **params) for key, params in report.problems]
        bad = [r for r in report.rows if not r.ok]
        for row in bad[:50]:
            why = "; ".join(t(key, locale, **params) for key, params in row.problems)
            lines.append(t("roster.import.line", locale, line=row.line, why=why))
        if len(bad) > 50:
            lines.append(t("roster.import.more", locale, n=len(bad) - 50))
        if report.applied:
            lines.insert(0, t("roster.import.done", locale, n=assigned, rows=len(report.rows)))
        elif not report.problems:
            lines.insert(0, t("roster.import.refused", locale, bad=len(bad), rows=len(report.rows)))
        return "\n".join(lines)

    # --- reading it -----------------------------------------------------------------------------

    async def coordinated(self, user: str, room_id: str | None, named: str | None) -> str:
        """The roster a coordinator's import is for: the one named, else the room's, else the
        only one they coordinate (an animator of the territory or above, or an admin)."""
        rosters = self.territories()
        if named is not None and named not in rosters:
            raise NotFound("roster.unknown_territory", territory=named)
        animated = {x.id for x in animated_by(user, self.config.network, self.config.admins)}
        if named is not None:
            if named not in animated:
                raise PermissionDenied("roster.not_coordinator", territory=named)
            return named
        if room_id is not None and (key := await self.store.managed_key(room_id)):
            near = [
                t for t in reversed(_lineage(self.config, key.split(".", 1)[0])) if t in rosters
            ]
            if near:
                if near[0] not in animated:
                    raise PermissionDenied("roster.not_coordinator", territory=near[0])
                return near[0]
        mine = [tid for tid in rosters if tid in animated]
        if not mine:
            raise PermissionDenied("roster.not_coordinator_any")
        if len(mine) > 1:
            raise BadArgument("roster.which", choices=", ".join(mine))
        return mine[0]

    async def where(self, user: str, room_id: str | None) -> list[str]:
        """The rosters a `!garde` asks about: the room's territory's (or the nearest one above
        it), else those the person may be on, animates or (admins) all."""
        rosters = self.territories()
        if room_id is not None:
            key = await self.store.managed_key(room_id)
            if key is not None:
                lineage = _lineage(self.config, key.split(".", 1)[0])
                near = [tid for tid in reversed(lineage) if tid in rosters]
                if near:
                    return near[:1]
        if user in self.config.admins:
            return rosters
        animated = {x.id for x in animated_by(user, self.config.network, self.config.admins)}
        mine = [tid for tid in rosters if tid in animated]
        info = await self.members.member_info(user)
        if info is not None:
            given = entitlement(info, self.config.network, self.config.vetting.provisioning)
            for tid in rosters:
                if tid not in mine and any(given.allows(k) for k in self._oncall_keys(tid)):
                    mine.append(tid)
        if not mine:
            raise PermissionDenied("roster.none_for_you")
        return mine

    async def names(self) -> dict[str, str]:
        """Members' names as they gave them, by Matrix id."""
        return {m["user_id"]: m["name"] for m in await self.members.members()}

    def day_name(self, ts: float, locale: str) -> str:
        """``12/08/2027``, where the region is."""
        return day_text(ts, locale, self.tz)

    async def lines(
        self, territories: list[str], since: float, until: float, locale: str
    ) -> list[str]:
        names = {m["user_id"]: m["name"] for m in await self.members.members()}
        out = []
        for row in await self.slots.slots(None, since, until):
            if row.territory in territories:
                out.append(self.slot_line(row, names, locale, len(territories) > 1))
        return out

    def slot_line(self, row: SlotRow, names: dict[str, str], locale: str, where: bool) -> str:
        span = span_text(Slot(row.start, row.end, row.role), self.tz, locale)
        who = (
            f"{names.get(row.member) or row.member} ({row.member})"
            if row.member and names.get(row.member)
            else row.member or t("roster.unfilled", locale)
        )
        place = f" [{row.territory}]" if where else ""
        return f"• {span} — {self.role_name(row.role, locale)} : {who}{place}"

    async def overview(self, territories: list[str], locale: str) -> str:
        """Who is on duty now, tonight, and next weekend."""
        now = self.clock()
        today = local(now, self.tz).date()
        evening = _at(today, 18, self.tz)
        morning = _at(today + dt.timedelta(days=1), 8, self.tz)
        saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
        weekend = (_at(saturday, 0, self.tz), _at(saturday + dt.timedelta(days=2), 0, self.tz))
        parts = []
        for key, since, until in (
            ("roster.now", now, now + 1),
            ("roster.tonight", max(now + 1, evening), morning),
            ("roster.weekend", *weekend),
        ):
            lines = await self.lines(territories, since, until, locale)
            parts.append(t(key, locale) + "\n" + ("\n".join(lines) or t("roster.nothing", locale)))
        return "\n\n".join(parts)

    async def period(self, territories: list[str], day: dt.date, days: int, locale: str) -> str:
        since, until = _at(day, 0, self.tz), _at(day + dt.timedelta(days=days), 0, self.tz)
        lines = await self.lines(territories, since, until, locale)
        return "\n".join(lines) or t("roster.nothing", locale)

    async def mine(self, user: str, locale: str, limit: int = 10) -> str:
        now = self.clock()
        rows = await self.slots.slots(None, now, now + 366 * 86400, member=user)
        names = {user: ""}
        lines = [self.slot_line(r, names, locale, True) for r in rows[:limit]]
        return "\n".join(lines) or t("roster.none_mine", locale)

    def next_morning(self, after: float) -> float:
        """The next ``rosters.morning_post`` time after ``after``."""
        hours, minutes = map(int, self.config.rosters.morning_post.split(":"))
        day = local(after, self.tz).date()
        for offset in (0, 1, 2):
            wall = dt.datetime.combine(day + dt.timedelta(days=offset), dt.time())
            at = (wall + dt.timedelta(hours=hours, minutes=minutes)).replace(tzinfo=self.tz)
            if at.timestamp() > after:
                return at.timestamp()
        raise AssertionError("a morning comes within two days")

    async def day_text(self, territory: str, day: dt.date, locale: str) -> str:
        """The day's roster as the morning post shows it."""
        title = t("roster.post.title", locale, day=span_day(day, locale))
        return title + "\n" + await self.period([territory], day, 1, locale)

    async def rooms(self, territory: str, *kinds: str) -> list[str]:
        """The territory's live rooms of the first of ``kinds`` it has."""
        found = self.config.network.find(territory)
        managed = {r.key: r.room_id for r in await self.store.managed_rooms(include_archived=False)}
        for kind in kinds:
            keys = [f"{territory}.{r.id}" for r in (found.rooms if found else ()) if r.kind == kind]
            ids = [managed[k] for k in keys if k in managed]
            if ids:
                return ids
        return []

    async def on_duty_text(self, territory: str, locale: str) -> str:
        """Who is on duty now in a territory, on one line (the on-call rooms' topic)."""
        now = self.clock()
        names = {m["user_id"]: m["name"] for m in await self.members.members()}
        rows = [r for r in await self.slots.slots(territory, now, now + 1) if r.member]
        if not rows:
            return t("roster.topic.nobody", locale)
        who = ", ".join(
            f"{names.get(r.member) or r.member} ({self.role_name(r.role, locale)})"
            for r in rows
            if r.member
        )
        return t("roster.topic.on_duty", locale, who=who)

    def territory_name(self, territory: str) -> str:
        return self.config.network.name_of(territory)

    def coordinators(self, territory: str) -> list[str]:
        """The territory's animators (else those of the nearest territory above with some)."""
        return list(self.config.network.coordinators(territory))

    def today(self) -> dt.date:
        return local(self.clock(), self.tz).date()

    def day(self, text: str) -> dt.date:
        """A day as people type it (``12/08``, ``12/08/2027``, ``demain``, ``samedi``,
        ``tomorrow``), the next one when the year or week is not said."""
        found = parse_day(text, self.tz, self.clock())
        if found is None:
            raise BadArgument("roster.bad_day", value=text[:40])
        return found


_pool: ProcessPoolExecutor | None = None
OFFLOAD_ABOVE = 32_000  # bytes of file: below, the work is too small to send elsewhere


async def offload(size: int, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the worker process for a big file (started at the first one, and
    again if it died), else here."""
    global _pool
    if size < OFFLOAD_ABOVE:
        return fn(*args)
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_modest
        )
    try:
        return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)
    except BrokenProcessPool:
        _pool = None
        log.warning("the roster worker process died; this file is checked in the bot")
        return await asyncio.to_thread(fn, *args)


def _modest() -> None:
    """The worker gives way to the bot and the homeserver: checking a file can wait a little,
    a command should not."""
    os.nice(10)


def _at(day: dt.date, hour: int, tz: ZoneInfo) -> float:
    return dt.datetime.combine(day, dt.time(hour)).replace(tzinfo=tz).timestamp()


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def _lineage(config: Config, territory: str) -> list[str]:
    return [t.id for t in config.network.lineage(territory)]
