"""Days as people type them (``12/08``, ``12/08/2027``, ``demain``, ``samedi``, ``tomorrow``), in
French or English, read in the region's time zone (written for a reader: ``bot.i18n``)."""

from __future__ import annotations

import datetime as dt
import re
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
