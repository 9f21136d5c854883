"""The national directory of health professionals as the agency publishes it (the "Annuaire
Santé" extraction, `PS_LibreAcces_Personne_activite_<date>.txt`): pipe-separated, one line per
professional and place of practice, a header naming the columns. Read as a stream, columns
found by their names (their order and the others may change), and only what vetting needs
kept: the RPPS number, names, profession, and the places' communes and departments. Pure."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

# The columns read, by the names the header gives them (compared folded: case, accents and
# punctuation aside), with other names they have had.
COLUMNS: dict[str, tuple[str, ...]] = {
    "kind": ("Type d'identifiant PP",),
    "rpps": ("Identifiant PP",),
    "national": ("Identification nationale PP",),
    "last_name": ("Nom d'exercice",),
    "first_name": ("Prénom d'exercice",),
    "profession": ("Code profession",),
    "profession_label": ("Libellé profession",),
    "commune": ("Libellé commune (coord. structure)", "Libellé commune (coord structure)"),
    "postcode": ("Code postal (coord. structure)", "Code postal (coord structure)"),
    "commune_code": ("Code commune (coord. structure)", "Code commune (coord structure)"),
    "department": ("Code Département (structure)", "Code département (structure)"),
}
REQUIRED = ("rpps", "last_name", "first_name", "profession")
RPPS_KIND = "8"  # "Type d'identifiant PP": 8 is RPPS (0 is ADELI)
RPPS_RE = re.compile(r"^\d{11}$")
DATE_IN_NAME = re.compile(r"(20\d\d)(\d\d)(\d\d)(?:\d{4})?\D*$")
MAX_FIELD = 120


@dataclass(frozen=True)
class Person:
    rpps: str
    last_name: str
    first_name: str
    profession: str  # the directory's code (10 médecin, 60 infirmier…)
    profession_label: str
    commune: str
    department: str


@dataclass
class Tally:
    read: int = 0
    kept: int = 0
    skipped: int = 0  # not an RPPS identity (ADELI lines)
    refused: int = 0
    first_refused: list[tuple[int, str]] = field(default_factory=list)  # (line, why)

    def refuse(self, line: int, why: str, keep: int = 100) -> None:
        self.refused += 1
        if len(self.first_refused) < keep:
            self.first_refused.append((line, why))


class Unreadable(ValueError):
    """The file is not an extraction (no header naming the columns needed)."""


LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
APOSTROPHES = re.compile(r"[’'`´]")


def fold(text: str) -> str:
    """Lower case, without accents or ligatures, apostrophes dropped (N'DIAYE is ndiaye),
    other punctuation as spaces, spaces collapsed."""
    plain = unicodedata.normalize("NFKD", APOSTROPHES.sub("", text.translate(LIGATURES)))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def header_map(header: str) -> dict[str, int]:
    """Which position each column read is at; ``Unreadable`` naming what is missing."""
    names = [fold(h) for h in header.rstrip("\r\n").split("|")]
    found: dict[str, int] = {}
    for key, spellings in COLUMNS.items():
        for spelling in spellings:
            if fold(spelling) in names:
                found[key] = names.index(fold(spelling))
                break
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in found]
    if missing:
        raise Unreadable("columns missing from the header: " + ", ".join(missing))
    return found


def department_of(postcode: str, commune_code: str) -> str:
    """The department a place is in: from the commune's INSEE code (2A/2B for Corsica, three
    digits overseas), else the postcode."""
    code = commune_code.strip().upper() or postcode.strip()
    if len(code) < 2:
        return ""
    if code.startswith("97") and len(code) >= 3:
        return code[:3]
    if code[:2] == "20" and not commune_code.strip():  # a Corsican postcode: 2A or 2B
        return "2A" if code[:3] in ("200", "201") else "2B"
    return code[:2]


MAX_LINE = 8192  # characters: a published line is well under 1,000


def bounded_lines(text: IO[str], limit: int = MAX_LINE) -> Iterator[str]:
    """The lines of ``text``, each read with at most ``limit`` characters in memory: a longer
    one (a file that is not an extraction) is given as one overlong line, its rest skipped."""
    while True:
        line = text.readline(limit)
        if not line:
            return
        if len(line) == limit and not line.endswith("\n"):
            while (rest := text.readline(limit)) and not rest.endswith("\n"):
                pass
            yield line[:100] + "\x00overlong"
            continue
        yield line


def people(lines: Iterable[str], tally: Tally) -> Iterator[Person]:
    """Each line of an extraction as a person at a place; lines that are not an RPPS identity
    skipped, malformed ones refused with their number (``tally``)."""
    it = iter(lines)
    header = next(it, None)
    if header is None:
        raise Unreadable("the file is empty")
    at = header_map(header.lstrip("\ufeff"))
    width = max(at.values()) + 1
    for number, line in enumerate(it, start=2):
        if not line.strip():
            continue
        tally.read += 1
        if line.endswith("\x00overlong"):
            tally.refuse(number, f"a line of more than {MAX_LINE} characters")
            continue
        cells = line.rstrip("\r\n").split("|")
        if len(cells) < width:
            tally.refuse(number, f"{len(cells)} columns, {width} expected")
            continue

        def cell(key: str, cells: list[str] = cells) -> str:
            return cells[at[key]].strip()[:MAX_FIELD] if key in at else ""

        if "kind" in at and cell("kind") and cell("kind") != RPPS_KIND:
            tally.skipped += 1
            continue
        rpps = cell("rpps")
        if not RPPS_RE.match(rpps) and "national" in at:
            national = cell("national")
            rpps = national[1:] if national.startswith(RPPS_KIND) else rpps
        if not RPPS_RE.match(rpps):
            tally.refuse(number, f"RPPS number {rpps[:20]!r}")
            continue
        if not cell("last_name"):
            tally.refuse(number, "no name")
            continue
        tally.kept += 1
        yield Person(
            rpps=rpps,
            last_name=cell("last_name"),
            first_name=cell("first_name"),
            profession=cell("profession"),
            profession_label=cell("profession_label"),
            commune=cell("commune").title(),
            department=cell("department").upper()
            or department_of(cell("postcode"), cell("commune_code")),
        )


def date_of(name: str) -> dt.date | None:
    """The extraction's date, as its file name says it (``…_202611300812.txt``)."""
    found = DATE_IN_NAME.search(name)
    if not found:
        return None
    try:
        return dt.date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None


def open_extraction(path: Path) -> tuple[IO[str], str]:
    """The extraction's lines as text, and the name that dates it: the file itself, or in a
    zip the member that is the people's activity file (``…Personne_activite…``, else the only
    text file), read as it is unpacked."""
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if n.lower().endswith((".txt", ".csv"))]
        chosen = [n for n in names if "personne_activite" in n.lower()] or names
        if len(chosen) != 1:
            archive.close()
            raise Unreadable(f"{path.name}: no single extraction in the archive ({len(names)})")
        raw = archive.open(chosen[0])
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), chosen[0]
    return open(path, encoding="utf-8-sig", newline=""), path.name
