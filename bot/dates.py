"""Days as people type them (``12/08``, ``12/08/2027``, ``demain``, ``samedi``, ``tomorrow``), and
months (``2026-11``, ``novembre 2026``), in French or English, read in the region's time zone
(written for a reader: ``bot.i18n``)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

import dateparser

# A year written out: ``2027``, or two digits after a day and a month (``12/08/27``).
YEAR = re.compile(r"\b\d{4}\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2}\b")
RECENT = 60  # days: a date without its year this recent is this year's, not next year's


def parse_day(text: str, tz: ZoneInfo, now: float) -> dt.date | None:
    """The day ``text`` names; when the year or the week is not said, the next one, unless it
    was in the last ``RECENT`` days (typed on 20/08, ``20/08`` and ``18/08`` are this year's:
    an absence announced late, a roster looked back on); None when it names none."""
    if not text.strip():
        return None
    base = dt.datetime.fromtimestamp(now, tz).replace(tzinfo=None)
    found = dateparser.parse(
        text,
        languages=["fr", "en"],
        settings={"DATE_ORDER": "DMY", "PREFER_DATES_FROM": "future", "RELATIVE_BASE": base},
    )
    if found is None:
        return None
    day, today = found.date(), base.date()
    if not YEAR.search(text) and day > today:
        try:
            earlier = day.replace(year=day.year - 1)
        except ValueError:  # the 29th of February
            earlier = None
        if earlier is not None and today - dt.timedelta(days=RECENT) <= earlier <= today:
            return earlier
    return day


def day_start(day: dt.date, tz: ZoneInfo) -> float:
    """The instant a day begins, there (midnight local time, whatever the change of time)."""
    return dt.datetime.combine(day, dt.time()).replace(tzinfo=tz).timestamp()


# --- months (`!rapport novembre 2026`) ----------------------------------------------------------

MONTH_NAMES = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
# What people abbreviate them to (compared without accents or case, a final dot dropped).
MONTH_ABBREVIATIONS = {
    "janv": 1, "jan": 1, "fevr": 2, "fev": 2, "feb": 2, "avr": 4, "apr": 4, "juil": 7,
    "jul": 7, "aou": 8, "aug": 8, "sept": 9, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    "mar": 3, "jun": 6,
}  # fmt: skip
CURRENT_MONTH = frozenset({"ce mois", "ce mois-ci", "ce mois ci", "this month", "mois courant"})
LAST_MONTH = frozenset(
    {"mois dernier", "le mois dernier", "dernier mois", "mois precedent", "last month"}
)
NUMERIC_MONTH = (
    re.compile(r"(?P<year>\d{4})[-/.](?P<month>\d{1,2})"),  # 2026-11
    re.compile(r"(?P<month>\d{1,2})[-/.](?P<year>\d{4})"),  # 11/2026
)


def _folded(text: str) -> str:
    """Lower case, without accents: ``Août`` and ``aout`` are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _month_words() -> dict[str, int]:
    words = {_folded(name): i + 1 for names in MONTH_NAMES.values() for i, name in enumerate(names)}
    return words | MONTH_ABBREVIATIONS


def shift_month(year: int, month: int, n: int) -> tuple[int, int]:
    """The month ``n`` months after (before, if negative) this one."""
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def parse_month(text: str, tz: ZoneInfo, now: float) -> tuple[int, int] | None:
    """(year, month) for a month as people type it: ``2026-11``, ``11/2026``, ``novembre``,
    ``novembre 2026``, ``nov. 2026``, ``November 2026``, ``mois dernier``; nothing: the current
    month (in ``tz``). A month named without its year is the latest one not after the current
    month (``novembre`` typed in February is last November). None when it names no month."""
    today = dt.datetime.fromtimestamp(now, tz).date()
    said = " ".join(_folded(text).replace(",", " ").split())
    if not said or said in CURRENT_MONTH:
        return today.year, today.month
    if said in LAST_MONTH:
        return shift_month(today.year, today.month, -1)
    found: tuple[int, int] | None = None
    for pattern in NUMERIC_MONTH:
        if match := pattern.fullmatch(said):
            found = int(match["year"]), int(match["month"])
    words = [w.removesuffix(".") for w in said.split() if w not in ("de", "of")]
    if found is None and 1 <= len(words) <= 2:
        months = [_month_words()[w] for w in words if w in _month_words()]
        years = [int(w) for w in words if re.fullmatch(r"\d{4}", w)]
        if len(months) == 1 and len(months) + len(years) == len(words):
            month = months[0]
            if years:
                found = years[0], month
            else:
                found = (today.year if month <= today.month else today.year - 1), month
    if found is None or not (1 <= found[1] <= 12 and 2000 <= found[0] <= 2100):
        return None
    return found


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[float, float]:
    """When a month begins and when the next one does, there (local midnights)."""
    after = shift_month(year, month, 1)
    return day_start(dt.date(year, month, 1), tz), day_start(dt.date(*after, 1), tz)


def month_label(year: int, month: int, locale: str) -> str:
    """``novembre 2026``, ``November 2026``."""
    return f"{MONTH_NAMES.get(locale, MONTH_NAMES['fr'])[month - 1]} {year}"
