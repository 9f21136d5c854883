"""On-call rosters without a server: slots from templates (time changes, public holidays),
and a coordinator's file checked row by row."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from bot.rosters.importing import Member, Members, check, folded, instant, read_csv
from bot.rosters.model import Slot, Template, month_slots, span_text

PARIS = ZoneInfo("Europe/Paris")
PDSA = [
    Template(("mon", "tue", "wed", "thu", "fri"), "20:00", "24:00", "poste"),
    Template(("sat",), "12:00", "24:00", "poste"),
    Template(("sun", "holiday"), "08:00", "20:00", "poste"),
    Template(("sun", "holiday"), "20:00", "24:00", "poste"),
    Template(("sat",), "20:00", "08:00", "mobile"),
]


def hours(slot: Slot) -> float:
    return (slot.end - slot.start) / 3600


def test_a_night_across_the_change_of_time_lasts_as_long_as_it_really_does():
    october = month_slots(PDSA, 2027, 10, PARIS)
    night = next(s for s in october if s.role == "mobile" and "30/10" in span_text(s, PARIS, "fr"))
    assert span_text(night, PARIS, "fr") == "sam. 30/10 20:00 → 31/10 08:00"
    assert hours(night) == 13  # the clocks go back an hour that night
    march = month_slots(PDSA, 2027, 3, PARIS)
    spring = next(s for s in march if s.role == "mobile" and "27/03" in span_text(s, PARIS, "fr"))
    assert hours(spring) == 11  # and forward in March
    evening = next(s for s in october if "lun. 04/10" in span_text(s, PARIS, "fr"))
    assert span_text(evening, PARIS, "fr") == "lun. 04/10 20:00 → 24:00" and hours(evening) == 4


def test_a_public_holiday_is_kept_like_a_sunday():
    may = month_slots(PDSA, 2027, 5, PARIS)
    first = [span_text(s, PARIS, "fr") for s in may if "01/05" in span_text(s, PARIS, "fr")]
    assert first == ["sam. 01/05 08:00 → 20:00", "sam. 01/05 20:00 → 24:00"]  # Saturday, 1 May
    ascension = [s for s in may if "06/05" in span_text(s, PARIS, "fr")]  # a Thursday
    assert [hours(s) for s in ascension] == [12, 4]
    plain_thursday = [s for s in may if "13/05" in span_text(s, PARIS, "fr")]
    assert [hours(s) for s in plain_thursday] == [4]


def test_a_roster_file_is_read_with_french_or_english_headers_and_either_separator():
    rows, problems = read_csv("debut;fin;role;membre\n2027-08-12 20:00;2027-08-12 24:00;poste;x\n")
    assert problems == [] and rows[0]["start"] == "2027-08-12 20:00" and rows[0]["line"] == "2"
    _, missing = read_csv("start,end,who\n")
    assert missing == [("roster.import.columns", {"missing": "role, member"})]
    assert instant("2027-08-12 24:00", PARIS) == instant("2027-08-13 00:00", PARIS)


def test_members_are_found_by_id_rpps_or_name_and_a_shared_name_is_refused():
    members = Members(
        [
            Member("@durand:x", "Corinne Durand-Martin", "10101234564"),
            Member("@leroy1:x", "Paul Leroy"),
            Member("@leroy2:x", "Paul Leroy"),
        ]
    )
    assert members.find("@durand:x") == ("@durand:x", None)
    assert members.find("10101234564") == ("@durand:x", None)
    assert members.find("corinne durand martin") == ("@durand:x", None)
    assert folded("Éléonore  D'Aubigné") == "eleonore d aubigne"
    assert members.find("Paul Leroy") == (None, "roster.import.ambiguous_member")
    assert members.find("@nobody:x") == (None, "roster.import.unknown_member")


def test_every_row_is_checked_before_anything_is_applied():
    august = month_slots(PDSA, 2027, 8, PARIS)
    templates = {(s.start, s.end, s.role) for s in august}
    members = Members([Member("@a:x", "Anne A"), Member("@b:x", "Bruno B")])
    held = [Slot(instant("2027-08-14 12:00", PARIS), instant("2027-08-15 00:00", PARIS),
                 "mmg-orange:poste", "@b:x")]  # fmt: skip
    rows, _ = read_csv(
        "start,end,role,member\n"
        "2027-08-12 20:00,2027-08-12 24:00,poste,@a:x\n"  # fine (a Thursday evening)
        "2027-08-12 20:00,2027-08-12 24:00,poste,Bruno B\n"  # the same slot again
        "2027-08-14 20:00,2027-08-15 08:00,mobile,Bruno B\n"  # on duty elsewhere then
        "2027-08-12 08:00,2027-08-12 20:00,poste,@a:x\n"  # not a slot of the templates
        "2027-08-16 20:00,2027-08-16 24:00,garde,@zz:x\n"  # unknown role and member
        "2020-01-01 20:00,2020-01-01 24:00,poste,@a:x\n"  # past, and outside
        "demain,2027-08-16 24:00,poste,@a:x\n"
    )
    now = dt.datetime(2027, 8, 1, tzinfo=PARIS).timestamp()
    report = check(
        rows, members=members, roles=["poste", "mobile"], templates=templates, held=held,
        tz=PARIS, now=now,
    )  # fmt: skip
    why = {r.line: [key for key, _ in r.problems] for r in report.rows}
    assert why[2] == []
    assert why[3] == ["roster.import.twice"]
    assert why[4] == ["roster.import.overlap_held"]
    assert why[5] == ["roster.import.outside"]
    assert why[6] == ["roster.import.unknown_role", "roster.import.unknown_member"]
    assert why[7] == ["roster.import.past", "roster.import.outside"]
    assert why[8] == ["roster.import.bad_time"]
    assert not report.ok and [s.member for s in report.valid] == ["@a:x"]


async def test_what_is_said_of_a_slot_is_said_once_until_it_changes_hands(tmp_path):
    from bot.store import Store
    from bot.store.rosters import RosterStore

    store = await Store.open(tmp_path / "r.db")
    slots = RosterStore(store)
    await slots.fill("t", [("poste", 100.0, 200.0), ("poste", 300.0, 400.0)], [])
    first, later = await slots.slots("t", 0, 1000)

    async def jobs() -> list[str]:
        async with store.db.execute("SELECT kind, payload FROM jobs ORDER BY id") as cur:
            return [f"{kind} {payload}" for kind, payload in await cur.fetchall()]

    assert await slots.notice_once(first.id, "roster.warn", "tell", {"n": 1})
    assert not await slots.notice_once(first.id, "roster.warn", "tell", {"n": 2})
    assert await jobs() == ['tell {"n": 1}']  # the notice and its job, once
    # Given to someone, then taken back: what was said may be said again.
    await slots.fill("t", [], [("poste", 100.0, 200.0, "@a:x")])
    await slots.fill("t", [], [("poste", 100.0, 200.0, None)])
    assert await slots.notice_once(first.id, "roster.warn", "tell", {"n": 3})
    # The same member put on their slot again changes nothing.
    await slots.fill("t", [], [("poste", 300.0, 400.0, "@a:x")])
    assert await slots.notice_once(later.id, "roster.remind", "tell", {"n": 4})
    await slots.fill("t", [], [("poste", 300.0, 400.0, "@a:x")])
    assert not await slots.notice_once(later.id, "roster.remind", "tell", {"n": 5})

    # A removed member's slots from a time on: emptied and their notice queued together.
    emptied = await slots.empty_from(
        "@a:x", 250.0, lambda rows: [("told", {"ids": [r.id for r in rows]})]
    )
    assert [(r.id, r.member) for r in emptied] == [(later.id, "@a:x")]
    assert (await jobs())[-1] == f'told {{"ids": [{later.id}]}}'
    assert [r.member for r in await slots.slots("t", 0, 1000)] == [None, None]
    assert await slots.empty_from("@a:x", 250.0, lambda rows: [("told", {})]) == []
    assert (await jobs())[-1].startswith('told {"ids"')  # nothing queued for nothing emptied
    await store.close()


def test_an_ics_file_is_read_like_a_csv_its_times_exact_across_the_change_of_time():
    from bot.rosters.importing import decoded, is_ics, read_ics

    ics = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//t//t//FR",
            "BEGIN:VEVENT",
            "UID:1",
            "DTSTAMP:20270101T000000Z",
            "DTSTART;TZID=Europe/Paris:20271030T200000",
            "DTEND;TZID=Europe/Paris:20271031T080000",
            "SUMMARY:Effecteur mobile",
            "ATTENDEE;CN=Claire Martin:mailto:claire@example.org",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:2",
            "DTSTAMP:20270101T000000Z",
            "DTSTART:20270812T180000Z",
            "DTEND:20270812T220000Z",
            "CATEGORIES:poste",
            "ATTENDEE:matrix:u/dr:example.org",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:3",
            "DTSTAMP:20270101T000000Z",
            "DTSTART;VALUE=DATE:20270813",
            "DTEND;VALUE=DATE:20270814",
            "SUMMARY:poste",
            "RRULE:FREQ=WEEKLY",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )
    assert is_ics("planning.ICS", "") and is_ics("x", ics) and not is_ics("g.csv", "debut;fin")
    rows, problems = read_ics(ics, PARIS, {"mobile": "mobile", "effecteur mobile": "mobile",
                                           "poste": "poste"})  # fmt: skip
    assert problems == []
    night, evening, repeated = rows
    assert night["line"] == "4" and night["role"] == "mobile" and night["member"] == "Claire Martin"
    assert float(night["end_ts"]) - float(night["start_ts"]) == 13 * 3600
    assert evening["start"] == "2027-08-12 20:00" and evening["end"] == "2027-08-13 00:00"
    assert evening["member"] == "@dr:example.org" and evening["role"] == "poste"
    assert repeated["start"] == "RRULE"  # one event per slot: refused by check as a bad time
    members = Members([Member("@dr:example.org", "Paul Dr")])
    report = check(rows[1:], members=members, roles=["poste", "mobile"], templates=set(),
                   held=[], tz=PARIS, now=0.0)  # fmt: skip
    assert report.rows[1].problems == [("roster.import.bad_time", {"value": "RRULE"})]
    assert read_ics("not a calendar", PARIS, {}) == ([], [("roster.import.bad_ics", {})])
    # A French spreadsheet's CSV (Windows-1252) is read as well as UTF-8.
    assert decoded("début;fin\n".encode("cp1252")) == "début;fin\n"
    assert decoded("\ufeffdébut".encode()) == "début"


async def test_an_offer_is_carried_out_whole_or_not_at_all(tmp_path):
    from bot.store import Store
    from bot.store.rosters import RosterStore

    store = await Store.open(tmp_path / "o.db")
    slots = RosterStore(store)
    made = [("poste", 100.0, 200.0), ("poste", 300.0, 400.0), ("mobile", 150.0, 250.0)]
    await slots.fill("t", made, [("poste", 100.0, 200.0, "@a:x"), ("poste", 300.0, 400.0, "@b:x")])
    mine, _mobile, theirs = await slots.slots("t", 0, 1000)  # by start: 100, 150, 300

    def said(offer):
        return [("tell", {"done": offer.id})]

    # An exchange: both slots move together, and the offer is done.
    n = await slots.open_offer("t", "swap", mine.id, "@a:x", "@b:x", theirs.id, lambda n: [])
    assert n is not None
    assert (
        await slots.open_offer("t", "release", theirs.id, "@b:x", None, None, lambda n: []) is None
    )
    assert await slots.apply_offer(n, 0.0, said) == "done"
    assert [(s.id, s.member) for s in await slots.slots("t", 0, 1000) if s.member] == [
        (mine.id, "@b:x"), (theirs.id, "@a:x")
    ]  # fmt: skip
    assert await slots.apply_offer(n, 0.0, said) == "roster.offer.closed"  # done once

    # A release taken by someone on duty then: refused, nothing changed.
    await slots.fill("t", [], [("mobile", 150.0, 250.0, "@c:x")])
    n = await slots.open_offer("t", "release", mine.id, "@b:x", None, None, lambda n: [])
    assert await slots.move_offer(n, ("proposed",), "accepted", to="@c:x")
    assert not await slots.move_offer(n, ("proposed",), "accepted", to="@d:x")  # first taker
    assert await slots.apply_offer(n, 0.0, said) == "roster.offer.overlap"
    assert (await slots.slot(mine.id)).member == "@b:x"
    # The slot begun, or changed hands by an import: stale.
    assert await slots.apply_offer(n, 120.0, said) == "roster.offer.stale"
    await slots.fill("t", [], [("poste", 100.0, 200.0, "@e:x")])
    assert await slots.apply_offer(n, 0.0, said) == "roster.offer.stale"
    # Begun offers expire; a member gone has theirs cancelled; closed ones are pruned.
    assert await slots.close_offers(before=120.0) == 1
    assert (await slots.offer(n)).status == "expired"
    m = await slots.open_offer("t", "release", theirs.id, "@a:x", None, None, lambda n: [])
    assert (
        await slots.close_offers(member="@a:x") == 1
        and (await slots.offer(m)).status == "cancelled"
    )
    assert await slots.prune_offers(older_than=time.time() + 1) == 3
    assert await slots.offers() == []
    await store.close()


def test_a_calendar_feed_has_one_stable_event_per_slot_at_the_real_instants():
    from icalendar import Calendar

    from bot.rosters.calendars import feed
    from bot.store.rosters import SlotRow

    # The night of the change of time (last Sunday of October 2027): 20:00 → 08:00 is 13 h.
    start = dt.datetime(2027, 10, 30, 20, tzinfo=PARIS).timestamp()
    end = dt.datetime(2027, 10, 31, 8, tzinfo=PARIS).timestamp()
    slots = [
        SlotRow(7, "pdsa84", "mobile", start, end, "@a:x"),
        SlotRow(8, "pdsa84", "poste", end, end + 3600, None),
    ]
    data = feed("Mes gardes", slots, lambda s: f"Garde {s.role}", domain="agora.example", now=start)
    calendar = Calendar.from_ical(data)
    assert str(calendar["x-wr-calname"]) == "Mes gardes"
    events = calendar.walk("VEVENT")
    assert [str(e["uid"]) for e in events] == ["garde-7@agora.example", "garde-8@agora.example"]
    first = events[0]
    assert (first.decoded("dtend") - first.decoded("dtstart")) == dt.timedelta(hours=13)
    assert first.decoded("dtstart") == dt.datetime(2027, 10, 30, 18, tzinfo=dt.UTC)
    assert str(first["summary"]) == "Garde mobile"


async def test_a_big_file_is_checked_in_a_worker_process_as_it_would_be_here():
    from bot.rosters.book import OFFLOAD_ABOVE, offload
    from bot.rosters.importing import Member, Rules, prepare, verify

    rules = Rules("Europe/Paris", "FR", ("poste", "mobile"), (), tuple(PDSA))
    lines = ["debut;fin;role;membre"]
    day = dt.date(2031, 3, 3)  # a Monday, in the future
    for n in range(40):
        d = day + dt.timedelta(days=7 * n)
        lines.append(f"{d:%Y-%m-%d} 20:00;{d:%Y-%m-%d} 24:00;poste;@a:x")
    lines.append(f"{day:%Y-%m-%d} 20:00;{day:%Y-%m-%d} 24:00;poste;@b:x")  # given twice
    text = "\n".join(lines) + "\n"
    members = [Member("@a:x", "", None), Member("@b:x", "", None)]
    here = prepare(rules, text, "f.csv")
    there = await offload(OFFLOAD_ABOVE, prepare, rules, text, "f.csv")
    assert there == here and len(here[0]) == 41 and not here[1]
    report = await offload(
        OFFLOAD_ABOVE, verify, rules, "pdsa", here[0], members, here[2], [], time.time()
    )
    assert [r.line for r in report.rows if not r.ok] == [42]
    assert report.rows[-1].problems == [("roster.import.twice", {"line": "2"})]


def test_who_coordinates_a_territory_is_found_going_up():
    from bot.territories.model import Network, RoomSpec, Territory

    cpts = Territory("cpts", "CPTS", rooms=(RoomSpec("echanges", "Échanges", "community"),))
    dep = Territory("dep", "Vaucluse", animators=("@anim:x",), territories=(cpts,))
    network = Network((Territory("sud", "Sud", territories=(dep,)),))
    assert [t.id for t in network.lineage("cpts")] == ["sud", "dep", "cpts"]
    assert network.coordinators("cpts") == ("@anim:x",) and network.coordinators("sud") == ()
    assert network.name_of("cpts.echanges") == "Échanges" and network.name_of("dep") == "Vaucluse"
    assert network.name_of("cpts.nope") == "cpts.nope" and network.lineage("nope") == []
