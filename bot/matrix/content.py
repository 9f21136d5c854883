"""Event contents the bot sends, and what it reads from those it is sent (the layer every
service may use; commands build on it)."""

from __future__ import annotations

from typing import Any

from bot.matrix.markup import formatted

# Every room the bot makes is end-to-end encrypted with this.
ENCRYPTION_ALGORITHM = "m.megolm.v1.aes-sha2"
ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": ENCRYPTION_ALGORITHM},
}


def notice(text: str, *, reply_to: str | None = None, thread: str | None = None) -> dict[str, Any]:
    """An m.notice with a plain body and its Matrix HTML (``bot.matrix.markup``: people as
    pills, commands as code, lists as lists; nothing a person typed is ever rendered as
    markup). Pills notify nobody: ``m.mentions`` is empty."""
    body, formatted_body = formatted(text)
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted_body,
        "m.mentions": {},
    }
    if thread:
        # In the thread of ``thread`` (answering ``reply_to`` there); clients without threads
        # show it as a reply.
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread},
        }
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def replacement(event_id: str, content: dict[str, Any]) -> dict[str, Any]:
    """An ``m.replace`` edit of ``event_id`` carrying ``content`` as its new version; the
    fallback for clients without edits is the new text marked with ``*``. Mentions are not
    repeated (an edit notifies nobody again)."""
    return {
        **{k: v for k, v in content.items() if k not in ("m.mentions", "m.relates_to")},
        "body": "* " + content["body"],
        **(
            {"formatted_body": "* " + content["formatted_body"]}
            if "formatted_body" in content
            else {}
        ),
        "m.new_content": {k: v for k, v in content.items() if k != "m.relates_to"},
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
    }


def edit(event_id: str, text: str) -> dict[str, Any]:
    """One of the bot's notices replaced by ``text``."""
    return replacement(event_id, notice(text))


MEDIA_TYPES = frozenset({"m.file", "m.image", "m.audio", "m.video"})


def attached(content: dict[str, Any]) -> dict[str, Any] | None:
    """What a media event carries, as a command's attachment: its name, type and size, and
    its ``url`` (a clear file) or ``file`` (an encrypted one: where, and how to decrypt it).
    None if it carries neither."""
    raw_info = content.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    name = content.get("filename") or content.get("body") or ""
    found: dict[str, Any] = {
        "name": name if isinstance(name, str) else "",
        "mimetype": info.get("mimetype") if isinstance(info.get("mimetype"), str) else "",
        "size": info.get("size") if isinstance(info.get("size"), int) else None,
    }
    if isinstance(content.get("file"), dict) and isinstance(content["file"].get("url"), str):
        found["file"] = content["file"]
    elif isinstance(content.get("url"), str):
        found["url"] = content["url"]
    else:
        return None
    return found


def media(
    msgtype: str,
    name: str,
    info: dict[str, Any],
    *,
    url: str | None = None,
    file: dict[str, Any] | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """A media message (``m.image``, ``m.file``…): in the clear (``url``) or encrypted
    (``file``: where the ciphertext is, its key, IV and hash). Its body is the file's name
    (a body that differs would be a caption)."""
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": name,
        "filename": name,
        "info": info,
        "m.mentions": {},
    }
    if file is not None:
        content["file"] = file
    else:
        content["url"] = url
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content
