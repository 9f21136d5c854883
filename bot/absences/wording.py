"""An absence as people type it: ``du 12/08 au 26/08 remplacé·e par @x congés d'été`` (``from
12/08 to 26/08 replaced by @x summer leave``), ``le 14/08`` for a single day. Pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import BadArgument

REPLACED = re.compile(
    r"(?:rempla\w*(?:[·.(]\w*\)?)?\s+par|replaced\s+by|remplaçant\w*(?:[·.(]\w*\)?)?\s*:?)"
    r"\s+(@[^\s:]+:\S+)",
    re.IGNORECASE,
)
FROM = re.compile(r"^\s*(?:du|depuis le|from)\s+(.+?)\s+(?:au|jusqu'au|to|until)\s+(.+)$", re.I)
SINGLE = re.compile(r"^\s*(?:le|on)\s+(.+)$", re.IGNORECASE)
YEAR = re.compile(r"\b\d{4}\b|/\d{2}/\d{2}\b")


@dataclass(frozen=True)
class Said:
    first: dt.date
    last: dt.date  # included
    replacement: str | None
    note: str


def read(text: str, day: Callable[[str], dt.date | None]) -> Said:
    """What an ``!absence`` line says; ``day`` reads one day as typed (None: not a day)."""
    replacement = None
    found = REPLACED.search(text)
    if found:
        replacement = found.group(1).rstrip(".,;")
        text = (text[: found.start()] + " " + text[found.end() :]).strip()
    ranged = FROM.match(text)
    if ranged:
        first_text, tail = ranged.group(1), ranged.group(2)
        first = day(first_text)
        if first is None:
            raise BadArgument("absence.bad_day", value=first_text[:40])
        last, last_text, note = _leading_day(tail, day)
        if last is None:
            raise BadArgument("absence.bad_day", value=tail.split(" ", 1)[0][:40])
        if last < first and not YEAR.search(last_text):
            last = _next_year(last)  # du 28/12 au 03/01: the 3rd of January after
    else:
        single = SINGLE.match(text)
        if single is None:
            raise BadArgument("absence.syntax")
        first, _, note = _leading_day(single.group(1), day)
        if first is None:
            raise BadArgument("absence.bad_day", value=single.group(1).split(" ", 1)[0][:40])
        last = first
    if last < first:
        raise BadArgument("absence.backwards")
    return Said(first, last, replacement, " ".join(note.split())[:300])


def _leading_day(
    text: str, day: Callable[[str], dt.date | None]
) -> tuple[dt.date | None, str, str]:
    """The day the text begins with (in up to three words: ``26 août 2027``), the words it
    took, and what follows (a note)."""
    words = text.split()
    for n in (3, 2, 1):
        if len(words) >= n:
            said = " ".join(words[:n])
            found = day(said)
            if found is not None:
                return found, said, " ".join(words[n:])
    return None, "", text


def _next_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # the 29th of February
        return day.replace(year=day.year + 1, day=28)
