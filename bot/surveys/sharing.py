"""Pure: a survey shared with the peer regions, and the aggregates they send back.

A region offers an anonymous survey as a state event of its directory room (which the peers'
bots read, ``bot.federation.directory``): its questions, closing time, professions and
``min_group``. Each peer's bot delivers it to its own members, and at the close writes in its
own directory room only aggregates: counts per option, texts without names, and the breakdown
by group already merged below ``min_group`` (the larger of the two regions'), territories by
their names. Nothing that names a person crosses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from bot.surveys.model import KINDS, LIMITS, MAX_OPTIONS, MAX_QUESTIONS
from bot.surveys.tally import QuestionResult, completed, merge_counts

OFFER = "fr.agora.survey"
RESULT = "fr.agora.survey.result"
MAX_TEXTS = 2000  # text answers a peer may send back for one question


def offer_key(survey_id: int) -> str:
    return f"survey:{survey_id}"


def result_key(origin_server: str, survey_id: int) -> str:
    return f"result:{origin_server}:{survey_id}"


def offer_content(
    survey_id: int,
    title: str,
    questions: list[dict[str, Any]],
    professions: list[str],
    closes: float,
    min_group: int,
) -> dict[str, Any]:
    return {
        "id": survey_id,
        "title": title,
        "questions": questions,
        "professions": professions,
        "closes": int(closes),  # events take no floats (canonical JSON)
        "min_group": min_group,
    }


LATEST_CLOSE = 4_102_444_800  # 2100-01-01: no survey closes later


def read_offer(content: Any) -> dict[str, Any] | None:
    """An offer as a peer wrote it, checked (None if malformed: a peer is trusted to speak
    for its region, not to crash this bot)."""
    if not isinstance(content, dict):
        return None
    title, questions = content.get("title"), content.get("questions")
    professions, closes = content.get("professions", []), content.get("closes")
    survey_id, minimum = content.get("id"), content.get("min_group", 0)
    if not (
        isinstance(survey_id, int)
        and isinstance(title, str)
        and 0 < len(title) <= LIMITS["title"]
        and isinstance(questions, list)
        and 0 < len(questions) <= MAX_QUESTIONS
        and isinstance(professions, list)
        and all(isinstance(p, str) for p in professions)
        and isinstance(closes, int | float)
        and 0 < closes < LATEST_CLOSE  # a date that can be written (9e15 cannot)
        and isinstance(minimum, int)
    ):
        return None
    checked = []
    for q in questions:
        if not isinstance(q, dict) or q.get("kind") not in KINDS:
            return None
        text, options = q.get("text"), q.get("options") or []
        if not (isinstance(text, str) and 0 < len(text) <= LIMITS["question"]):
            return None
        if not (isinstance(options, list) and len(options) <= MAX_OPTIONS):
            return None
        if not all(isinstance(o, str) and 0 < len(o) <= LIMITS["option"] for o in options):
            return None
        if q["kind"] == "choice" and len(options) < 2:
            return None
        checked.append({"kind": q["kind"], "text": text, "options": options})
    return {
        "id": survey_id,
        "title": title,
        "questions": checked,
        "professions": professions,
        "closes": float(closes),
        "min_group": minimum,
    }


def result_content(
    survey_id: int, counts: tuple[int, int, int], results: list[QuestionResult]
) -> dict[str, Any]:
    """What a peer sends back: only aggregates (``results`` made with the merged groups)."""
    sent, began, finished = counts
    return {
        "survey": survey_id,
        "sent": sent,
        "began": began,
        "finished": finished,
        "questions": [
            {
                "answered": r.answered,
                "counts": dict(r.counts),
                "texts": list(r.texts),
                "groups": {d: {g: dict(c) for g, c in gs.items()} for d, gs in r.groups.items()},
            }
            for r in results
        ],
    }


def _counter(data: Any) -> Counter[str] | None:
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in data.items()
    ):
        return None
    return Counter(data)


def read_result(
    content: Any, questions: int, min_group: int
) -> tuple[tuple[int, int, int], list[QuestionResult]] | None:
    """A peer's aggregates, checked; a group it sends below ``min_group`` is dropped (a peer
    with a smaller setting does not make this region show a small group)."""
    if not isinstance(content, dict):
        return None
    counts = tuple(content.get(k) for k in ("sent", "began", "finished"))
    parts = content.get("questions")
    if not all(isinstance(c, int) for c in counts) or not isinstance(parts, list):
        return None
    if len(parts) != questions:
        return None
    out = []
    for part in parts:
        if not isinstance(part, dict):
            return None
        answered, texts = part.get("answered"), part.get("texts", [])
        tally = _counter(part.get("counts", {}))
        raw_groups = part.get("groups", {})
        if (
            not isinstance(answered, int)
            or tally is None
            or not isinstance(texts, list)
            or not all(isinstance(x, str) for x in texts)
            or not isinstance(raw_groups, dict)
        ):
            return None
        groups: dict[str, dict[str, Counter[str]]] = {}
        for dimension, shown in raw_groups.items():
            if dimension not in ("territory", "profession") or not isinstance(shown, dict):
                return None
            kept = {}
            for group, data in shown.items():
                c = _counter(data)
                if c is None:
                    return None
                if sum(c.values()) >= min_group:
                    kept[str(group)] = c
            groups[dimension] = kept
        out.append(QuestionResult(answered, tally, tuple(texts[:MAX_TEXTS]), groups))
    sent, began, finished = (int(c) for c in counts)  # type: ignore[arg-type]
    return (sent, began, finished), out


def combined(own: QuestionResult, peers: list[QuestionResult], min_group: int) -> QuestionResult:
    """This region's aggregate of a question with the peers' (each already merged); what the
    groups shown do not hold (a peer's groups left out) is never a small group by subtraction
    (``completed``)."""
    if not peers:
        return own
    counts = Counter(own.counts)
    for p in peers:
        counts.update(p.counts)
    dimensions = set(own.groups) | {d for p in peers for d in p.groups}
    groups: dict[str, dict[str, Counter[str]]] = {
        d: completed(
            merge_counts([own.groups.get(d, {}), *(p.groups.get(d, {}) for p in peers)]),
            counts,
            min_group,
        )
        for d in sorted(dimensions)
    }
    return QuestionResult(
        own.answered + sum(p.answered for p in peers),
        counts,
        tuple(sorted([*own.texts, *(x for p in peers for x in p.texts)])),
        groups,
    )


def group_names(groups: Mapping[str, Mapping[str, Any]], names: Mapping[str, str]) -> dict:
    """A breakdown with territory ids replaced by their names (a peer's ids mean nothing
    elsewhere); other dimensions as they are."""
    return {
        d: {(names.get(g, g) if d == "territory" else g): c for g, c in gs.items()}
        for d, gs in groups.items()
    }
