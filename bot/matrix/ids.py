"""Matrix identifiers and room-version rules, written once for everyone."""

from __future__ import annotations

import re

USER_ID_RE = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")
LOCALPART_RE = re.compile(r"^[a-z0-9._=\-/+]+$")
SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$")


def server_of(mxid: str) -> str:
    """``@alice:example.org:8448`` → ``example.org:8448`` (a room alias or id alike)."""
    return mxid.split(":", 1)[1] if ":" in mxid else ""


def localpart(user_id: str) -> str:
    """``@alice:example.org`` → ``alice``."""
    return user_id[1:].split(":", 1)[0]


def is_local(user_id: str, server_name: str) -> bool:
    """Whether ``user_id`` is an account of the homeserver named ``server_name``."""
    return server_of(user_id) == server_name


def host_of(server_name: str) -> str:
    """A server name without its port (``example.org:8448`` → ``example.org``; an IPv6
    literal, with its colons, is left whole)."""
    return server_name.rsplit(":", 1)[0] if server_name.count(":") == 1 else server_name


def creators_are_privileged(room_version: str) -> bool:
    """From room version 12 (MSC4289) a room's creators have unlimited power: they outrank
    every power level and must not be listed in ``users``."""
    return room_version.isdigit() and int(room_version) >= 12


def creators(create_event: dict, room_version: str) -> frozenset[str]:
    """The privileged creators of a room from its ``m.room.create`` event (none before v12)."""
    if not creators_are_privileged(room_version):
        return frozenset()
    content = create_event.get("content", {})
    return frozenset([create_event.get("sender", ""), *content.get("additional_creators", [])])
