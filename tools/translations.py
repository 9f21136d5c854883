"""``make translations``: the gettext catalogues brought up to date with the code.

- The message ids the code uses literally (``t("…")``, ``tp("…")`` in ``bot/``, each branch of
  ``t("a" if c else "b")``; ``t("…")`` in the web templates) are found; those the catalogues do not have yet are added, empty,
  to the French and English ones (and listed: write their text). Ids are never removed here:
  ids computed at run time (``f"role.{name}"``) are not seen by an extractor; the tests list the
  ids no code uses any more (``tests/test_i18n_unit.py``).
- ``bot/locale/agora.pot``, the template, is written from the French catalogue (every id, its
  French text as a note), for translation tools.
- The English catalogue follows the French one: the same ids in the same order, each with the
  French text beside it for the translator, plural where the French is.
- Statistics: how many messages each language is missing.

    python tools/translations.py [--check]

``--check`` changes nothing and exits 1 if the catalogues are not up to date."""

from __future__ import annotations

import argparse
import ast
import datetime
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "bot" / "locale"
DOMAIN = "agora"
LOCALES = ("fr", "en")
SOURCE = "fr"
WIDTH = 100
ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
STAMP = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)  # stable headers: no churn


def path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(locale: str) -> Catalog:
    with open(path(locale), "rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def key_of(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else message.id


def dump(catalogue: Catalog) -> bytes:
    catalogue.creation_date = STAMP
    catalogue.revision_date = STAMP
    out = io.BytesIO()
    write_po(out, catalogue, width=WIDTH, no_location=True, sort_output=False)
    return out.getvalue()


def _ids(node: ast.expr) -> list[str]:
    """The ids an argument may be: a literal, or each branch of ``a if c else b``/``a or b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _ids(node.body) + _ids(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [k for value in node.values for k in _ids(value)]
    return []


def extracted() -> dict[str, set[str]]:
    """Every literal id the code uses (``t``/``tp``'s first argument) → where."""
    found: dict[str, set[str]] = {}

    def add(key: str, where: str) -> None:
        if ID_RE.match(key):
            found.setdefault(key, set()).add(where)

    for source in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in ("t", "tp"):
                for key in _ids(node.args[0]):
                    add(key, f"{source.relative_to(ROOT)}:{node.lineno}")
    for page in sorted((ROOT / "bot" / "web" / "templates").glob("*.html")):
        for match in re.finditer(r"\bt\(\s*\"([^\"]+)\"", page.read_text(encoding="utf-8")):
            add(match.group(1), f"{page.relative_to(ROOT)}")
    return found


def english_note(message: Message) -> list[str]:
    text = message.string
    forms = text if isinstance(text, tuple | list) else (text,)
    return [f"fr: {' | '.join(f for f in forms if f)}"]


def follow(source: Catalog, target: Catalog) -> Catalog:
    """``target`` rebuilt in ``source``'s order: its texts kept, the source's text as a note."""
    out = Catalog(
        locale=target.locale_identifier,
        domain=DOMAIN,
        project="Agora",
        version=target.version,
        copyright_holder="Agora",
        language_team=target.language_team,
        fuzzy=False,
    )
    theirs = {key_of(m): m for m in target if m.id}
    for message in source:
        if not message.id:
            continue
        key = key_of(message)
        before = theirs.get(key)
        plural = isinstance(message.id, tuple | list)
        if before is None:
            string: str | tuple[str, ...] = ("", "") if plural else ""
        elif plural and not isinstance(before.string, tuple | list):
            string = (before.string, before.string)  # now plural: both forms to review
        elif not plural and isinstance(before.string, tuple | list):
            string = before.string[-1]
        else:
            string = before.string
        flags = set(before.flags) if before is not None else set()
        out.add(
            message.id,
            string,
            auto_comments=english_note(message),
            user_comments=list(before.user_comments) if before is not None else [],
            flags=flags,
        )
    return out


def template(source: Catalog) -> Catalog:
    pot = Catalog(domain=DOMAIN, project="Agora", version=source.version, fuzzy=False)
    for message in source:
        if message.id:
            pot.add(message.id, auto_comments=english_note(message))
    return pot


def missing(catalogue: Catalog) -> list[str]:
    out = []
    for message in catalogue:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy or not all(forms):
            out.append(key_of(message))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if an update is due"
    )
    args = parser.parse_args(argv)
    french = load(SOURCE)
    known = {key_of(m) for m in french if m.id}
    new = {k: w for k, w in sorted(extracted().items()) if k not in known}
    for key in new:
        french.add(key, "")
    updated = {SOURCE: dump(french)}
    for locale in LOCALES:
        if locale != SOURCE:
            updated[locale] = dump(follow(french, load(locale)))
    pot_path = LOCALE_DIR / f"{DOMAIN}.pot"
    files = {path(loc): data for loc, data in updated.items()} | {pot_path: dump(template(french))}
    stale = [p for p, data in files.items() if not p.exists() or p.read_bytes() != data]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)}: not up to date (make translations)", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_bytes(files[p])
    for key, where in new.items():
        print(f"new: {key} ({', '.join(sorted(where))}): write its French and English text")
    for locale in LOCALES:
        gaps = missing(read_po(io.BytesIO(updated[locale]), locale=locale))
        print(
            f"{locale}: {len(gaps)} message(s) to write" + (f": {', '.join(gaps)}" if gaps else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
