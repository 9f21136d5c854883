"""User-facing text, French first, English second, from gettext catalogues.

``bot/locale/<lang>/LC_MESSAGES/agora.po``: each message's id (``vetting.card.title``) is its
``msgid``, its text the ``msgstr``. French is the source of truth; English translates it (each
English entry carries the French beside it for the translator). A message whose text depends
on a count has plural forms (``msgid_plural``, ``msgstr[0]``, ``msgstr[1]``…), chosen by its
``n`` parameter with each language's own rule (French: 0 and 1 are singular). The catalogues
are read as the bot starts (compiled in memory by Babel, looked up with :mod:`gettext`, English
falling back to French, an unknown id to itself); ``make translations`` adds the ids new code
uses and keeps the English catalogue in step with the French one.

``t(key, locale, **params)``: the message in ``locale``, its ``{name}`` placeholders filled."""

from __future__ import annotations

import datetime as dt
import gettext
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DEFAULT_LOCALE = "fr"
LOCALES = ("fr", "en")
DOMAIN = "agora"
# The Babel locale a language is written with: British English writes day/month/year and 24 h.
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
LOCALE_DIR = Path(__file__).parent / "locale"


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(locale: str) -> Catalog:
    with open(catalogue_path(locale), "rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def _translations(catalogue: Catalog) -> gettext.GNUTranslations:
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)  # untranslated and fuzzy entries left out: they fall back
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _load() -> tuple[dict[str, gettext.GNUTranslations], dict[str, dict[str, Any]], frozenset[str]]:
    translations: dict[str, gettext.GNUTranslations] = {}
    messages: dict[str, dict[str, Any]] = {}
    plural: set[str] = set()
    for locale in LOCALES:
        catalogue = read_catalogue(locale)
        translations[locale] = _translations(catalogue)
        for message in catalogue:
            if not message.id:
                continue  # the header
            if isinstance(message.id, tuple | list):
                key = message.id[0]
                plural.add(key)
            else:
                key = message.id
            if message.string and not message.fuzzy:
                text = message.string
                messages.setdefault(key, {})[locale] = (
                    tuple(text) if isinstance(text, tuple | list) else text
                )
    for locale in LOCALES:
        if locale != DEFAULT_LOCALE:
            translations[locale].add_fallback(translations[DEFAULT_LOCALE])
    return translations, messages, frozenset(plural)


_TRANSLATIONS, _MESSAGES, PLURAL = _load()

# Every message as the catalogues hold it, read only: {id: {locale: text, or its plural forms}}.
MESSAGES: dict[str, dict[str, Any]] = _MESSAGES


def _text(key: str, locale: str, n: Any) -> str:
    translations = _TRANSLATIONS.get(locale) or _TRANSLATIONS[DEFAULT_LOCALE]
    if key in PLURAL:
        count = n if isinstance(n, int) else 0
        return translations.ngettext(key, key, count)
    return translations.gettext(key)


def t(key: str, locale: str = DEFAULT_LOCALE, **params: Any) -> str:
    text = _text(key, locale, params.get("n"))
    return text.format(**params) if params else text


def in_each_language(render: Callable[[str], str]) -> dict[str, str]:
    """A text written in every language (a notice queued now, read later by each person in
    theirs)."""
    return {locale: render(locale) for locale in LOCALES}


def tp(key: str, locale: str, *args: Any) -> str:
    """A message with positional parameters ({0}, {1} …)."""
    if key not in MESSAGES:
        return " ".join([key, *map(str, args)])
    return _text(key, locale, None).format(*args)


def format_duration(seconds: float, locale: str = DEFAULT_LOCALE) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    unit = {"fr": ("j", "h", "min", "s"), "en": ("d", "h", "min", "s")}.get(
        locale, ("d", "h", "min", "s")
    )
    parts = [f"{v} {u}" for v, u in zip((days, hours, minutes, secs), unit, strict=True) if v]
    return " ".join(parts[:2]) or f"0 {unit[3]}"


# --- dates and times, for a reader: in their language, where the region is ---------------------


def _babel(locale: str) -> str:
    return BABEL_LOCALES.get(locale, BABEL_LOCALES["fr"])


def when(ts: float, locale: str, tz: ZoneInfo) -> str:
    """An instant, to the minute, where the region is: ``06/12/2026 14:30``."""
    return format_datetime(
        dt.datetime.fromtimestamp(ts, tz), "short", tzinfo=tz, locale=_babel(locale)
    )


def short_when(ts: float, locale: str, tz: ZoneInfo) -> str:
    """An instant of the last or next few days, without its year: ``06/12 14:30``."""
    moment = dt.datetime.fromtimestamp(ts, tz)
    return f"{format_date(moment.date(), 'dd/MM', locale=_babel(locale))} {moment:%H:%M}"


def day_text(day: dt.date | float, locale: str, tz: ZoneInfo | None = None) -> str:
    """A day: ``12/08/2027`` (an instant: its day where the region is)."""
    if not isinstance(day, dt.date):
        day = dt.datetime.fromtimestamp(day, tz).date()
    return format_date(day, "short", locale=_babel(locale))
