"""Pure: what a survey is, the guided conversation that writes one (`!sondage créer`), and
reading a respondent's answer to a question.

The draft is a step name and the data gathered so far (JSON-able, kept in the store between
messages); ``draft_answer(draft, text, offer)`` returns the next draft and what to say. Each
answer is checked as it comes, so a mistake is asked again at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import day_text, t

KINDS = ("choice", "scale", "text")
SCALE = range(1, 6)
LIMITS = {"title": 200, "question": 500, "option": 100, "answer": 1000}
MAX_QUESTIONS = 20
MAX_OPTIONS = 10
YES = {"oui", "o", "yes", "y", "ok", "d'accord", "valider"}
NO = {"non", "n", "no"}
ALL = {"tous", "toutes", "tout", "all", "*"}
DONE = {"fin", "terminé", "termine", "done", "end"}


LONGEST_DAYS = 366  # a survey closes within a year (a later date is a typing slip)


@dataclass(frozen=True)
class Question:
    kind: str  # choice, scale or text
    text: str
    options: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "options": list(self.options)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        return cls(data["kind"], data["text"], tuple(data.get("options") or ()))


@dataclass(frozen=True)
class Offer:
    """What the author may choose from: territories they may survey (id, name), the
    professions (id, label in their language), the time zone's day reader and the clock."""

    territories: tuple[tuple[str, str], ...]
    professions: tuple[tuple[str, str], ...]
    parse_day: Callable[[str], dt.date | None]
    end_of: Callable[[dt.date], float]  # the instant a day ends, where the region is
    now: float


@dataclass
class Draft:
    step: str = "title"
    data: dict[str, Any] = field(default_factory=dict)
    locale: str = "fr"


@dataclass
class DraftReply:
    text: str
    draft: Draft | None  # None: the conversation is over
    submit: dict[str, Any] | None = None  # the survey to open


def start(locale: str, prefix: str = "!") -> str:
    return (
        t("survey.draft.intro", locale, prefix=prefix)
        + "\n\n"
        + t("survey.draft.ask.title", locale)
    )


def _numbered(items: list[tuple[str, str]]) -> str:
    return "\n".join(f"{i}. {label} ({key})" for i, (key, label) in enumerate(items, 1))


def question_prompt(draft: Draft, offer: Offer) -> str:
    """What the step asks."""
    loc, step = draft.locale, draft.step
    n = len(draft.data.get("questions", [])) + 1
    if step == "title":
        return t("survey.draft.ask.title", loc)
    if step == "kind":
        done = t("survey.draft.ask.kind_done", loc) if n > 1 else ""
        return t("survey.draft.ask.kind", loc, n=n) + done
    if step == "text":
        return t("survey.draft.ask.text", loc, n=n)
    if step == "options":
        return t("survey.draft.ask.options", loc, most=MAX_OPTIONS)
    if step == "territories":
        return t("survey.draft.ask.territories", loc) + "\n" + _numbered(list(offer.territories))
    if step == "professions":
        return t("survey.draft.ask.professions", loc) + "\n" + _numbered(list(offer.professions))
    if step == "anonymous":
        return t("survey.draft.ask.anonymous", loc)
    if step == "closes":
        return t("survey.draft.ask.closes", loc)
    return t("survey.draft.ask.confirm", loc, summary=summary(draft.data, offer, loc))


def summary(data: dict[str, Any], offer: Offer, locale: str) -> str:
    every = t("survey.everyone", locale)
    names = dict(offer.territories)
    labels = dict(offer.professions)
    lines = [t("survey.summary.title", locale, title=data["title"])]
    for i, q in enumerate(data["questions"], 1):
        question = Question.from_json(q)
        lines.append(f"{i}. {question.text} — {kind_label(question, locale)}")
    territories = ", ".join(names.get(x, x) for x in data["territories"]) or every
    professions = ", ".join(labels.get(x, x) for x in data["professions"]) or every
    lines.append(
        t("survey.summary.audience", locale, territories=territories, professions=professions)
    )
    anonymous = data["anonymous"]
    lines.append(t("survey.summary.anonymous" if anonymous else "survey.summary.named", locale))
    lines.append(
        t(
            "survey.summary.closes",
            locale,
            day=day_text(dt.date.fromisoformat(data["closes_day"]), locale),
        )
    )
    return "\n".join(lines)


def kind_label(question: Question, locale: str) -> str:
    if question.kind == "choice":
        return t("survey.kind.choice", locale, options=" / ".join(question.options))
    if question.kind == "scale":
        return t("survey.kind.scale", locale)
    return t("survey.kind.text", locale)


def _text_problem(text: str, limit: int, locale: str) -> str | None:
    if not text:
        return t("survey.problem.empty", locale)
    if len(text) > limit:
        return t("survey.problem.too_long", locale, limit=limit)
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        return t("survey.problem.control", locale)
    return None


def _pick_many(text: str, items: tuple[tuple[str, str], ...]) -> list[str] | None:
    """Several of ``items`` by number or id (commas or spaces between); [] for all; None if
    one is not in the list."""
    words = [w for w in text.replace(",", " ").replace(";", " ").lower().split() if w]
    if not words or (len(words) == 1 and words[0] in ALL):
        return []
    picked: list[str] = []
    for word in words:
        if word.isdigit() and 1 <= int(word) <= len(items):
            key = items[int(word) - 1][0]
        else:
            key = next((k for k, _ in items if k == word), "")
        if not key:
            return None
        if key not in picked:
            picked.append(key)
    return picked


