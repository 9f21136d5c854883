"""Days as people type them (``12/08``, ``12/08/2027``, ``demain``, ``samedi``, ``tomorrow``), in
French or English, read in the region's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dateparser


def parse_day(text: str, tz: ZoneInfo, now: float) -> dt.date | None:
    """The day ``text`` names, the next one when the year or the week is not said; None when
    it names none."""
    if not text.strip():
        return None
    base = dt.datetime.fromtimestamp(now, tz).replace(tzinfo=None)
    found = dateparser.parse(
        text,
        languages=["fr", "en"],
        settings={"DATE_ORDER": "DMY", "PREFER_DATES_FROM": "future", "RELATIVE_BASE": base},
    )
    return None if found is None else found.date()


def day_start(day: dt.date, tz: ZoneInfo) -> float:
    """The instant a day begins, there (midnight local time, whatever the change of time)."""
    return dt.datetime.combine(day, dt.time()).replace(tzinfo=tz).timestamp()
