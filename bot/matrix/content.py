"""Event contents the bot sends (the layer every service may use; commands build on it)."""

from __future__ import annotations

import html
from typing import Any


def notice(text: str, *, reply_to: str | None = None) -> dict[str, Any]:
    """An m.notice with a plain body and the same text as escaped HTML (nothing a user typed is
    ever rendered as markup)."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": html.escape(text).replace("\n", "<br>"),
        "m.mentions": {},
    }
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def edit(event_id: str, text: str) -> dict[str, Any]:
    """A replacement (m.replace) of one of the bot's notices by ``text``."""
    return {
        "msgtype": "m.notice",
        "body": "* " + text,
        "m.mentions": {},
        "m.new_content": notice(text),
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
    }
