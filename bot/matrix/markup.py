"""What the bot's messages look like in Element: a Matrix HTML body (``org.matrix.custom.html``)
beside the plain ``body`` that clients without HTML show.

Two kinds of text, kept apart so that nothing a person typed ever becomes markup:

- Plain text (what ``t()`` gives, values as typed): its HTML is the text escaped, with the
  Matrix IDs in it as pills (matrix.to links Element shows as a person's name and avatar), the
  bot's commands (``!approve 12``) as code, and its lines of bullets (``• …``) as a list.
- :class:`Markdown`, written by the bot (cards, lists, help): rendered with markdown-it-py
  (CommonMark, raw HTML off, links and images off: a value that looks like a link stays text),
  the values put into it escaped first (:func:`markdown`), then the same pills and code.

Either way the HTML goes through the Matrix spec's allow-list (nh3) before it is sent."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt

# The spec's recommended allow-list for HTML in events (client-server API, m.room.message).
ALLOWED_TAGS = {
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol",
    "sup", "sub", "li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "details",
    "summary", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "font": {"color", "data-mx-bg-color", "data-mx-color"},
    "span": {"data-mx-bg-color", "data-mx-color", "data-mx-spoiler"},
    "a": {"href", "target"},
    "ol": {"start"},
    "code": {"class"},
    "img": {"width", "height", "alt", "title", "src"},
}
URL_SCHEMES = {"https", "http", "mailto", "mxc"}

USER_ID = re.compile(r"(?<![\w/#@])@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d{1,5})?(?![\w:])")
COMMAND_PREFIX = "!"  # the region's (``commands.prefix``): set as the bot starts
# What Markdown would read as markup in a value: escaped with a backslash.
MARKDOWN_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")

_markdown = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
_markdown.disable(["link", "image", "autolink", "html_inline", "html_block", "reference"])


class Markdown(str):
    """Text whose markup is the bot's: its values were escaped as they were put in."""


def escape(value: Any) -> str:
    """A value made inert inside Markdown (``**x**`` stays ``**x**``)."""
    return MARKDOWN_ACTIVE.sub(r"\\\1", str(value))


def markdown(template: str, **values: Any) -> Markdown:
    """``template`` (Markdown) with ``values`` put in, escaped."""
    return Markdown(template.format(**{k: escape(v) for k, v in values.items()}))


def sanitise(fragment: str) -> str:
    """HTML reduced to what Matrix clients may render (tags, attributes, link schemes; scripts
    and styles dropped with their content; images only from the homeserver's media)."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        clean_content_tags={"script", "style"},
        link_rel=None,
        attribute_filter=_only_mxc_images,
    )


def _only_mxc_images(tag: str, attribute: str, value: str) -> str | None:
    """Images only from the homeserver's media (``mxc:``): a remote image would tell its host
    who reads the room."""
    if tag == "img" and attribute == "src" and not value.startswith("mxc://"):
        return None
    return value


def pill(user_id: str) -> str:
    """A Matrix ID as Element shows a person: a matrix.to link."""
    return f'<a href="https://matrix.to/#/{quote(user_id, safe="@:")}">{html.escape(user_id)}</a>'


def _commands() -> re.Pattern[str]:
    prefix = re.escape(COMMAND_PREFIX)
    # A command as the bot's texts name it: the prefix and a word, then the arguments that
    # cannot be prose: numbers, <placeholders>, [options], --flags, Matrix IDs.
    return re.compile(
        rf"(?<![\w{prefix}]){prefix}[a-zé][\w-]*"
        rf"(?:\s(?:&lt;[^&]{{1,30}}&gt;|\[[^\]]{{1,40}}\]|--[\w-]+|\d[\w/:-]*|"
        rf"@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+)(?![^\s,;)]))*",
        re.IGNORECASE,
    )


def _enrich(escaped: str) -> str:
    """Pills and code in HTML-escaped text, outside tags and code already there."""
    parts = re.split(r"(<code>.*?</code>|<[^>]+>)", escaped, flags=re.S)
    commands = _commands()
    for i, part in enumerate(parts):
        if i % 2:
            continue  # a tag, or code
        part = commands.sub(lambda m: f"<code>{m.group(0).rstrip()}</code>", part)
        pieces = re.split(r"(<code>.*?</code>)", part, flags=re.S)
        parts[i] = "".join(
            p if p.startswith("<code>") else USER_ID.sub(lambda m: pill(m.group(0)), p)
            for p in pieces
        )
    return "".join(parts)


def plain_html(text: str) -> str:
    """Plain text as HTML: escaped, its bullet lines a list, its IDs pills, commands code."""
    lines = text.split("\n")
    out: list[str] = []
    in_list = False
    for line in lines:
        bullet = line.startswith("• ")
        if bullet and not in_list:
            out.append("<ul>")
        elif not bullet and in_list:
            out.append("</ul>")
        in_list = bullet
        escaped = _enrich(html.escape(line[2:] if bullet else line, quote=False))
        out.append(f"<li>{escaped}</li>" if bullet else escaped + "<br>")
    if in_list:
        out.append("</ul>")
    body = "".join(out)
    body = re.sub(r"(<br>)+$", "", body).replace("<br><ul>", "<ul>")
    return sanitise(body)


def markdown_html(text: Markdown) -> str:
    return sanitise(_enrich(_markdown.render(text).strip()))


def markdown_plain(text: Markdown) -> str:
    """What clients without HTML show: the text without its markup, values as typed."""
    lines: list[str] = []
    current: list[str] = []
    bullets: list[str] = []  # the open lists' markers
    for token in _markdown.parse(text):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            bullets.append("• " if token.type == "bullet_list_open" else "")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            bullets.pop()
            if not bullets:
                lines.append("")
        elif token.type == "list_item_open":
            current.append("  " * (len(bullets) - 1) + (bullets[-1] or f"{token.info}. "))
        elif token.type == "inline":
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    current.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    current.append("\n")
        elif token.type in ("paragraph_close", "heading_close"):
            lines.append("".join(current))
            current = []
            if not bullets:
                lines.append("")
        elif token.type in ("code_block", "fence"):
            lines.append(token.content.rstrip("\n"))
    if current:
        lines.append("".join(current))
    return "\n".join(lines).strip("\n")


def formatted(text: str) -> tuple[str, str]:
    """(plain body, HTML body) of a message."""
    if isinstance(text, Markdown):
        return markdown_plain(text), markdown_html(text)
    return text, plain_html(text)
