"""A join request as typed (`!join key=value …`) or posted (web form): parsed, then validated
in full before anything is stored. Every problem names its field, in the user's language.

Text is kept as typed and never rendered as markup: HTML or Markdown in a field is shown as
text wherever the request appears (notices escape it).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass

from bot.i18n import t
from bot.territories.model import Network
from bot.vetting.identifiers import adeli_problem, normalise, rpps_problem

# French keys are accepted beside the English ones.
KEY_ALIASES = {
    "name": "name",
    "nom": "name",
    "profession": "profession",
    "metier": "profession",
    "métier": "profession",
    "rpps": "rpps",
    "adeli": "adeli",
    "structure": "structure",
    "territory": "territory",
    "territoire": "territory",
    "email": "email",
    "courriel": "email",
    "mail": "email",
}
FIELDS = ("name", "profession", "rpps", "adeli", "structure", "territory", "email")
LIMITS = {
    "name": 100,
    "profession": 60,
    "rpps": 20,
    "adeli": 20,
    "structure": 150,
    "territory": 60,
    "email": 254,
}
REQUIRED = ("name", "profession", "territory", "email")
EMAIL_RE = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)
PAIR_RE = re.compile(r'(?P<key>[^\s=]+)=(?:"(?P<dq>[^"]*)"|«\s*(?P<fq>[^»]*?)\s*»|(?P<bare>\S*))')


@dataclass(frozen=True)
class Profession:
    id: str
    label_fr: str
    label_en: str
    identifiers: tuple[str, ...]  # accepted identifier kinds: rpps, adeli; empty: none needed

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_fr


DEFAULT_PROFESSIONS: tuple[Profession, ...] = (
    Profession("medecin", "médecin", "physician", ("rpps",)),
    Profession("infirmier", "infirmier·ère", "nurse", ("rpps", "adeli")),
    Profession("pharmacien", "pharmacien·ne", "pharmacist", ("rpps",)),
    Profession(
        "masseur-kinesitherapeute", "masseur-kinésithérapeute", "physiotherapist", ("rpps",)
    ),
    Profession("sage-femme", "sage-femme", "midwife", ("rpps",)),
    Profession("psychomotricien", "psychomotricien·ne", "psychomotor therapist", ("adeli",)),
    Profession("chirurgien-dentiste", "chirurgien-dentiste", "dental surgeon", ("rpps",)),
    Profession(
        "representant-usagers",
        "représentant·e d'association d'usagers",
        "patient association representative",
        (),
    ),
    Profession("agent-ars", "agent ARS", "regional health agency staff", ()),
)


@dataclass(frozen=True)
class FieldProblem:
    field: str
    key: str  # message id
    # Not the bare `field`: the attribute above shadows it for the type checker.
    params: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class JoinRequestData:
    name: str
    profession: str
    territory: str
    email: str
    structure: str = ""
    rpps: str | None = None
    adeli: str | None = None


def offered(ids: tuple[str, ...]) -> tuple[Profession, ...]:
    """The built-in professions a region offers (``vetting.professions``), in their order."""
    return tuple(p for p in DEFAULT_PROFESSIONS if p.id in ids)


class FormProblems(Exception):
    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__(", ".join(f"{p.field}: {p.key}" for p in problems))


def parse_pairs(text: str) -> tuple[dict[str, str], list[FieldProblem]]:
    """`name="Corinne Durand" profession=infirmier …` → fields. Unknown keys, repeated keys and
    stray words are problems, not silently dropped."""
    values: dict[str, str] = {}
    problems: list[FieldProblem] = []
    position = 0
    for match in PAIR_RE.finditer(text):
        stray = text[position : match.start()].strip()
        if stray:
            problems.append(FieldProblem("?", "vetting.form.stray", {"text": stray[:40]}))
        position = match.end()
        raw_key = match.group("key").lower()
        key = KEY_ALIASES.get(raw_key)
        value = next(
            v for v in (match.group("dq"), match.group("fq"), match.group("bare")) if v is not None
        )
        if key is None:
            problems.append(
                FieldProblem(
                    raw_key[:30],
                    "vetting.form.unknown_key",
                    {"keys": ", ".join(sorted(set(KEY_ALIASES)))},
                )
            )
        elif key in values:
            problems.append(FieldProblem(key, "vetting.form.repeated"))
        else:
            values[key] = value
    stray = text[position:].strip()
    if stray:
        problems.append(FieldProblem("?", "vetting.form.stray", {"text": stray[:40]}))
    return values, problems


def _has_control_chars(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in value)


def validate(
    values: dict[str, str],
    network: Network,
    professions: tuple[Profession, ...] = DEFAULT_PROFESSIONS,
) -> JoinRequestData:
    """Check every field and return the request, or raise FormProblems listing all problems."""
    problems: list[FieldProblem] = []
    clean: dict[str, str] = {}
    for name in FIELDS:
        value = (values.get(name) or "").strip()
        if not value:
            if name in REQUIRED:
                problems.append(FieldProblem(name, "vetting.form.missing"))
            continue
        if len(value) > LIMITS[name]:
            problems.append(
                FieldProblem(name, "vetting.form.too_long", {"limit": str(LIMITS[name])})
            )
            continue
        if _has_control_chars(value):
            problems.append(FieldProblem(name, "vetting.form.control"))
            continue
        clean[name] = unicodedata.normalize("NFC", value)

    by_id = {p.id: p for p in professions}
    profession = by_id.get(clean.get("profession", "").lower())
    if "profession" in clean and profession is None:
        problems.append(
            FieldProblem(
                "profession", "vetting.form.unknown_profession", {"choices": ", ".join(by_id)}
            )
        )
    territory = clean.get("territory", "").lower()
    known = [t.id for t, _ in network.walk()]
    if "territory" in clean and territory not in known:
        problems.append(
            FieldProblem(
                "territory", "vetting.form.unknown_territory", {"choices": ", ".join(known) or "—"}
            )
        )
    if "email" in clean and not EMAIL_RE.match(clean["email"]):
        problems.append(FieldProblem("email", "vetting.form.email"))
    for kind, check in (("rpps", rpps_problem), ("adeli", adeli_problem)):
        if kind in clean:
            problem = check(clean[kind])
            if problem:
                problems.append(FieldProblem(kind, problem))
            elif profession and kind not in profession.identifiers:
                problems.append(
                    FieldProblem(
                        kind, "vetting.form.identifier_not_for", {"profession": profession.id}
                    )
                )
    if (
        profession
        and profession.identifiers
        and not any(k in clean for k in profession.identifiers)
    ):
        problems.append(
            FieldProblem(
                "/".join(profession.identifiers),
                "vetting.form.identifier_required",
                {"profession": profession.id},
            )
        )
    if problems:
        raise FormProblems(problems)
    return JoinRequestData(
        name=clean["name"],
        profession=profession.id if profession else "",
        territory=territory,
        email=clean["email"].lower(),
        structure=clean.get("structure", ""),
        rpps=normalise(clean["rpps"]) if "rpps" in clean else None,
        adeli=normalise(clean["adeli"]) if "adeli" in clean else None,
    )


def render_problems(problems: list[FieldProblem], locale: str) -> str:
    """One line per problem, each naming its field."""
    return "\n".join(
        t("vetting.form.field", locale, field=p.field, problem=t(p.key, locale, **p.params))
        for p in problems
    )
