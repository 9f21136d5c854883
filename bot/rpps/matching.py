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
# The professions whose every member is in the directory: their requests give an RPPS
# number to be checked (an ADELI number alone would go round the check).
IN_DIRECTORY = frozenset(PROFESSION_CODES.values())


@dataclass(frozen=True)
class Verdict:
    entry: Entry | None
    name_ok: bool = False
    profession_ok: bool = False
    rpps_missing: bool = False  # a profession of the directory, asked without an RPPS number

    @property
    def found(self) -> bool:
        return self.entry is not None

    @property
    def ok(self) -> bool:
        return self.found and self.name_ok and self.profession_ok

    @property
    def mismatches(self) -> list[str]:
        """What the directory does not bear out: ``rpps_missing``, ``absent``, or ``name``
        and ``profession``."""
        if self.rpps_missing:
            return ["rpps_missing"]
        if not self.found:
            return ["absent"]
        return [
            k for ok, k in ((self.name_ok, "name"), (self.profession_ok, "profession")) if not ok
        ]


# Words of a name that say nothing alone (LE GALL and LE ROUX share only "le").
PARTICLES = frozenset(
    {"de", "du", "des", "la", "le", "les", "d", "l", "van", "von", "der", "den", "ben", "bin",
     "el", "al", "da", "di", "do", "dos", "das", "del", "della", "y", "mc", "mac", "st", "ste"}
)  # fmt: skip


def same_person(given: str, last_name: str, first_name: str) -> bool:
    """Whether the name a person gave (``Corinne Durand-Martin``, ``Dr DURAND Corinne``) is
    the directory's: the first word of the first name there, and at least one word of the
    last name that is not a particle (a married or usage name may be only part of a compound
    one; a name of particles only counts whole)."""
    words = set(fold(given).split())
    first = fold(first_name).split()
    last = fold(last_name).split()
    telling = [w for w in last if w not in PARTICLES and len(w) > 1]
    if not first or not last:
        return False
    if not telling:
        return first[0] in words and all(w in words for w in last)
    return first[0] in words and any(w in words for w in telling)


def judge(name: str, profession: str, entry: Entry | None) -> Verdict:
    """``entry``: the directory's for the RPPS number given (None: not there)."""
    if entry is None:
        return Verdict(None)
    return Verdict(
        entry,
        name_ok=same_person(name, entry.last_name, entry.first_name),
        profession_ok=PROFESSION_CODES.get(entry.profession) == profession,
    )


def without_rpps(profession: str) -> Verdict | None:
    """A request without an RPPS number: refused under ``require`` when its profession is
    one the directory lists (None: an ADELI-only profession, or none needed, not consulted)."""
    return Verdict(None, rpps_missing=True) if profession in IN_DIRECTORY else None


def suggested(
    network: Network, asked: str, places: tuple[tuple[str, str], ...]
) -> Territory | None:
    """The most specific territory whose communes or departments hold one of the places of
    practice, when the territory asked is neither it, nor inside it, nor above it."""
    departments = {d for d, _ in places if d}
    best: Territory | None = None
    depth = -1
    for territory, ancestors in network.walk():
        # A commune's name is not unique (Le Pontet, Saint-Denis): it counts only in the
        # departments declared here or above, when some are.
        around = {d for t in (*ancestors, territory) for d in t.departments}
        communes = {fold(c) for d, c in places if c and (not around or d in around)}
        hit = bool(departments & set(territory.departments)) or bool(
            communes & {fold(c) for c in territory.communes}
        )
        if hit and len(ancestors) > depth:
            best, depth = territory, len(ancestors)
    if best is None:
        return None
    related = {t.id for t in network.subtree(best.id)} | {t.id for t in network.lineage(best.id)}
    return None if asked in related else best
