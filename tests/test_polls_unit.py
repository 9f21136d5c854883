"""Polls without a server: the events as Element sends and reads them, what a response
selects, the count over every room's responses (MSC3381's rules), the deadline as people
type it, and the poll as they write it in a command."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict
from zoneinfo import ZoneInfo

import pytest
from nio import UnknownEvent

from bot.commands.polls import items_of
from bot.matrix.sync import PollResponse, acted_on, revive
from bot.polls.model import (
    END_TYPE,
    START_TYPE,
    TEXT,
    Response,
    answers_of,
    count,
    deadline,
    end_content,
    responded_to,
    selections,
    start_content,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 12, 6, 10, tzinfo=PARIS).timestamp()  # a Sunday
ANSWERS = answers_of(["Mardi", "Jeudi", "Samedi"])
CLOSE = 10_000


def vote(event_id: str, sender: str, ts: int, *answers: str) -> Response:
    return Response(event_id, sender, ts, tuple(answers))


# --- the events ------------------------------------------------------------------------------


def test_the_start_is_what_element_sends():
    content = start_content("Quand ?", ANSWERS)
    poll = content[START_TYPE]
    assert poll["question"] == {TEXT: "Quand ?"}
    assert poll["kind"] == "org.matrix.msc3381.poll.disclosed" and poll["max_selections"] == 1
    assert poll["answers"] == [
        {"id": "a1", TEXT: "Mardi"},
        {"id": "a2", TEXT: "Jeudi"},
        {"id": "a3", TEXT: "Samedi"},
    ]
    assert content[TEXT] == "Quand ?\n1. Mardi\n2. Jeudi\n3. Samedi"


def test_the_end_refers_to_the_start_with_a_text_fallback():
    content = end_content("$start", "Le vote est clos.")
    assert content["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$start"}
    assert content[END_TYPE] == {} and content[TEXT] == "Le vote est clos."
    assert responded_to(content) == "$start"


@pytest.mark.parametrize(
    ("content", "chosen"),
    [
        ({"org.matrix.msc3381.poll.response": {"answers": ["a2"]}}, ("a2",)),
        ({"m.poll.response": {"answers": ["a1"]}}, ("a1",)),
        ({"m.selections": ["a3"]}, ("a3",)),
        ({"org.matrix.msc3381.poll.response": {"answers": []}}, ()),
        ({"org.matrix.msc3381.poll.response": {"answers": "a1"}}, None),
        ({"org.matrix.msc3381.poll.response": {}}, None),
        ({}, None),
    ],
)
def test_what_a_response_selects(content, chosen):
    assert selections(content) == chosen


def test_an_encrypted_response_read_from_sync_is_a_poll_response_kept_as_a_row():
    source = {
        "type": "org.matrix.msc3381.poll.response",
        "event_id": "$r1",
        "sender": "@ide:sud.example",
        "origin_server_ts": 1234,
        "content": {
            "m.relates_to": {"rel_type": "m.reference", "event_id": "$start"},
            "org.matrix.msc3381.poll.response": {"answers": ["a1"]},
        },
    }
    event = UnknownEvent.from_dict(source)
    found = acted_on(event, "!room:sud.example", "@agora:sud.example", "!", frozenset())
    assert found == PollResponse(
        "!room:sud.example", "$r1", "@ide:sud.example", "$start", source["content"], 1234
    )
    assert revive("poll_response", asdict(found)) == found


def test_an_unrelated_event_of_another_type_is_nothing():
    event = UnknownEvent.from_dict(
        {
            "type": "org.example.other",
            "event_id": "$x",
            "sender": "@a:b",
            "origin_server_ts": 1,
            "content": {},
        }
    )
    assert acted_on(event, "!r:b", "@agora:b", "!", frozenset()) is None


# --- the count -------------------------------------------------------------------------------


def test_each_person_counts_once_for_their_latest_response_across_rooms():
    tally = count(
        ANSWERS,
        [
            vote("$1", "@ide", 100, "a1"),
            vote("$2", "@ide", 200, "a2"),  # changed their mind
            vote("$3", "@med", 150, "a1"),
            vote("$4", "@med", 300, "a3"),  # answered again in another room
            vote("$5", "@kine", 120, "a2"),
        ],
        CLOSE,
    )
    assert tally.counts == {"a1": 0, "a2": 2, "a3": 1}
    assert (tally.voters, tally.spoiled) == (3, 0)
    assert tally.share("a2") == 67


def test_responses_after_the_close_do_not_count():
    tally = count(
        ANSWERS, [vote("$1", "@ide", 100, "a1"), vote("$2", "@ide", CLOSE + 1, "a2")], CLOSE
    )
    assert tally.counts["a1"] == 1 and tally.counts["a2"] == 0


def test_the_latest_response_counts_even_when_it_spoils_the_vote():
    for spoiling in (vote("$2", "@ide", 200), vote("$2", "@ide", 200, "a1", "zz")):
        tally = count(ANSWERS, [vote("$1", "@ide", 100, "a1"), spoiling], CLOSE)
        assert tally.counts["a1"] == 0 and (tally.voters, tally.spoiled) == (0, 1)
    unreadable = Response("$2", "@ide", 200, None)
    assert count(ANSWERS, [vote("$1", "@ide", 100, "a1"), unreadable], CLOSE).spoiled == 1


def test_a_response_counts_its_first_selection_only_once():
    tally = count(ANSWERS, [vote("$1", "@ide", 100, "a2", "a2", "a3")], CLOSE)
    assert tally.counts == {"a1": 0, "a2": 1, "a3": 0}


def test_the_same_instant_is_decided_by_event_id_whatever_the_order():
    a, b = vote("$a", "@ide", 100, "a1"), vote("$b", "@ide", 100, "a2")
    assert count(ANSWERS, [a, b], CLOSE).counts == count(ANSWERS, [b, a], CLOSE).counts
    assert count(ANSWERS, [a, b], CLOSE).counts["a2"] == 1


def test_nobody_voted():
    tally = count(ANSWERS, [], CLOSE)
    assert tally.voters == 0 and tally.share("a1") == 0


# --- the deadline ----------------------------------------------------------------------------


def at(text: str) -> dt.datetime | None:
    found = deadline(text, PARIS, NOW)
    return None if found is None else dt.datetime.fromtimestamp(found, PARIS)


def test_a_duration_from_now():
    assert deadline("3j", PARIS, NOW) == NOW + 3 * 86400
    assert deadline("2h", PARIS, NOW) == NOW + 7200
    assert deadline("1d", PARIS, NOW) == NOW + 86400


def test_a_calendars_last_day_is_too_far_not_a_crash():
    assert deadline("31/12/9999", PARIS, NOW) == math.inf


def test_a_day_and_a_time():
    assert at("12/12/2026 18h") == dt.datetime(2026, 12, 12, 18, tzinfo=PARIS)
    assert at("vendredi 18h") == dt.datetime(2026, 12, 11, 18, tzinfo=PARIS)
    assert at("demain 9h30") == dt.datetime(2026, 12, 7, 9, 30, tzinfo=PARIS)


def test_a_day_alone_means_its_end():
    assert at("12/12/2026") == dt.datetime(2026, 12, 13, 0, tzinfo=PARIS)


def test_words_that_name_no_moment():
    assert deadline("jamais", PARIS, NOW) is None


# --- the poll as typed -------------------------------------------------------------------------


def test_question_and_answers_in_quotes():
    assert items_of('"Quand ?" "Mardi 14h" « Jeudi »') == ["Quand ?", "Mardi 14h", "Jeudi"]


def test_question_and_answers_one_a_line():
    assert items_of("Quand se réunir ?\n- Mardi 14h\n2. Jeudi\n\n* Samedi") == [
        "Quand se réunir ?",
        "Mardi 14h",
        "Jeudi",
        "Samedi",
    ]


# --- the store: each response once, a withdrawn one gone, closed once ----------------------------


async def stored_poll(tmp_path):
    from bot.store import Store
    from bot.store.polls import PollStore

    store = await Store.open(tmp_path / "a.db")
    polls = PollStore(store)
    row = await polls.add(
        "@anim:sud", "Quand ?", [(a.id, a.text) for a in ANSWERS], "vaucluse", 1e10,
        ["!a:sud", "!b:sud"], jobs=[("polls.close", {}, 1e10)],
    )  # fmt: skip
    await polls.sent(row.id, "!a:sud", "start", "$start-a")
    await polls.sent(row.id, "!b:sud", "start", "$start-b")
    return store, polls, row


async def tally_of(polls, row) -> dict[str, int]:
    responses = [
        Response(r.event_id, r.sender, r.ts, r.answers) for r in await polls.responses(row.id)
    ]
    return count(ANSWERS, responses, CLOSE).counts


async def test_each_response_is_recorded_once_and_a_withdrawn_one_no_longer_counts(tmp_path):
    store, polls, row = await stored_poll(tmp_path)
    assert await polls.poll_of_start("$start-b") == row.id
    assert await polls.add_response(row.id, "$1", "!a:sud", "@ide", 100, ("a1",))
    assert not await polls.add_response(row.id, "$1", "!a:sud", "@ide", 100, ("a1",))
    assert await polls.add_response(row.id, "$2", "!b:sud", "@ide", 200, ("a3",))
    assert await tally_of(polls, row) == {"a1": 0, "a2": 0, "a3": 1}
    assert await polls.withdraw_response("!b:sud", "$2")  # redacted: the earlier one again
    assert await tally_of(polls, row) == {"a1": 1, "a2": 0, "a3": 0}
    assert not await polls.withdraw_response("!b:sud", "$unknown")
    await store.close()


async def test_a_forgotten_persons_responses_are_erased(tmp_path):
    store, polls, row = await stored_poll(tmp_path)
    await polls.add_response(row.id, "$1", "!a:sud", "@ide", 100, ("a1",))
    await polls.add_response(row.id, "$2", "!a:sud", "@med", 100, ("a2",))
    assert await polls.forget("@ide") == 1
    assert [r.sender for r in await polls.responses(row.id)] == ["@med"]
    await store.close()


async def test_a_poll_closes_once_and_forgets_its_responses_when_done(tmp_path):
    store, polls, row = await stored_poll(tmp_path)
    await polls.add_response(row.id, "$1", "!a:sud", "@ide", 100, ("a1",))
    assert await polls.close(row.id, 5.0, [("polls.end", {}, None)])
    assert not await polls.close(row.id, 6.0, [("polls.end", {}, None)])
    closed = await polls.get(row.id)
    assert closed is not None and (closed.status, closed.closed_at) == ("closed", 5.0)
    assert len(await store.pending_jobs("polls.end")) == 1
    await polls.done(row.id)
    done = await polls.get(row.id)
    assert done is not None and done.status == "done" and not await polls.responses(row.id)
    await store.close()


def test_the_command_reads_its_options_in_french_and_english():
    from types import SimpleNamespace

    from bot.commands import load_commands

    registry = load_commands()
    group = registry.get("poll")
    assert group is not None and group.name == "vote"
    line = '"Quand ?" "Mardi" "Jeudi" --territoire vaucluse --jusqu’à "vendredi 18h"'
    sub, _, rest = group.resolve(line)
    assert sub is not None and sub.name == "vote creer"
    args = sub.parse_args(rest, SimpleNamespace(prefix="!", locale="fr", registry=registry))
    assert args == {"text": '"Quand ?" "Mardi" "Jeudi"', "territory": "vaucluse",
                    "until": "vendredi 18h"}  # fmt: skip
    assert items_of(args["text"]) == ["Quand ?", "Mardi", "Jeudi"]
    sub, _, rest = group.resolve("end 12")
    assert sub is not None and sub.name == "vote fin"
