"""Calendar feeds (iCalendar, RFC 5545) of the rosters: a member's own slots, and a territory's
roster for those who may read it. Pure: the slots and names come from the caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from icalendar import Calendar, Event

from bot.store.rosters import SlotRow

PRODID = "-//Agora//Listes de garde//FR"


def feed(
    title: str,
    slots: Iterable[SlotRow],
    summary: Callable[[SlotRow], str],
    *,
    domain: str,
    now: float,
) -> bytes:
    """An iCalendar feed of ``slots``, each an event with a stable UID (a calendar that polls
    the feed updates the event when its slot changes hands, and drops it when it goes)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    stamp = _utc(now)
    for slot in slots:
        event = Event()
        event.add("uid", f"garde-{slot.id}@{domain}")
        event.add("dtstamp", stamp)
        event.add("dtstart", _utc(slot.start))
        event.add("dtend", _utc(slot.end))
        event.add("summary", summary(slot))
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)
