"""Pure: how files are found by their names, and how a list of them reads.

A file's name is kept folded (lower case, without accents, cut into words at anything that
is not a letter or a digit): ``Protocole_AVK-été.pdf`` is ``protocole avk ete pdf``. A query
matches when each of its words begins a word of the name, so ``proto avk`` and ``ÉTÉ`` find
it, and ``toco`` does not."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from bot.i18n import t, when
from bot.territories.model import Network

BOARD_KINDS = ("resources", "community")  # where pinned files are listed: the first kind found

WORD = re.compile(r"[^\W_]+")
MATRIX_TO = re.compile(r"^https://matrix\.to/#/([^/?#\s]+)/([^/?#\s]+)(?:\?\S*)?$")


def fold(text: str) -> str:
    """Lower case, without accents: ``Été`` and ``ete`` are one word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(text: str) -> str:
    """The folded words of a name or a query, space-separated."""
    return " ".join(WORD.findall(fold(text)))


def matches(words: str, query: str) -> bool:
    """Each word of ``query`` begins one of ``words`` (a name as ``words_of`` keeps it); an
    empty query matches everything."""
    held = words.split()
    return all(any(w.startswith(term) for w in held) for term in words_of(query).split())


@dataclass(frozen=True)
class Document:
    """One file as the index holds it: its metadata, never its content nor its key."""

    id: int
    event_id: str
    room_id: str
    sender: str
    name: str
    words: str
    msgtype: str
    mimetype: str
    size: int | None
    encrypted: bool
    sent_ts: int  # ms


def board_room(network: Network, territory: str) -> tuple[str, str] | None:
    """Where a territory's pinned files are listed: the nearest resources room up the tree,
    else the nearest community room; (its territory, its room key), or None."""
    lineage = list(reversed(network.lineage(territory)))
    for kind in BOARD_KINDS:
        for place in lineage:
            for room in place.rooms:
                if room.kind == kind:
                    return place.id, f"{place.id}.{room.id}"
    return None


def search(documents: list[Document], query: str, limit: int) -> tuple[list[Document], int]:
    """The documents whose names match ``query``, newest first: the first ``limit`` of them,
    and how many more there are."""
    found = sorted(
        (d for d in documents if matches(d.words, query)), key=lambda d: (-d.sent_ts, -d.id)
    )
    return found[:limit], max(0, len(found) - limit)


def link(room_id: str, event_id: str, via: str = "") -> str:
    """The message's matrix.to link (its ids percent-encoded, as the matrix.to scheme asks)."""
    url = f"https://matrix.to/#/{quote(room_id, safe=':')}/{quote(event_id, safe=':')}"
    return f"{url}?via={quote(via, safe=':')}" if via else url


def parse_link(text: str) -> tuple[str, str] | None:
    """(room id, event id) of a matrix.to link to a message (encoded or not); None for
    anything else."""
    found = MATRIX_TO.match(text.strip())
    if found is None:
        return None
    room_id, event_id = unquote(found.group(1)), unquote(found.group(2))
    if not room_id.startswith("!") or not event_id.startswith("$"):
        return None
    return room_id, event_id


UNITS = {"fr": ("o", "Ko", "Mo", "Go"), "en": ("B", "kB", "MB", "GB")}


def size_text(size: int | None, locale: str) -> str:
    """``120 Ko``, ``1,5 Mo`` (``1.5 MB`` in English); empty when unknown."""
    if size is None or size < 0:
        return ""
    units = UNITS.get(locale, UNITS["fr"])
    value, unit = float(size), 0
    while value >= 1000 and unit < len(units) - 1:
        value, unit = value / 1000, unit + 1
    shown = f"{value:.0f}" if unit == 0 or value >= 10 else f"{value:.1f}"
    if locale == "fr":
        shown = shown.replace(".", ",")
    return f"{shown} {units[unit]}"


def kind_text(document: Document) -> str:
    """A short type: the name's extension (``PDF``), else the media type's (``PNG``), else
    none."""
    _, dot, extension = document.name.rpartition(".")
    if dot and extension.isalnum() and len(extension) <= 5:
        return extension.upper()
    subtype = document.mimetype.partition("/")[2]
    if subtype.isalnum() and len(subtype) <= 8:
        return subtype.upper()
    return ""


def details(document: Document, locale: str) -> str:
    """``PDF, 120 Ko``: what is known of its type and size."""
    return ", ".join(x for x in (kind_text(document), size_text(document.size, locale)) if x)


def one_line(name: str, limit: int = 120) -> str:
    """A name shown on one line, cut if long (a name is whatever its sender typed)."""
    flat = " ".join(name.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- what people read ---------------------------------------------------------------------------


def _line(key: str, d: Document, rooms: dict[str, str], locale: str, via: str, **more: Any) -> str:
    shown = details(d, locale)
    return "• " + t(
        key,
        locale,
        id=d.id,
        name=one_line(d.name),
        details=f" ({shown})" if shown else "",
        room=rooms.get(d.room_id, d.room_id),
        who=d.sender,
        link=link(d.room_id, d.event_id, via),
        **more,
    )


def listing(
    shown: list[Document],
    more: int,
    query: str,
    rooms: dict[str, str],
    locale: str,
    tz: ZoneInfo,
    via: str = "",
) -> str:
    """A ``!docs`` answer: how many were found, one line each (number, name, type and size,
    room, who, when, link), and how many more the query should narrow."""
    query = one_line(query, 60)
    if not shown:
        return t("docs.none_for" if query else "docs.none", locale, query=query)
    head = t("docs.found" if query else "docs.latest", locale, n=len(shown) + more, query=query)
    lines = [head] + [
        _line("docs.line", d, rooms, locale, via, when=when(d.sent_ts / 1000, locale, tz))
        for d in shown
    ]
    if more:
        lines.append(t("docs.more", locale, n=more))
    return "\n".join(lines)


def board(
    territory: str, pinned: list[Document], rooms: dict[str, str], locale: str, via: str = ""
) -> str:
    """A territory's index message of pinned files, in the order they were pinned."""
    lines = [t("docs.board.title", locale, territory=territory)]
    lines += [_line("docs.board.line", d, rooms, locale, via) for d in pinned]
    if not pinned:
        lines.append(t("docs.board.empty", locale))
    return "\n".join(lines)