def draft_answer(draft: Draft, text: str, offer: Offer) -> DraftReply:
    loc, step, data = draft.locale, draft.step, draft.data
    text = text.strip()
    problem: str | None = None
    data.setdefault("questions", [])
    if step == "title":
        problem = _text_problem(text, LIMITS["title"], loc)
        if not problem:
            data["title"] = text
            draft.step = "kind"
    elif step == "kind":
        word = text.lower()
        if word in DONE and data["questions"]:
            draft.step = "territories"
        else:
            kind = {"1": "choice", "2": "scale", "3": "text"}.get(word) or (
                word if word in KINDS else {"choix": "choice", "échelle": "scale",
                                            "echelle": "scale", "texte": "text"}.get(word)
            )  # fmt: skip
            if kind is None:
                problem = t("survey.problem.not_in_list", loc)
            else:
                data["pending"] = {"kind": kind}
                draft.step = "text"
    elif step == "text":
        problem = _text_problem(text, LIMITS["question"], loc)
        if not problem:
            data["pending"]["text"] = text
            if data["pending"]["kind"] == "choice":
                draft.step = "options"
            else:
                _add_question(draft)
    elif step == "options":
        parts = [p.strip() for p in text.replace("\n", ";").split(";") if p.strip()]
        if not 2 <= len(parts) <= MAX_OPTIONS:
            problem = t("survey.problem.options", loc, most=MAX_OPTIONS)
        else:
            problem = next(
                (p for p in (_text_problem(x, LIMITS["option"], loc) for x in parts) if p), None
            )
        if not problem:
            data["pending"]["options"] = parts
            _add_question(draft)
    elif step == "territories":
        picked = _pick_many(text, offer.territories)
        if picked is None:
            problem = t("survey.problem.not_in_list", loc)
        else:
            # "all" is every territory the author may survey (an animator: theirs only).
            data["territories"] = picked or [k for k, _ in offer.territories]
            draft.step = "professions"
    elif step == "professions":
        picked = _pick_many(text, offer.professions)
        if picked is None:
            problem = t("survey.problem.not_in_list", loc)
        else:
            data["professions"] = picked  # []: every profession
            draft.step = "anonymous"
    elif step == "anonymous":
        word = text.lower()
        if word not in YES | NO:
            problem = t("survey.problem.yes_or_no", loc)
        else:
            data["anonymous"] = word in YES
            draft.step = "closes"
    elif step == "closes":
        day = offer.parse_day(text)
        if day is None:
            problem = t("survey.problem.date", loc, value=text[:40])
        elif day > dt.date.fromtimestamp(offer.now) + dt.timedelta(days=LONGEST_DAYS):
            problem = t("survey.problem.far", loc, days=LONGEST_DAYS)
        elif offer.end_of(day) <= offer.now:
            problem = t("survey.problem.past", loc)
        else:
            data["closes_day"] = day.isoformat()
            data["closes"] = offer.end_of(day)
            draft.step = "confirm"
    elif step == "confirm":
        word = text.lower()
        if word in NO:
            return DraftReply(t("survey.draft.abandoned", loc), None)
        if word not in YES:
            problem = t("survey.problem.yes_or_no", loc)
        else:
            return DraftReply("", None, submit=dict(data))
    if problem:
        return DraftReply(
            t("survey.problem.again", loc, problem=problem) + "\n" + question_prompt(draft, offer),
            draft,
        )
    return DraftReply(question_prompt(draft, offer), draft)


def _add_question(draft: Draft) -> None:
    data = draft.data
    data["questions"].append(Question.from_json(data.pop("pending")).as_json())
    draft.step = "territories" if len(data["questions"]) >= MAX_QUESTIONS else "kind"


# --- answering ------------------------------------------------------------------------------------


def ask(question: Question, n: int, total: int, locale: str) -> str:
    """A question as a respondent reads it, with how to answer."""
    head = t("survey.ask.head", locale, n=n, total=total, text=question.text)
    if question.kind == "choice":
        options = "\n".join(f"{i}. {o}" for i, o in enumerate(question.options, 1))
        return f"{head}\n{options}\n" + t("survey.ask.how_choice", locale)
    if question.kind == "scale":
        return f"{head}\n" + t("survey.ask.how_scale", locale)
    return f"{head}\n" + t("survey.ask.how_text", locale, limit=LIMITS["answer"])


class BadAnswer(ValueError):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


def read_answer(question: Question, text: str, locale: str) -> str:
    """The value to store for ``text`` as an answer to ``question`` (a choice: the option's
    number; a scale: 1 to 5; a text: itself), or BadAnswer saying what is expected."""
    text = text.strip()
    if question.kind == "choice":
        if text.isdigit() and 1 <= int(text) <= len(question.options):
            return str(int(text))
        lowered = [o.lower() for o in question.options]
        if text.lower() in lowered:
            return str(lowered.index(text.lower()) + 1)
        raise BadAnswer(t("survey.answer.choice", locale, most=len(question.options)))
    if question.kind == "scale":
        if text.isdigit() and int(text) in SCALE:
            return str(int(text))
        raise BadAnswer(t("survey.answer.scale", locale))
    problem = _text_problem(text, LIMITS["answer"], locale)
    if problem:
        raise BadAnswer(problem)
    return text


def shown_answer(question: Question, value: str) -> str:
    """A stored value as its respondent reads it back."""
    if question.kind == "choice" and value.isdigit() and 0 < int(value) <= len(question.options):
        return question.options[int(value) - 1]
    return value
