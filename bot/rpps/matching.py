"""A join request held against the directory's entry for its RPPS number: the names (without
case, accents or hyphens; a compound or usage name may be given in part), the profession
(through the directory's codes), the places of practice. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from bot.rpps.extraction import fold
from bot.store.rpps import Entry
from bot.territories.model import Network, Territory

# The directory's profession codes ("Code profession") for the professions Agora offers.
PROFESSION_CODES: dict[str, str] = {
    "10": "medecin",
    "21": "pharmacien",
    "40": "chirurgien-dentiste",
    "50": "sage-femme",
    "60": "infirmier",
    "70": "masseur-kinesitherapeute",
}


@dataclass(frozen=True)
class Verdict:
    entry: Entry | None
    name_ok: bool = False
    profession_ok: bool = False

    @property
    def found(self) -> bool:
        return self.entry is not None

    @property
    def ok(self) -> bool:
        return self.found and self.name_ok and self.profession_ok

    @property
    def mismatches(self) -> list[str]:
        """What the directory does not bear out: ``absent``, or ``name`` and ``profession``."""
        if not self.found:
            return ["absent"]
        return [
            k for ok, k in ((self.name_ok, "name"), (self.profession_ok, "profession")) if not ok
        ]


def same_person(given: str, last_name: str, first_name: str) -> bool:
    """Whether the name a person gave (``Corinne Durand-Martin``, ``Dr DURAND Corinne``) is
    the directory's: every word of the first name's first part there, and at least one word of
    the last name (a married or usage name may be only part of a compound one)."""
    words = set(fold(given).split())
    first = fold(first_name).split()
    last = [w for w in fold(last_name).split() if len(w) > 1]
    if not first or not last:
        return False
    return first[0] in words and any(w in words for w in last)


def judge(name: str, profession: str, entry: Entry | None) -> Verdict:
    if entry is None:
        return Verdict(None)
    return Verdict(
        entry,
        name_ok=same_person(name, entry.last_name, entry.first_name),
        profession_ok=PROFESSION_CODES.get(entry.profession) == profession,
    )


def suggested(
    network: Network, asked: str, places: tuple[tuple[str, str], ...]
) -> Territory | None:
    """The most specific territory whose communes or departments hold one of the places of
    practice, when the territory asked is neither it, nor inside it, nor above it."""
    communes = {fold(c) for _, c in places if c}
    departments = {d for d, _ in places if d}
    best: Territory | None = None
    depth = -1
    for territory, ancestors in network.walk():
        hit = bool(departments & set(territory.departments)) or bool(
            communes & {fold(c) for c in territory.communes}
        )
        if hit and len(ancestors) > depth:
            best, depth = territory, len(ancestors)
    if best is None:
        return None
    related = {t.id for t in network.subtree(best.id)} | {t.id for t in network.lineage(best.id)}
    return None if asked in related else best
