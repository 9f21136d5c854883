"""Pure: a roster file read and checked row by row before anything is applied.

A CSV has the columns ``start,end,role,member`` (French ``debut,fin,role,membre`` too), ``,`` or
``;``, times as ``YYYY-MM-DD HH:MM`` in the region's time zone. An ICS file has one event per
slot: its start and end, the role in CATEGORIES (else SUMMARY) by id or name, the member as an
ATTENDEE (a ``matrix:u/…`` address, else its CN: a name or an RPPS number), none when unfilled. A member is named by Matrix id,
RPPS number or name, matched against the territory's vetted members (none: the slot is to be
filled, as an export writes it). A row is refused for an
unknown or ambiguous member, an unknown role, a time that is not a slot of the templates, a
slot given twice, a member on two slots at once, or a date in the past."""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import icalendar

from bot.rosters.model import Slot, Template, month_slots

HEADERS = {
    "start": "start", "debut": "start", "début": "start",
    "end": "end", "fin": "end",
    "role": "role", "rôle": "role",
    "member": "member", "membre": "member",
}  # fmt: skip
TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")
MAX_ROWS = 20_000


@dataclass(frozen=True)
class Member:
    user_id: str
    name: str = ""
    rpps: str | None = None


@dataclass
class Row:
    line: int
    slot: Slot | None = None
    problems: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (key, params)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Report:
    rows: list[Row]
    problems: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # the whole file
    applied: bool = False  # the valid rows were put on the roster

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.rows)

    @property
    def valid(self) -> list[Slot]:
        return [r.slot for r in self.rows if r.ok and r.slot is not None]


def folded(name: str) -> str:
    """A name as compared: no case, no accents, hyphens and dots as spaces."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[-.'’]", " ", plain).casefold().split())


def instant(text: str, tz: ZoneInfo) -> float:
    """``2027-08-12 20:00`` in ``tz`` (``24:00``: the next midnight). ValueError if not."""
    m = TIME_RE.match(text.strip())
    if not m:
        raise ValueError(text)
    year, month, day, hour, minute = map(int, m.groups())
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise ValueError(text)
    wall = dt.datetime(year, month, day) + dt.timedelta(hours=hour, minutes=minute)
    return wall.replace(tzinfo=tz).timestamp()


class Members:
    """The territory's vetted members, found by Matrix id, RPPS or name."""

    def __init__(self, members: Iterable[Member]):
        self.by_id: dict[str, Member] = {}
        self.by_rpps: dict[str, Member] = {}
        self.by_name: dict[str, list[Member]] = {}
        for m in members:
            self.by_id[m.user_id] = m
            if m.rpps:
                self.by_rpps[m.rpps] = m
            if m.name:
                self.by_name.setdefault(folded(m.name), []).append(m)

    def find(self, ref: str) -> tuple[str | None, str | None]:
        """(user id, None) or (None, why not: a message id)."""
        ref = ref.strip()
        if ref.startswith("@"):
            return (ref, None) if ref in self.by_id else (None, "roster.import.unknown_member")
        if ref.isdigit():
            found = self.by_rpps.get(ref)
            return (found.user_id, None) if found else (None, "roster.import.unknown_member")
        named = self.by_name.get(folded(ref), [])
        if len(named) > 1:
            return None, "roster.import.ambiguous_member"
        return (named[0].user_id, None) if named else (None, "roster.import.unknown_member")


def read_csv(text: str) -> tuple[list[dict[str, str]], list[tuple[str, dict[str, str]]]]:
    """The rows as {start, end, role, member} (with their line numbers under ``line``), or the
    file's problems (no header, a missing column, too many rows)."""
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], [("roster.import.empty", {})]
    columns = [HEADERS.get(h.strip().lower()) for h in header]
    missing = [c for c in ("start", "end", "role", "member") if c not in columns]
    if missing:
        return [], [("roster.import.columns", {"missing": ", ".join(missing)})]
    rows: list[dict[str, str]] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            return [], [("roster.import.too_many", {"n": str(MAX_ROWS)})]
        # A leading apostrophe is how our exports keep a cell from being a formula (``'@x:y``).
        row = {
            col: cells[i].strip().removeprefix("'")
            for i, col in enumerate(columns)
            if col and i < len(cells)
        }
        row["line"] = str(reader.line_num)
        rows.append(row)
    return rows, []


