"""Workshops, without a server: the line an animator types (French and English dates and
times, durations, recurrences, seats, links), the next occurrence across a change of time, and
the waiting list (first come, first served)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.dates import parse_day
from bot.errors import BadArgument
from bot.store.workshops import REGISTERED, WAITING, Seat
from bot.workshops import seats
from bot.workshops.wording import check_link, next_start, read, read_duration, starts_at

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=PARIS).timestamp()


def said(text: str):
    return read(text, lambda s: parse_day(s, PARIS, NOW))


def problem(text: str) -> str:
    with pytest.raises(BadArgument) as raised:
        said(text)
    return raised.value.key


def test_a_french_line_with_every_option():
    got = said(
        '"RGPD et ROR" 2027-03-14 14h --durée 2h --récurrence trimestrielle '
        "--territoire Club --places 40 --lien https://visio.example.org/rgpd?x=1"
    )
    assert got.title == "RGPD et ROR"
    assert (got.day, got.time) == (dt.date(2027, 3, 14), dt.time(14, 0))
    assert got.duration == 7200 and got.recurrence == "quarterly"
    assert got.territory == "club" and got.seats == 40
    assert got.link == "https://visio.example.org/rgpd?x=1"


def test_an_english_line():
    got = said(
        '"GDPR and ROR" 2027-03-14 2pm --duration 90min --recurrence monthly '
        "--territory x --seats 12 --link https://meet.example.com/a"
    )
    assert (got.day, got.time) == (dt.date(2027, 3, 14), dt.time(14, 0))
    assert got.duration == 5400 and got.recurrence == "monthly" and got.seats == 12


@pytest.mark.parametrize(
    ("line", "day", "time"),
    [
        ('"A" 14/03/2027 14h30', dt.date(2027, 3, 14), dt.time(14, 30)),
        ('"A" le 14 mars 2027 à 9h', dt.date(2027, 3, 14), dt.time(9, 0)),
        ("« A » 14/03 18:45", dt.date(2027, 3, 14), dt.time(18, 45)),  # the next 14 March
        ('"A" March 14, 2027 at 2:30 pm', dt.date(2027, 3, 14), dt.time(14, 30)),
        ('"A" 2027-03-14 12am', dt.date(2027, 3, 14), dt.time(0, 0)),
        ('"A" demain 10h', dt.date(2026, 12, 7), dt.time(10, 0)),
        ("“A” tomorrow 10am", dt.date(2026, 12, 7), dt.time(10, 0)),
    ],
)
def test_days_and_times_as_people_type_them(line, day, time):
    got = said(line)
    assert (got.day, got.time) == (day, time)
    assert got.duration is None and got.recurrence == "" and got.seats is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2h", 7200), ("1h30", 5400), ("90min", 5400), ("45m", 2700), ("1 h 30", 5400), ("90", 5400)],
)
def test_durations(text, seconds):
    assert read_duration(text) == seconds


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("2027-03-14 14h", "workshop.no_title"),
        ('"A" 2027-03-14', "workshop.no_time"),
        ('"A" 14h', "workshop.no_day"),
        ('"A" jamais 14h', "workshop.bad_day"),
        ('"A" 2027-03-14 25h', "workshop.no_time"),
        ('"A" 2027-03-14 14h --durée deux', "workshop.bad_duration"),
        ('"A" 2027-03-14 14h --durée 1min', "workshop.bad_duration"),
        ('"A" 2027-03-14 14h --durée 4d', "workshop.bad_duration"),
        ('"A" 2027-03-14 14h --récurrence annuelle', "workshop.bad_recurrence"),
        ('"A" 2027-03-14 14h --places 0', "workshop.bad_seats"),
        ('"A" 2027-03-14 14h --places quarante', "workshop.bad_seats"),
        ('"A" 2027-03-14 14h --salle 3', "workshop.bad_option"),
        ('"A" 2027-03-14 14h --places', "workshop.option_value"),
        ('"A" 2027-03-14 14h --places 4 en plus', "workshop.stray"),
    ],
)
def test_what_is_wrong_is_named(line, key):
    assert problem(line) == key


@pytest.mark.parametrize(
    "url",
    [
        "https://visio.example.org/rgpd",
        "https://8.8.8.8/x",
        "https://[2606:4700::1111]/x",
        "https://meet.example.com:8443/a?b=c#d",
    ],
)
def test_public_https_links_are_taken(url):
    assert check_link(url) == url


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://visio.example.org/", "workshop.bad_link"),
        ("javascript:alert(1)", "workshop.bad_link"),
        ("https://user:pw@example.org/", "workshop.bad_link"),
        ("https://exa mple.org/", "workshop.bad_link"),
        ("https://example.org:port/", "workshop.bad_link"),
        ("https://localhost/", "workshop.internal_link"),
        ("https://127.0.0.1:8008/_matrix", "workshop.internal_link"),
        ("https://2130706433/", "workshop.internal_link"),
        ("https://0x7f000001/", "workshop.internal_link"),
        ("https://10.1.2.3/", "workshop.internal_link"),
        ("https://192.168.1.10/", "workshop.internal_link"),
        ("https://169.254.169.254/latest/meta-data", "workshop.internal_link"),
        ("https://[::1]/", "workshop.internal_link"),
        ("https://[::ffff:10.0.0.1]/", "workshop.internal_link"),
        ("https://intranet/", "workshop.internal_link"),
        ("https://nas.local/", "workshop.internal_link"),
        ("https://metadata.google.internal/", "workshop.internal_link"),
    ],
)
def test_internal_and_unsafe_links_are_refused(url, key):
    with pytest.raises(BadArgument) as raised:
        check_link(url)
    assert raised.value.key == key


def test_a_workshop_keeps_its_wall_clock_time_across_a_change_of_time():
    # 14:00 in Paris on 14 March (winter, UTC+1), then the next quarter on 14 June (summer).
    start = starts_at(dt.date(2027, 3, 14), dt.time(14, 0), PARIS)
    assert dt.datetime.fromtimestamp(start, dt.UTC).hour == 13
    after = next_start(start, "quarterly", PARIS)
    local = dt.datetime.fromtimestamp(after, PARIS)
    assert (local.date(), local.hour, local.minute) == (dt.date(2027, 6, 14), 14, 0)
    assert dt.datetime.fromtimestamp(after, dt.UTC).hour == 12
    # A week across the autumn change: 168 hours and one.
    octobre = starts_at(dt.date(2027, 10, 28), dt.time(18, 0), PARIS)
    assert next_start(octobre, "weekly", PARIS) - octobre == 7 * 86400 + 3600


def test_the_31st_recurs_on_the_last_day_of_a_shorter_month():
    start = starts_at(dt.date(2027, 1, 31), dt.time(9, 0), PARIS)
    local = dt.datetime.fromtimestamp(next_start(start, "monthly", PARIS), PARIS)
    assert local.date() == dt.date(2027, 2, 28) and local.hour == 9


def test_a_time_the_spring_change_skips_is_the_hour_after():
    start = starts_at(dt.date(2027, 3, 28), dt.time(2, 30), PARIS)
    local = dt.datetime.fromtimestamp(start, PARIS)
    assert (local.hour, local.minute) == (3, 30)


# --- the waiting list ---------------------------------------------------------------------------


def test_seats_go_first_come_first_served_then_people_wait():
    taken: list[Seat] = []
    for order, user in enumerate(["a", "b", "c", "d"]):
        taken.append(Seat(user, seats.place(2, taken), order))
    assert [s.status for s in taken] == [REGISTERED, REGISTERED, WAITING, WAITING]
    counted = seats.count(2, taken)
    assert (counted.registered, counted.waiting, counted.left) == (2, 2, 0)


def test_a_seat_given_up_goes_to_the_first_one_waiting():
    taken = [
        Seat("a", REGISTERED, 1),
        Seat("d", WAITING, 4),
        Seat("c", WAITING, 3),
    ]  # "b" (2) gave up their seat
    assert seats.promoted(2, taken) == ["c"]
    assert seats.promoted(3, taken) == ["c", "d"]  # more seats: both
    assert seats.promoted(1, taken) == []


def test_nobody_jumps_the_queue_while_people_wait():
    taken = [Seat("a", REGISTERED, 1), Seat("c", WAITING, 3)]
    assert seats.place(2, taken) == WAITING  # a free seat is the waiting one's, not theirs


def test_without_a_limit_everyone_has_a_seat():
    taken = [Seat(str(i), REGISTERED, i) for i in range(500)]
    assert seats.place(None, taken) == REGISTERED
    assert seats.count(None, taken).left is None


# --- the waiting list in the store: one transaction with what follows ----------------------------


async def test_the_store_keeps_the_queue_and_promotes_with_its_notice(tmp_path):
    from bot.store import Store
    from bot.store.workshops import WorkshopStore

    store = await Store.open(tmp_path / "agora.db")
    try:
        workshops = WorkshopStore(store)
        row, fresh = await workshops.add(
            territory="club", title="RGPD et ROR", start=NOW + 86400, end=NOW + 93600,
            recurrence="", seats=2, link="", place="", author="@anim:x", jobs=[],
            cause="$create",
        )  # fmt: skip
        assert fresh
        again, fresh = await workshops.add(
            territory="club", title="RGPD et ROR", start=NOW + 86400, end=NOW + 93600,
            recurrence="", seats=2, link="", place="", author="@anim:x", jobs=[],
            cause="$create",
        )  # fmt: skip
        assert again.id == row.id and not fresh  # the same command run again after a crash
        got = [
            await workshops.register(row, who, "command", [], seats.place)
            for who in ("@a:x", "@b:y", "@c:x", "@d:x")
        ]
        assert [g.status for g in got] == [REGISTERED, REGISTERED, WAITING, WAITING]
        assert (await workshops.register(row, "@c:x", "reaction", [], seats.place)).fresh is False
        had, up = await workshops.withdraw(row, "@b:y", [], "workshops.tell", seats.promoted)
        assert (had, up) == (REGISTERED, ["@c:x"])
        assert await workshops.registered(row.id) == ["@a:x", "@c:x"]
        async with store.db.execute(
            "SELECT payload FROM jobs WHERE kind = 'workshops.tell'"
        ) as cur:
            told = [r[0] for r in await cur.fetchall()]
        assert len(told) == 1 and '"@c:x"' in told[0] and '"promoted"' in told[0]
        # Someone waiting who gives up their place promotes nobody.
        had, up = await workshops.withdraw(row, "@d:x", [], "workshops.tell", seats.promoted)
        assert (had, up) == (WAITING, [])
        assert await workshops.withdraw(row, "@z:x", [], "workshops.tell", seats.promoted) == (
            None,
            [],
        )
    finally:
        await store.close()
