"""Pure: what a relayed item looks like in a room. Every post is an ``m.notice`` with a plain
body and a sanitised HTML body: only the tags and attributes the Matrix spec lists for
``org.matrix.custom.html``, links kept (``https``, ``http``, ``mailto``), scripts and styles
dropped with their content, images dropped unless their host is allowed (``mxc:`` only, by
default: a feed's remote images would leak readers' addresses).

Lengths: a title is cut at ``TITLE_LIMIT`` characters, a summary at ``SUMMARY_LIMIT`` (on a
word boundary, with an ellipsis).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import nh3

from bot.matrix.markup import sanitise

TITLE_LIMIT = 200
SUMMARY_LIMIT = 600


def text_of(fragment: str) -> str:
    """The readable text of an HTML fragment (for plain bodies and cutting)."""
    no_tags = nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style"})
    return re.sub(r"\s+", " ", html.unescape(no_tags)).strip()


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if " " in head[limit // 2 :]:
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,;:.") + "…"


@dataclass(frozen=True)
class Item:
    """Something to relay: a feed entry or a manual news item."""

    title: str
    link: str = ""
    summary_html: str = ""  # unsanitised; sanitised here
    source: str = ""
    published: str = ""  # already formatted for people


def item_content(item: Item) -> dict[str, Any]:
    title = cut(text_of(item.title) or "—", TITLE_LIMIT)
    summary_text = cut(text_of(item.summary_html), SUMMARY_LIMIT)
    meta = " · ".join(x for x in (item.source, item.published) if x)
    plain = [title]
    if meta:
        plain.append(meta)
    if summary_text:
        plain.append(summary_text)
    if item.link:
        plain.append(item.link)
    link = html.escape(item.link, quote=True) if _safe_link(item.link) else ""
    heading = f'<a href="{link}">{html.escape(title)}</a>' if link else html.escape(title)
    parts = [f"<p><strong>{heading}</strong></p>"]
    if meta:
        parts.append(f"<p><em>{html.escape(meta)}</em></p>")
    if summary_text:
        summary_html = sanitise(item.summary_html)
        if len(text_of(summary_html)) > SUMMARY_LIMIT:
            summary_html = html.escape(summary_text)
        parts.append(f"<blockquote>{summary_html}</blockquote>")
    return {
        "msgtype": "m.notice",
        "body": "\n".join(plain),
        "format": "org.matrix.custom.html",
        "formatted_body": "".join(parts),
        "m.mentions": {},
    }


def _safe_link(url: str) -> bool:
    return bool(re.match(r"^(https?://|mailto:)", url, re.I))


def text_content(text: str, *, title: str = "", mention_room: bool = False) -> dict[str, Any]:
    """A person's text (news, alert): shown as typed, never as markup."""
    plain = f"{title}\n{text}" if title else text
    formatted = (f"<p><strong>{html.escape(title)}</strong></p>" if title else "") + (
        html.escape(text).replace("\n", "<br>")
    )
    content: dict[str, Any] = {
        "msgtype": "m.notice" if not mention_room else "m.text",
        "body": ("@room " + plain) if mention_room else plain,
        "format": "org.matrix.custom.html",
        "formatted_body": ("@room " + formatted) if mention_room else formatted,
        "m.mentions": {"room": True} if mention_room else {},
    }
    return content
