"""Pure: a poll as MSC3381 writes it (the events Element sends and reads), what a response
selects, how the responses from every room of a poll are counted, and the deadline people
type (``3j``, ``vendredi 18h``, ``12/12``).

Counting follows the MSC: a person's latest response (by ``origin_server_ts``) is their vote,
even when it is invalid (an unknown answer, or none: the vote is spoiled, withdrawn); responses
sent after the poll closed do not count; a withdrawn (redacted) response is as if never sent,
so the one before it counts again. Across the rooms of one poll a person has one vote: their
latest response in any of them. Only members of a room can send into it (the Matrix
authorisation rules, over federation too), so every response recorded is a member's."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import dateparser

from bot.durations import parse_duration

# What Element sends and reads today: the unstable names of MSC3381 (matrix-js-sdk's
# ``M_POLL_START.name`` and the rest are the unstable values), and MSC1767's text blocks.
START_TYPE = "org.matrix.msc3381.poll.start"
RESPONSE_TYPES = ("org.matrix.msc3381.poll.response", "m.poll.response")
END_TYPE = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"
DISCLOSED = "org.matrix.msc3381.poll.disclosed"
MAX_ANSWERS = 20  # the MSC truncates a poll's answers to 20
MAX_QUESTION = 300  # characters
MAX_ANSWER = 120
# A time of day written out: ``18h``, ``18h30``, ``18:30``, ``6pm``, ``midi``.
HOUR = re.compile(r"\b(\d{1,2})\s*h\s*(\d{2})?\b")
TIME_OF_DAY = re.compile(r"\d\s*[h:]|\d\s*(am|pm)\b|\b(midi|minuit|noon|midnight)\b", re.I)


@dataclass(frozen=True)
class Answer:
    id: str
    text: str


def answers_of(texts: Sequence[str]) -> tuple[Answer, ...]:
    """The answers with their ids (opaque to clients; short, and the same on a re-run)."""
    return tuple(Answer(f"a{i}", text) for i, text in enumerate(texts, 1))


def fallback(question: str, answers: Sequence[Answer]) -> str:
    """The poll as text, for clients that do not show polls (as Element writes it)."""
    return "\n".join([question, *(f"{i}. {a.text}" for i, a in enumerate(answers, 1))])


def start_content(question: str, answers: Sequence[Answer]) -> dict[str, Any]:
    """An ``m.poll.start`` (its unstable type and blocks, as Element sends them): one
    selection, results shown as people vote."""
    return {
        START_TYPE: {
            "question": {TEXT: question},
            "kind": DISCLOSED,
            "max_selections": 1,
            "answers": [{"id": a.id, TEXT: a.text} for a in answers],
        },
        TEXT: fallback(question, answers),
    }


def end_content(start_event: str, text: str) -> dict[str, Any]:
    """An ``m.poll.end`` closing the poll ``start_event`` (a reference to it), with its text
    fallback."""
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_event},
        END_TYPE: {},
        TEXT: text,
    }


def responded_to(content: dict[str, Any]) -> str | None:
    """The poll start a response refers to (a reference relation), if it is one."""
    relation = content.get("m.relates_to")
    if not isinstance(relation, dict) or relation.get("rel_type") != "m.reference":
        return None
    event_id = relation.get("event_id")
    return event_id if isinstance(event_id, str) else None


def selections(content: dict[str, Any]) -> tuple[str, ...] | None:
    """What a response selects: the unstable block (``answers``), the stable one, or the
    MSC's later ``m.selections``; None when it says nothing readable (a spoiled vote)."""
    for key in (*RESPONSE_TYPES, "m.selections"):
        if key not in content:
            continue
        block = content[key]
        chosen = block.get("answers") if isinstance(block, dict) else block
        if not isinstance(chosen, list) or not all(isinstance(a, str) for a in chosen):
            return None
        return tuple(chosen)
    return None


@dataclass(frozen=True)
class Response:
    event_id: str
    sender: str
    ts: int  # origin_server_ts, ms
    answers: tuple[str, ...] | None  # None: unreadable (spoils the vote)


@dataclass(frozen=True)
class Tally:
    counts: dict[str, int]  # answer id → votes
    voters: int  # people whose vote counts
    spoiled: int  # people whose latest response counts for nothing

    def share(self, answer_id: str) -> int:
        """The answer's share of the votes, in whole percent."""
        return round(100 * self.counts.get(answer_id, 0) / self.voters) if self.voters else 0


def vote_of(response: Response, known: set[str], max_selections: int = 1) -> tuple[str, ...]:
    """The answers a response counts for: none if it names an unknown one (matrix-js-sdk's
    reading) or none at all; at most ``max_selections``, each once."""
    chosen = response.answers
    if not chosen or any(a not in known for a in chosen):
        return ()
    return tuple(dict.fromkeys(chosen))[:max_selections]


def count(
    answers: Sequence[Answer],
    responses: Iterable[Response],
    closed_at_ms: int,
    max_selections: int = 1,
) -> Tally:
    """The poll's result over ``responses`` from all its rooms (redacted ones left out):
    each person's latest response sent by ``closed_at_ms``."""
    latest: dict[str, Response] = {}
    for r in responses:
        if r.ts > closed_at_ms:
            continue
        earlier = latest.get(r.sender)
        if earlier is None or (r.ts, r.event_id) > (earlier.ts, earlier.event_id):
            latest[r.sender] = r
    known = {a.id for a in answers}
    counts = {a.id: 0 for a in answers}
    voters = spoiled = 0
    for r in latest.values():
        chosen = vote_of(r, known, max_selections)
        if not chosen:
            spoiled += 1
            continue
        voters += 1
        for a in chosen:
            counts[a] += 1
    return Tally(counts, voters, spoiled)


def split_items(text: str) -> list[str]:
    """A poll written one item a line (the question, then each answer): list marks dropped."""
    items = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", "", line).strip()
        if line:
            items.append(line)
    return items


def deadline(text: str, tz: ZoneInfo, now: float) -> float | None:
    """When a poll typed with ``--until text`` ends: after a duration (``3j``, ``2h``, ``1d``),
    or at a moment (``vendredi 18h``, ``12/12 9h``); a day without a time means its end.
    None when ``text`` names neither."""
    raw = text.strip().lower()
    try:
        return now + parse_duration(raw.replace("j", "d"))
    except ValueError:
        pass
    base = dt.datetime.fromtimestamp(now, tz).replace(tzinfo=None)
    # ``18h``, ``18h30``: written as dateparser reads them (it takes ``18h`` for a day).
    spelled = HOUR.sub(lambda m: f"{m[1]}:{m[2] or '00'}", raw)
    found = dateparser.parse(
        spelled,
        languages=["fr", "en"],
        settings={"DATE_ORDER": "DMY", "PREFER_DATES_FROM": "future", "RELATIVE_BASE": base},
    )
    if found is None:
        return None
    if found.tzinfo is not None:
        found = found.astimezone(tz).replace(tzinfo=None)
    try:
        if not TIME_OF_DAY.search(raw):
            found = dt.datetime.combine(found.date() + dt.timedelta(days=1), dt.time())
        return found.replace(tzinfo=tz).timestamp()
    except (OverflowError, ValueError):  # the last day a calendar has: too far, not unreadable
        return math.inf
