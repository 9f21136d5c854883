"""A workshop as an animator types it: ``"RGPD et ROR" 2027-03-14 14h --durée 2h --récurrence
trimestrielle --territoire club --places 40 --lien https://…`` (English: ``"…" 2027-03-14 2pm
--duration 2h --recurrence quarterly --territory x --seats 40 --link https://…``), and the links
it may carry. Pure: the day is read by the caller (``bot.dates.parse_day``, in the region's time
zone)."""

from __future__ import annotations

import calendar
import datetime as dt
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.durations import parse_duration
from bot.errors import BadArgument
from bot.news.fetch import public_address

TITLE = re.compile(r'^\s*(?:"([^"]+)"|“([^”]+)”|«\s*([^»]+?)\s*»)\s*(.*)$', re.DOTALL)
TOKEN = re.compile(r'"[^"]*"|“[^”]*”|«[^»]*»|\S+')
TIME_24 = re.compile(r"^(\d{1,2})(?:h|:)(\d{2})?$", re.IGNORECASE)  # 14h, 14h30, 14:30
TIME_12 = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm)$", re.IGNORECASE)  # 2pm, 2:30pm
CONNECTORS = {"a", "at", "le", "on", "de", "from"}  # « le 14/03 à 14h », "on 14/03 at 2pm"
LONGEST = 3 * 86400.0  # a workshop lasts at most this
SHORTEST = 5 * 60.0
MOST_SEATS = 10_000
TITLE_LENGTH = 200
PLACE_LENGTH = 200
LINK_LENGTH = 500

# Option names, French and English (compared without accents or case).
OPTIONS = {
    "duree": "duration",
    "duration": "duration",
    "recurrence": "recurrence",
    "repeat": "recurrence",
    "territoire": "territory",
    "territory": "territory",
    "places": "seats",
    "seats": "seats",
    "lien": "link",
    "link": "link",
    "lieu": "place",
    "place": "place",
}
RECURRENCES = {
    "hebdomadaire": "weekly",
    "hebdo": "weekly",
    "weekly": "weekly",
    "mensuelle": "monthly",
    "mensuel": "monthly",
    "monthly": "monthly",
    "trimestrielle": "quarterly",
    "trimestriel": "quarterly",
    "quarterly": "quarterly",
}
MONTHS_APART = {"monthly": 1, "quarterly": 3}
# Host names that never reach the outside: the machine, its network, its cloud.
INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")


@dataclass(frozen=True)
class Said:
    title: str
    day: dt.date
    time: dt.time
    duration: float | None  # seconds; None: the default
    recurrence: str  # "", weekly, monthly or quarterly
    territory: str | None
    seats: int | None  # None: no limit
    link: str
    place: str


