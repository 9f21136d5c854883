"""Pure: feeds as Agora reads them. RSS 0.9x/1.0/2.0 and Atom are parsed by feedparser, JSON
Feed by the json module (feedparser 6.0 does not read it); each entry gets a stable key (its id, else its link, else a hash of its title and
content) and a hash of what a reader sees, so that a changed entry is told from a new one.
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser

from bot.i18n import when
from bot.news.render import Item, text_of


@dataclass(frozen=True)
class Entry:
    key: str
    title: str
    link: str
    summary_html: str
    published: float | None  # epoch seconds
    digest: str  # of what a reader sees: an edit when it changes

    def item(self, source: str, locale: str, tz: ZoneInfo) -> Item:
        """As relayed: its date where the region is, in the readers' language."""
        said = when(self.published, locale, tz) if self.published else ""
        return Item(self.title, self.link, self.summary_html, source, said)

    def matches(self, keyword: str | None) -> bool:
        if not keyword:
            return True
        haystack = f"{self.title} {text_of(self.summary_html)}".casefold()
        return keyword.casefold() in haystack


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: list[Entry]
    problem: str | None = None  # set when the document is not a feed at all


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _summary(entry: Any) -> str:
    content = entry.get("content") or []
    if content and content[0].get("value"):
        return str(content[0]["value"])
    return str(entry.get("summary") or entry.get("description") or "")


def _published(entry: Any) -> float | None:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(field)
        if value:
            return float(calendar.timegm(value))
    return None


def _json_feed(body: bytes) -> ParsedFeed | None:
    """JSON Feed 1.0/1.1 (jsonfeed.org), which feedparser 6.0 does not read: plain JSON with
    documented fields, read with the json module."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return ParsedFeed("", [], f"malformed JSON: {exc}"[:200])
    if not isinstance(data, dict) or "jsonfeed.org/version/" not in str(data.get("version", "")):
        return ParsedFeed("", [], "not a JSON Feed (no jsonfeed.org version)")
    entries = []
    for raw in data.get("items") or []:
        if not isinstance(raw, dict):
            continue
        title = str(raw.get("title") or "").strip()
        link = str(raw.get("url") or raw.get("external_url") or "").strip()
        summary = str(
            raw.get("content_html")
            or html.escape(str(raw.get("content_text") or ""))
            or raw.get("summary")
            or ""
        )
        key = str(raw.get("id") or "").strip() or link or _hash(title, summary)
        published = None
        for field in ("date_published", "date_modified"):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                published = datetime.fromisoformat(
                    str(raw[field]).replace("Z", "+00:00")
                ).timestamp()
                break
        entries.append(
            Entry(key[:500], title, link, summary, published, _hash(title, link, text_of(summary)))
        )
    return ParsedFeed(str(data.get("title") or "").strip(), entries)


def parse(body: bytes, content_type: str = "") -> ParsedFeed:
    if "json" in content_type.lower() or body.lstrip()[:1] == b"{":
        found = _json_feed(body)
        if found is not None:
            return found
    data = feedparser.parse(
        body, response_headers={"content-type": content_type} if content_type else None
    )
    entries: list[Entry] = []
    for raw in data.entries:
        title = str(raw.get("title") or "").strip()
        link = str(raw.get("link") or "").strip()
        summary = _summary(raw)
        if not (title or link or summary.strip()):
            continue  # nothing a reader could see (a truncated document's empty entry)
        ident = str(raw.get("id") or raw.get("guid") or "").strip()
        key = ident or link or _hash(title, summary)
        entries.append(
            Entry(
                key=key[:500],
                title=title,
                link=link,
                summary_html=summary,
                published=_published(raw),
                digest=_hash(title, link, text_of(summary)),
            )
        )
    problem = None
    if not entries and data.get("bozo"):
        problem = re.sub(r"\s+", " ", str(data.get("bozo_exception") or "not a feed"))[:200]
    elif not entries and not data.get("version"):
        problem = "not a feed (neither RSS, Atom nor JSON Feed)"
    return ParsedFeed(str(data.feed.get("title") or "").strip(), entries, problem)


def newest_first(entries: list[Entry]) -> list[Entry]:
    """Dated entries newest first, undated ones in document order after them."""
    dated = sorted((e for e in entries if e.published), key=lambda e: -(e.published or 0))
    return dated + [e for e in entries if not e.published]


@dataclass(frozen=True)
class RelayPlan:
    """What a poll does with a feed's entries: post the new ones (``post``, newest first),
    record without posting those beyond a new subscription's first few (``skip``), and edit
    the posts of entries changed at their source (``changed``: entry and the message that
    carried it)."""

    post: list[Entry]
    skip: list[Entry]
    changed: list[tuple[Entry, str]]

    @property
    def empty(self) -> bool:
        return not (self.post or self.skip or self.changed)


def plan_relay(
    entries: list[Entry],
    known: dict[str, tuple[str, str | None]],
    *,
    keyword: str | None,
    primed: bool,
    first_posts: int,
) -> RelayPlan:
    """Pure: the entries matching ``keyword`` against what is ``known`` of the feed (entry key
    → its digest when last seen and the message that carried it, None if never posted). A new
    subscription (not ``primed``) posts its newest ``first_posts``, never the whole backlog."""
    entries = [e for e in entries if e.matches(keyword)]
    new = [e for e in newest_first(entries) if e.key not in known]
    changed = [
        (e, message)
        for e in entries
        if e.key in known
        and known[e.key][0] != e.digest
        and (message := known[e.key][1]) is not None
    ]
    if primed:
        return RelayPlan(new, [], changed)
    return RelayPlan(new[:first_posts], new[first_posts:], changed)
