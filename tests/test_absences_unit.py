"""Absences as people type them, without a server."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.absences.wording import read
from bot.dates import parse_day
from bot.errors import BadArgument

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 12, 6, 10, tzinfo=PARIS).timestamp()


def day(text: str) -> dt.date | None:
    return parse_day(text, PARIS, NOW)


def test_a_period_with_a_replacement_and_a_note():
    said = read("du 12/08 au 26/08 remplacé·e par @dr.x:sante.fr congés d'été", day)
    assert (said.first, said.last) == (dt.date(2027, 8, 12), dt.date(2027, 8, 26))
    assert said.replacement == "@dr.x:sante.fr" and said.note == "congés d'été"


@pytest.mark.parametrize(
    "text",
    [
        "from 12/08 to 26/08 replaced by @dr.x:sante.fr",
        "du 12/08 au 26/08 remplacée par @dr.x:sante.fr",
        "du 12 août au 26 août 2027 remplaçant : @dr.x:sante.fr",
        "remplacé par @dr.x:sante.fr du 12/08/2027 au 26/08/2027",
    ],
)
def test_the_ways_to_say_it(text):
    said = read(text, day)
    assert (said.first, said.last, said.replacement) == (
        dt.date(2027, 8, 12),
        dt.date(2027, 8, 26),
        "@dr.x:sante.fr",
    )


def test_a_single_day_words_and_a_period_across_new_year():
    assert read("le 14/08", day).first == read("le 14/08", day).last == dt.date(2027, 8, 14)
    tomorrow = read("du demain au lundi formation", day)
    assert tomorrow.first == dt.date(2026, 12, 7) and tomorrow.last == dt.date(2026, 12, 7)
    assert tomorrow.note == "formation"
    winter = read("du 28/12 au 03/01", day)
    assert (winter.first, winter.last) == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("en vacances", "absence.syntax"),
        ("du bientôt au 26/08", "absence.bad_day"),
        ("du 12/08 au jamais", "absence.bad_day"),
        ("du 26/08/2027 au 12/08/2027", "absence.backwards"),
    ],
)
def test_what_is_not_an_absence_is_named(text, key):
    with pytest.raises(BadArgument) as caught:
        read(text, day)
    assert caught.value.key == key


def test_a_date_without_its_year_typed_on_that_day_or_just_after_is_this_years():
    august = dt.datetime(2027, 8, 20, 10, tzinfo=PARIS).timestamp()
    assert parse_day("20/08", PARIS, august) == dt.date(2027, 8, 20)
    assert parse_day("18/08", PARIS, august) == dt.date(2027, 8, 18)  # announced late
    assert parse_day("22/08", PARIS, august) == dt.date(2027, 8, 22)
    assert parse_day("01/03", PARIS, august) == dt.date(2028, 3, 1)  # long past: next year
    assert parse_day("20/08/2028", PARIS, august) == dt.date(2028, 8, 20)
    assert parse_day("samedi", PARIS, august) == dt.date(2027, 8, 21)
    said = read("du 18/08 au 22/08", lambda s: parse_day(s, PARIS, august))
    assert (said.first, said.last) == (dt.date(2027, 8, 18), dt.date(2027, 8, 22))