def folded(text: str) -> str:
    """Lower case, without accents: ``Durée`` and ``duree`` are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _unquoted(token: str) -> str:
    if len(token) >= 2 and token[0] in '"“«' and token[-1] in '"”»':
        return token[1:-1].strip()
    return token


def read(text: str, day: Callable[[str], dt.date | None]) -> Said:
    """What an ``!atelier créer`` line says; ``day`` reads one day as typed (None: not one).
    Raises ``BadArgument`` naming what is wrong."""
    found = TITLE.match(text)
    if found is None:
        raise BadArgument("workshop.no_title")
    title = " ".join(next(g for g in found.groups()[:3] if g is not None).split())
    if not title or len(title) > TITLE_LENGTH:
        raise BadArgument("workshop.bad_title", most=TITLE_LENGTH)
    tokens = TOKEN.findall(found.group(4))
    head: list[str] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            name = OPTIONS.get(folded(token[2:]))
            if name is None:
                raise BadArgument("workshop.bad_option", option=token[:30])
            if i + 1 >= len(tokens) or tokens[i + 1].startswith("--"):
                raise BadArgument("workshop.option_value", option=token[:30])
            options[name] = _unquoted(tokens[i + 1])
            i += 2
            continue
        if options:  # words after the options: nothing reads them
            raise BadArgument("workshop.stray", value=token[:30])
        head.append(token)
        i += 1
    when_day, when_time = _when(head, day)
    return Said(
        title=title,
        day=when_day,
        time=when_time,
        duration=read_duration(options["duration"]) if "duration" in options else None,
        recurrence=read_recurrence(options.get("recurrence", "")),
        territory=options["territory"].lower() if "territory" in options else None,
        seats=read_seats(options["seats"]) if "seats" in options else None,
        link=check_link(options["link"]) if "link" in options else "",
        place=_place(options.get("place", "")),
    )


def _when(words: list[str], day: Callable[[str], dt.date | None]) -> tuple[dt.date, dt.time]:
    """The day and the time at which it begins, in the words before the options."""
    joined: list[str] = []
    for word in words:  # "2 pm" is one time
        if (
            folded(word) in ("am", "pm")
            and joined
            and re.fullmatch(r"\d{1,2}(:\d{2})?", joined[-1])
        ):
            joined[-1] += word.lower()
        else:
            joined.append(word)
    times = [(i, t) for i, w in enumerate(joined) if (t := read_time(w)) is not None]
    if not times:
        raise BadArgument("workshop.no_time")
    index, at = times[-1]
    rest = [w for j, w in enumerate(joined) if j != index and folded(w) not in CONNECTORS]
    said = " ".join(rest)
    if not said:
        raise BadArgument("workshop.no_day")
    found = day(said)
    if found is None:
        raise BadArgument("workshop.bad_day", value=said[:40])
    return found, at


def read_time(word: str) -> dt.time | None:
    """``14h``, ``14h30``, ``14:30``, ``2pm``, ``2:30pm``; None when it is not a time."""
    if m := TIME_24.match(word):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
        return None
    if m := TIME_12.match(word):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if not 1 <= hour <= 12 or minute >= 60:
            return None
        hour = hour % 12 + (12 if m.group(3).lower() == "pm" else 0)
        return dt.time(hour, minute)
    return None


def read_duration(text: str) -> float:
    """``2h``, ``1h30``, ``90min``, ``45m``, ``1 h 30``: seconds, within bounds."""
    said = re.sub(r"(?:minutes?|mins?|mn)\b", "m", folded(text).replace(" ", ""))
    said = re.sub(r"(?:heures?)", "h", said)
    if re.fullmatch(r"\d+h\d+", said):
        said += "m"  # 1h30: thirty minutes
    try:
        seconds = parse_duration(said)
    except ValueError:
        raise BadArgument("workshop.bad_duration", value=text[:30]) from None
    if re.fullmatch(r"\d+(\.\d+)?", said):
        seconds *= 60  # a bare number is minutes: nobody means a 90-second workshop
    if not SHORTEST <= seconds <= LONGEST:
        raise BadArgument("workshop.bad_duration", value=text[:30])
    return seconds


def read_recurrence(text: str) -> str:
    if not text:
        return ""
    found = RECURRENCES.get(folded(text))
    if found is None:
        raise BadArgument("workshop.bad_recurrence", value=text[:30])
    return found


def read_seats(text: str) -> int:
    if not re.fullmatch(r"\d{1,6}", text.strip()) or not 1 <= int(text) <= MOST_SEATS:
        raise BadArgument("workshop.bad_seats", value=text[:30], most=MOST_SEATS)
    return int(text)


def _place(text: str) -> str:
    place = " ".join(text.split())
    if len(place) > PLACE_LENGTH or any(unicodedata.category(c) == "Cc" for c in text):
        raise BadArgument("workshop.bad_place", most=PLACE_LENGTH)
    return place


def check_link(url: str) -> str:
    """A link people may follow from an announcement: https only, to a public host (never
    the machine, a private network, a cloud's metadata service, or a name that is only local),
    without a user name or password in it. The bot never fetches it: the check is on what is
    written (a name is not resolved)."""
    url = url.strip()
    if (
        len(url) > LINK_LENGTH
        or any(c.isspace() or unicodedata.category(c) == "Cc" for c in url)
        or not url.lower().startswith("https://")
    ):
        raise BadArgument("workshop.bad_link")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise BadArgument("workshop.bad_link") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise BadArgument("workshop.bad_link")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        literal = host
    except ValueError:
        literal = ""
        if re.fullmatch(r"[0-9a-fx.]+", host):  # 0x7f000001, 127.1, 2130706433
            try:
                literal = socket.inet_ntoa(socket.inet_aton(host))
            except OSError:
                literal = ""
    if literal:
        if not public_address(literal):
            raise BadArgument("workshop.internal_link")
        return url
    if host == "localhost" or host.endswith(INTERNAL_SUFFIXES) or "." not in host:
        raise BadArgument("workshop.internal_link")
    return url


# --- times, where the region is ------------------------------------------------------------------


def starts_at(day: dt.date, at: dt.time, tz: ZoneInfo) -> float:
    """The instant a workshop begins: the wall clock there, whatever the change of time (a
    time the spring change skips is read as the hour after it)."""
    # fold=0: a time in the spring gap is read with the offset before it (02:30 → 03:30), and
    # one the autumn change repeats is the first of the two.
    return dt.datetime.combine(day, at).replace(tzinfo=tz, fold=0).timestamp()


def next_start(start: float, recurrence: str, tz: ZoneInfo) -> float:
    """The next occurrence's start: a week, a month or three later, at the same wall-clock
    time there (14:00 stays 14:00 across a change of time); the 31st becomes the month's last
    day when the month is shorter."""
    local = dt.datetime.fromtimestamp(start, tz)
    if recurrence == "weekly":
        day = local.date() + dt.timedelta(days=7)
    else:
        months = MONTHS_APART[recurrence]
        index = local.year * 12 + local.month - 1 + months
        year, month = index // 12, index % 12 + 1
        day = dt.date(year, month, min(local.day, calendar.monthrange(year, month)[1]))
    return starts_at(day, local.time().replace(tzinfo=None), tz)
