"""Agora's Synapse module (``agora_synapse``) as the bot speaks to it: its paths, the header of
its shared secret, the record kept for a registration token. The bot never imports the module
(it runs inside Synapse): these are the bot's copy, and tests/test_least_privilege_unit.py
checks they agree with ``agora_synapse.protocol``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

MODULE_NAME = "agora-registration-link"
PROBE_PATH = "/_synapse/client/agora/registration_link"
API_PATH = "/_synapse/client/agora/v1"
SECRET_HEADER = "X-Agora-Secret"
TOKEN_PROVIDER = "agora-registration-token"
REGISTRATION_TOKEN = "m.login.registration_token"
# The key of the module's secret in an embedded homeserver's secrets.json.
EMBEDDED_SECRET = "agora_module_secret"


def token_id(token: str) -> str:
    """What the module records (and the bot looks up) for a token: its SHA-256, never the
    token."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    """A registration token as the homeserver counts it."""

    uses_allowed: int | None
    pending: int
    completed: int
    expiry_time: int | None  # ms since the epoch

    @classmethod
    def of(cls, data: dict) -> TokenRecord:
        return cls(
            data.get("uses_allowed"),
            int(data.get("pending") or 0),
            int(data.get("completed") or 0),
            data.get("expiry_time"),
        )


@dataclass(frozen=True)
class RoomStateSummary:
    """A room as ``rooms/state`` reads it: its state events but the members', and the
    membership of the people asked about (those never in the room are absent)."""

    state: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, data: dict[str, Any]) -> RoomStateSummary:
        state = [e for e in data.get("state") or [] if isinstance(e, dict) and "type" in e]
        members = {
            user: membership
            for user, membership in (data.get("members") or {}).items()
            if isinstance(membership, str)
        }
        return cls(state, members)