def decoded(data: bytes) -> str:
    """A file's text: UTF-8 (with or without its mark), else Windows-1252 (what a French
    spreadsheet saves as CSV). ValueError if it is neither (a binary file)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="strict")  # ValueError too when not text
        if "\x00" in text:
            raise ValueError("binary") from None
        return text


def is_ics(name: str, text: str) -> bool:
    return name.lower().endswith((".ics", ".ical")) or text.lstrip().startswith("BEGIN:VCALENDAR")


def read_ics(
    text: str, tz: ZoneInfo, roles: dict[str, str]
) -> tuple[list[dict[str, str]], list[tuple[str, dict[str, str]]]]:
    """The events as rows like a CSV's (``line``: where the event begins), their times in
    ``tz``; ``roles``: folded role ids and names → role id. Or the file's problems."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError:
        return [], [("roster.import.bad_ics", {})]
    begins = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "BEGIN:VEVENT"]
    rows: list[dict[str, str]] = []
    for number, event in enumerate(calendar.walk("VEVENT")):
        if len(rows) >= MAX_ROWS:
            return [], [("roster.import.too_many", {"n": str(MAX_ROWS)})]
        line = begins[number] if number < len(begins) else number + 1
        row = {"line": str(line), "start": "", "end": "", "role": "", "member": ""}
        start, end = event.get("DTSTART"), event.get("DTEND")
        if "RRULE" in event:
            row["start"] = "RRULE"  # one event per slot: a repeated one is refused by its time
        elif start is not None and end is not None:
            row["start"], row["end"] = _wall(start.dt, tz), _wall(end.dt, tz)
            for key, value in (("start_ts", start.dt), ("end_ts", end.dt)):
                if isinstance(value, dt.datetime) and value.tzinfo is not None:
                    row[key] = repr(value.timestamp())  # exact, even in the repeated hour
        categories = event.get("CATEGORIES")
        named = [str(c) for c in (categories.cats if hasattr(categories, "cats") else [])]
        for candidate in [*named, str(event.get("SUMMARY", ""))]:
            if folded(candidate) in roles:
                row["role"] = roles[folded(candidate)]
                break
        else:
            row["role"] = named[0] if named else str(event.get("SUMMARY", ""))
        attendees = event.get("ATTENDEE")
        attendee = attendees[0] if isinstance(attendees, list) and attendees else attendees
        if attendee is not None:
            address = str(attendee)
            if address.lower().startswith("matrix:u/"):
                row["member"] = "@" + address[len("matrix:u/") :].split("?")[0]
            else:
                row["member"] = str(attendee.params.get("CN", "")) or address
        rows.append(row)
    return rows, []


def _wall(value: object, tz: ZoneInfo) -> str:
    """An iCalendar time as the region's wall clock (a floating time is taken as it is; a
    whole day is no slot's time)."""
    if not isinstance(value, dt.datetime):
        return str(value)
    if value.tzinfo is not None:
        value = value.astimezone(tz)
    return f"{value:%Y-%m-%d %H:%M}"


