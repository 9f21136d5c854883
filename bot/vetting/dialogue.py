"""Pure: the guided `!join` conversation, one question at a time.

State is a step name and the fields gathered so far; ``answer(state, text)`` returns the next
state and what to say. Each answer is checked as it comes (the same rules as the one-line form),
so a mistake is asked again at once, naming the field. Nothing is stored as a request before the
person confirms, and then the whole request is validated again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.i18n import t
from bot.territories.model import Network
from bot.vetting.form import (
    DEFAULT_PROFESSIONS,
    EMAIL_RE,
    LIMITS,
    FormProblems,
    Profession,
    validate,
)
from bot.vetting.identifiers import adeli_problem, rpps_problem

STEPS = (
    "language",
    "name",
    "profession",
    "identifier",
    "structure",
    "territory",
    "email",
    "confirm",
)
YES = {"oui", "o", "yes", "y", "ok", "d'accord", "valider"}
NO = {"non", "n", "no"}


@dataclass
class DialogueState:
    step: str = "language"
    fields: dict[str, str] = field(default_factory=dict)
    locale: str = "fr"


@dataclass
class Reply:
    text: str
    state: DialogueState | None  # None: the conversation is over
    submit: dict[str, str] | None = None  # the fields to file as a request


def _choices(items: list[tuple[str, str]]) -> str:
    return "\n".join(f"{i}. {label} ({key})" for i, (key, label) in enumerate(items, 1))


def _pick(text: str, items: list[tuple[str, str]]) -> str | None:
    text = text.strip().lower()
    if text.isdigit() and 1 <= int(text) <= len(items):
        return items[int(text) - 1][0]
    return next((key for key, _ in items if key == text), None)


def question(
    state: DialogueState,
    network: Network,
    professions: tuple[Profession, ...] = DEFAULT_PROFESSIONS,
) -> str:
    loc = state.locale
    if state.step == "profession":
        items = [(p.id, p.label(loc)) for p in professions]
        return t("dialogue.ask.profession", loc) + "\n" + _choices(items)
    if state.step == "territory":
        items = [(tt.id, tt.name) for tt, _ in network.walk()]
        return t("dialogue.ask.territory", loc) + "\n" + _choices(items)
    if state.step == "identifier":
        profession = next(p for p in DEFAULT_PROFESSIONS if p.id == state.fields["profession"])
        return t(
            "dialogue.ask.identifier",
            loc,
            kinds=" / ".join(k.upper() for k in profession.identifiers),
        )
    if state.step == "confirm":
        summary = "\n".join(f"• {k} : {v}" for k, v in state.fields.items())
        return t("dialogue.ask.confirm", loc, summary=summary)
    return t(f"dialogue.ask.{state.step}", loc)


def start(prefix: str = "!") -> str:
    """The first question, with the one-line form for those who prefer it."""
    return t("dialogue.ask.language", "fr") + "\n\n" + t("vetting.join.howto", "fr", prefix=prefix)


def _next(state: DialogueState) -> str:
    order = list(STEPS)
    step = order[order.index(state.step) + 1]
    if step == "identifier":
        profession = next(p for p in DEFAULT_PROFESSIONS if p.id == state.fields["profession"])
        if not profession.identifiers:
            step = "structure"
    return step


def answer(
    state: DialogueState,
    text: str,
    network: Network,
    professions: tuple[Profession, ...] = DEFAULT_PROFESSIONS,
) -> Reply:
    loc = state.locale
    text = text.strip()
    problem: str | None = None
    if state.step == "language":
        state.locale = "en" if text.lower() in ("en", "english", "anglais") else "fr"
    elif state.step == "name":
        problem = _text_problem(text, "name", loc)
        if not problem:
            state.fields["name"] = text
    elif state.step == "profession":
        picked = _pick(text, [(p.id, p.label(loc)) for p in professions])
        if picked is None:
            problem = t("dialogue.not_in_list", loc)
        else:
            state.fields["profession"] = picked
    elif state.step == "identifier":
        profession = next(p for p in DEFAULT_PROFESSIONS if p.id == state.fields["profession"])
        kinds = {"rpps": rpps_problem, "adeli": adeli_problem}
        errors = {k: kinds[k](text) for k in profession.identifiers}
        good = [k for k, e in errors.items() if e is None]
        if good:
            state.fields[good[0]] = text
        else:
            problem = " / ".join(t(e, loc) for e in errors.values() if e)
    elif state.step == "structure":
        if text not in ("-", "—"):
            problem = _text_problem(text, "structure", loc)
            if not problem:
                state.fields["structure"] = text
    elif state.step == "territory":
        picked = _pick(text, [(tt.id, tt.name) for tt, _ in network.walk()])
        if picked is None:
            problem = t("dialogue.not_in_list", loc)
        else:
            state.fields["territory"] = picked
    elif state.step == "email":
        if not EMAIL_RE.match(text) or len(text) > LIMITS["email"]:
            problem = t("vetting.form.email", loc)
        else:
            state.fields["email"] = text
    elif state.step == "confirm":
        word = text.lower()
        if word in NO:
            return Reply(t("dialogue.abandoned", loc), None)
        if word not in YES:
            return Reply(t("dialogue.yes_or_no", loc), state)
        try:
            validate(state.fields, network, professions)
        except FormProblems as exc:  # e.g. the network changed meanwhile
            return Reply(
                t("vetting.refused", loc) + " " + ", ".join(p.field for p in exc.problems), None
            )
        return Reply("", None, submit=dict(state.fields))
    if problem:
        return Reply(
            t("dialogue.again", loc, problem=problem)
            + "\n"
            + question(state, network, professions),
            state,
        )
    state.step = _next(state)
    return Reply(question(state, network, professions), state)


def _text_problem(text: str, name: str, locale: str) -> str | None:
    if not text:
        return t("vetting.form.missing", locale)
    if len(text) > LIMITS[name]:
        return t("vetting.form.too_long", locale, limit=LIMITS[name])
    if any(ord(c) < 32 for c in text):
        return t("vetting.form.control", locale)
    return None
