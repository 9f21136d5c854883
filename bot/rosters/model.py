"""Pure: on-call rosters. Slot templates (weekdays 20:00–24:00, Saturday 12:00–24:00, Sundays
and public holidays…) make the empty slots of a month, in the region's time zone: a slot is
its wall-clock times there, so a night that crosses a change of time (the last Sunday of
October) is as long as it really is, and French public holidays count as Sundays when a
template says so."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY = "holiday"  # a template day: the public holidays (of the region's country)
WEEKDAY = {"lun": "mon", "mar": "tue", "mer": "wed", "jeu": "thu", "ven": "fri", "sam": "sat",
           "dim": "sun", "ferie": HOLIDAY, "férié": HOLIDAY}  # fmt: skip


@dataclass(frozen=True)
class Template:
    """Slots of one role on some days: ``start`` and ``end`` as ``HH:MM`` (``24:00``: the
    next midnight; an end before the start: the next day)."""

    days: tuple[str, ...]  # mon … sun, holiday
    start: str
    end: str
    role: str

    def applies(self, day: dt.date, holiday: bool) -> bool:
        """Whether it makes a slot on ``day``; on a public ``holiday`` (when the roster has
        holiday templates) only those do: the day is kept like a Sunday."""
        if holiday:
            return HOLIDAY in self.days
        return DAYS[day.weekday()] in self.days


@dataclass(frozen=True, order=True)
class Slot:
    """One turn of duty: UTC instants (what is stored and compared), the role, who."""

    start: float  # epoch seconds
    end: float
    role: str
    member: str | None = None

    def overlaps(self, other: Slot) -> bool:
        return self.start < other.end and other.start < self.end


def minutes(hhmm: str) -> int:
    """``20:00`` → 1200, ``24:00`` → 1440; ValueError for anything else."""
    hours, sep, mins = hhmm.partition(":")
    if not sep or not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
        raise ValueError(hhmm)
    total = int(hours) * 60 + int(mins)
    if int(mins) > 59 or total > 24 * 60:
        raise ValueError(hhmm)
    return total


def at(day: dt.date, minute: int, tz: ZoneInfo) -> float:
    """The instant of a wall-clock time of ``day`` (``minute`` from its midnight, 1440 and
    beyond rolling over) in ``tz``: a time a change of time skips is taken after it."""
    when = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    local = when.replace(tzinfo=tz)
    # fold=0 is the first of an ambiguous hour; a skipped time normalises forward.
    return local.timestamp()


@functools.lru_cache(maxsize=32)
def public_holidays(country: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(country, years=year))


def days_of(year: int, month: int) -> list[dt.date]:
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    return [first + dt.timedelta(days=n) for n in range((after - first).days)]


def month_slots(
    templates: Iterable[Template], year: int, month: int, tz: ZoneInfo, country: str = "FR"
) -> list[Slot]:
    """The empty slots the templates make in a month (each starting on one of its days)."""
    templates = list(templates)
    off = public_holidays(country, year) if any(HOLIDAY in t.days for t in templates) else ()
    out: list[Slot] = []
    for day in days_of(year, month):
        for template in templates:
            if not template.applies(day, day in off):
                continue
            start, end = minutes(template.start), minutes(template.end)
            if end <= start:
                end += 24 * 60
            out.append(Slot(at(day, start, tz), at(day, end, tz), template.role))
    return sorted(out)


def local(instant: float, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(instant, tz)


def file_times(slot: Slot, tz: ZoneInfo) -> tuple[str, str]:
    """A slot's start and end as roster files write them (``YYYY-MM-DD HH:MM``; an end at the
    next midnight as ``24:00`` of the start's day), so an export imports back as it is."""
    start, end = local(slot.start, tz), local(slot.end, tz)
    if (end.hour, end.minute) == (0, 0) and end.date() == start.date() + dt.timedelta(days=1):
        return f"{start:%Y-%m-%d %H:%M}", f"{start:%Y-%m-%d} 24:00"
    return f"{start:%Y-%m-%d %H:%M}", f"{end:%Y-%m-%d %H:%M}"


DAY_NAMES = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def span_day(day: dt.date, locale: str) -> str:
    """``samedi 12/08`` (``Saturday 08/12``)."""
    names = DAY_NAMES.get(locale, DAY_NAMES["fr"])
    return f"{names[day.weekday()]} {day:%d/%m}" if locale == "fr" else (
        f"{names[day.weekday()]} {day:%m/%d}")  # fmt: skip


def span_text(slot: Slot, tz: ZoneInfo, locale: str) -> str:
    """``sam. 12/08 20:00 → 24:00`` (the end's date only when it is not the same night)."""
    start, end = local(slot.start, tz), local(slot.end, tz)
    names = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.") if locale == "fr" else (
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # fmt: skip
    day = f"{names[start.weekday()]} {start:%d/%m}" if locale == "fr" else (
        f"{names[start.weekday()]} {start:%m/%d}")  # fmt: skip
    midnight = end.hour == 0 and end.minute == 0 and end.date() == start.date() + dt.timedelta(1)
    finish = "24:00" if midnight else f"{end:%H:%M}"
    if end.date() != start.date() and not midnight:
        finish = f"{end:%d/%m %H:%M}" if locale == "fr" else f"{end:%m/%d %H:%M}"
    return f"{day} {start:%H:%M} → {finish}"