class _Held:
    """One member's slots, by start: which one a new slot overlaps, in the order they came
    (what they hold first, then the file's lines), in logarithmic time."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.slots: list[tuple[float, int, Slot, int]] = []  # start, order, slot, line
        self.longest = 0.0

    def add(self, slot: Slot, line: int) -> None:
        entry = (slot.start, len(self.slots), slot, line)
        at = bisect.bisect_right(self.starts, slot.start)
        self.starts.insert(at, slot.start)
        self.slots.insert(at, entry)
        self.longest = max(self.longest, slot.end - slot.start)

    def first_overlap(self, slot: Slot) -> int | None:
        """The line of the first slot (in the order they came) that ``slot`` overlaps (0:
        one held outside the file), or None."""
        lo = bisect.bisect_right(self.starts, slot.start - self.longest)
        hi = bisect.bisect_left(self.starts, slot.end)
        found = [e for e in self.slots[lo:hi] if e[2].overlaps(slot)]
        return min(found, key=lambda e: e[1])[3] if found else None


def check(
    rows: list[dict[str, str]],
    *,
    members: Members,
    roles: Iterable[str],
    templates: set[tuple[float, float, str]],
    held: list[Slot],
    tz: ZoneInfo,
    now: float,
) -> Report:
    """Each row checked against the members, the roles, the templates' slots, the other rows,
    the slots members already hold elsewhere (``held``) and the time now."""
    roles = set(roles)
    report = Report([])
    seen: dict[tuple[float, str], int] = {}
    for raw in rows:
        row = Row(int(raw["line"]))
        report.rows.append(row)
        try:
            start = (
                float(raw["start_ts"]) if "start_ts" in raw else instant(raw.get("start", ""), tz)
            )
            end = float(raw["end_ts"]) if "end_ts" in raw else instant(raw.get("end", ""), tz)
        except ValueError:
            row.problems.append(("roster.import.bad_time", {"value": raw.get("start", "")}))
            continue
        role = raw.get("role", "").strip().lower()
        if role not in roles:
            row.problems.append(("roster.import.unknown_role", {"role": role or "—"}))
        named = raw.get("member", "").strip()
        user, why = members.find(named) if named else (None, None)  # empty: to be filled
        if why:
            row.problems.append((why, {"member": named}))
        if start < now:
            row.problems.append(("roster.import.past", {}))
        if (start, end, role) not in templates and role in roles:
            row.problems.append(("roster.import.outside", {}))
        if (start, role) in seen:
            row.problems.append(("roster.import.twice", {"line": str(seen[(start, role)])}))
        seen.setdefault((start, role), row.line)
        row.slot = Slot(start, end, role, user)
    # A member on two slots at once, in the file or with what they hold outside it: each
    # member's slots kept by start, so only those that could overlap are looked at.
    mine: dict[str, _Held] = {}
    for slot in held:
        if slot.member and (slot.start, slot.role) not in seen:
            mine.setdefault(slot.member, _Held()).add(slot, 0)
    for row in report.rows:
        if row.slot is None or row.slot.member is None:
            continue
        theirs = mine.setdefault(row.slot.member, _Held())
        clash = theirs.first_overlap(row.slot)
        if clash is not None:
            if clash:
                row.problems.append(("roster.import.overlap", {"line": str(clash)}))
            else:  # a slot of theirs the file does not change
                row.problems.append(("roster.import.overlap_held", {}))
        theirs.add(row.slot, row.line)
    return report


# --- a whole file, read and checked (in a worker process for a big one) -------------------------


@dataclass(frozen=True)
class Rules:
    """What reading and checking a territory's file needs, and nothing that cannot be sent to
    a worker process."""

    tz: str
    country: str
    role_ids: tuple[str, ...]
    role_labels: tuple[tuple[str, str], ...]  # (folded label, role id), for ICS files
    templates: tuple[Template, ...]


Problems = list[tuple[str, dict[str, str]]]


def prepare(
    rules: Rules, text: str, name: str
) -> tuple[list[dict[str, str]], Problems, list[Slot]]:
    """The file's rows (or what makes it unreadable), and the templates' slots of the months
    its rows fall in."""
    tz = ZoneInfo(rules.tz)
    if is_ics(name, text):
        rows, problems = read_ics(text, tz, dict(rules.role_labels))
    else:
        rows, problems = read_csv(text)
    if problems:
        return rows, problems, []
    months: set[tuple[int, int]] = set()
    for raw in rows:
        try:
            start = dt.datetime.fromtimestamp(instant(raw.get("start", ""), tz), tz)
            months.add((start.year, start.month))
        except ValueError:
            continue  # refused by ``check`` with its line
    made = [
        s for y, m in sorted(months) for s in month_slots(rules.templates, y, m, tz, rules.country)
    ]
    return rows, problems, made


def verify(
    rules: Rules,
    territory: str,
    rows: list[dict[str, str]],
    members: list[Member],
    made: list[Slot],
    around: list[tuple[str, str, float, float, str | None]],
    now: float,
) -> Report:
    """``check`` with the slots members hold around the file's months (territory, role,
    start, end, member): another territory's slot keeps its own name, the file does not
    change it."""
    held = [
        Slot(start, end, role if where == territory else f"{where}:{role}", member)
        for where, role, start, end, member in around
        if member
    ]
    return check(
        rows,
        members=Members(members),
        roles=rules.role_ids,
        templates={(s.start, s.end, s.role) for s in made},
        held=held,
        tz=ZoneInfo(rules.tz),
        now=now,
    )
