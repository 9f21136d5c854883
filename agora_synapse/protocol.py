"""What the module and its caller agree on, and the module's checks that need no homeserver:
paths, the secret's header, the record kept for a registration token, the module's config, and
who may be joined where. Standard library only (unit-tested without Synapse)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODULE_NAME = "agora-registration-link"  # what the probe answers (older bots look for it)
API_VERSION = "v1"
TOKEN_PROVIDER = "agora-registration-token"
REGISTRATION_TOKEN = "m.login.registration_token"
# Unauthenticated: says the module is loaded, nothing else.
PROBE_PATH = "/_synapse/client/agora/registration_link"
# Everything else, behind the shared secret: POST {API_PATH}/<operation> with a JSON object.
API_PATH = "/_synapse/client/agora/" + API_VERSION
SECRET_HEADER = "X-Agora-Secret"
MIN_SECRET = 32  # characters
# The operations under API_PATH (each a POST with a JSON object body).
OPERATIONS = (
    "status",
    "registration_tokens/create",
    "registration_tokens/renew",
    "registration_tokens/lookup",
    "registration_tokens/account",
    "registration_tokens/delete",
    "rooms/join",
    "users/deactivate",
    "ratelimit/exempt",
    "rooms/state",
)
# Synapse's own rule for a registration token (its admin API's), and the longest life Agora
# gives one: a token lives days, not years.
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
MAX_TOKEN_LIFE_MS = 366 * 86400 * 1000
MAX_LOOKUP = 500  # tokens asked about at once
MAX_STATE_ROOMS, MAX_STATE_USERS = 100, 20_000  # rooms/state: rooms, and people, at once
DEFAULT_INVITE_LEVEL, DEFAULT_KICK_LEVEL = 0, 50  # the spec's defaults for m.room.power_levels


class Refused(Exception):
    """A request the module refuses: its HTTP status, Matrix error code and message."""

    def __init__(self, status: int, errcode: str, message: str):
        super().__init__(message)
        self.status, self.errcode, self.message = status, errcode, message


def token_id(token: str) -> str:
    """What is recorded (and looked up) for a token: its SHA-256, never the token."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def secret_matches(given: str | None, secret: str | None) -> bool:
    """The header's value against the configured secret, in constant time; no secret
    configured: nothing matches."""
    if not secret or given is None:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


@dataclass(frozen=True)
class ModuleConfig:
    """``secret`` (or ``secret_path``): none, the operations are all refused (the module then
    only records which account a token made, as its first builds did). ``bot_user``: the
    Agora bot the operations act for; ``bot_user_pattern``: a regular expression of such bots
    instead (a homeserver where several are made, as Agora's tests do)."""

    secret: str | None = None
    bot_user: str | None = None
    bot_user_pattern: re.Pattern[str] | None = None

    def is_bot(self, user_id: str) -> bool:
        if self.bot_user is not None and user_id == self.bot_user:
            return True
        return self.bot_user_pattern is not None and bool(self.bot_user_pattern.fullmatch(user_id))

    def acting_bot(self, asked: Any) -> str:
        """The bot a request acts for: the one it names (a configured bot), else the one
        configured."""
        if asked is None:
            if self.bot_user is None:
                raise Refused(400, "M_MISSING_PARAM", "name the bot ('bot')")
            return self.bot_user
        if not isinstance(asked, str) or not self.is_bot(asked):
            raise Refused(403, "M_FORBIDDEN", "not the bot this module serves")
        return asked


def parse_config(
    raw: Mapping[str, Any] | None, read: Callable[[str], str] | None = None
) -> ModuleConfig:
    """The module's ``config:`` block, checked (``ValueError`` names the key)."""
    raw = dict(raw or {})
    unknown = set(raw) - {"secret", "secret_path", "bot_user", "bot_user_pattern"}
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
    secret = raw.get("secret")
    if raw.get("secret_path") is not None:
        if secret is not None:
            raise ValueError("secret_path: give secret or secret_path, not both")
        path = raw["secret_path"]
        if not isinstance(path, str):
            raise ValueError("secret_path: expected a file path")
        try:
            secret = (read or _read_file)(path).strip()
        except OSError as exc:
            raise ValueError(f"secret_path: cannot read {path} ({exc.strerror})") from None
    if secret is not None and (not isinstance(secret, str) or len(secret) < MIN_SECRET):
        raise ValueError(f"secret: expected at least {MIN_SECRET} characters")
    bot_user = raw.get("bot_user")
    if bot_user is not None and not (isinstance(bot_user, str) and _USER_ID.match(bot_user)):
        raise ValueError("bot_user: expected a user id such as @agora:example.org")
    pattern = raw.get("bot_user_pattern")
    compiled = None
    if pattern is not None:
        try:
            compiled = re.compile(pattern)
        except (re.error, TypeError):
            raise ValueError("bot_user_pattern: expected a regular expression") from None
    if secret and bot_user is None and compiled is None:
        raise ValueError("bot_user: expected the Agora bot's user id (with a secret)")
    return ModuleConfig(secret or None, bot_user, compiled)


_USER_ID = re.compile(r"^@[^:\s]+:\S+$")


def _read_file(path: str) -> str:
    return Path(path).read_text()


def check_local_bot(config: ModuleConfig, server_name: str) -> None:
    """The bot is a user of this homeserver (``ValueError`` otherwise)."""
    if config.bot_user is not None and config.bot_user.split(":", 1)[1] != server_name:
        raise ValueError(f"bot_user: expected a user of this homeserver ({server_name})")


# --- requests ---------------------------------------------------------------------------------


def text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise Refused(400, "M_MISSING_PARAM", f"'{key}': expected a string")
    return value


def registration_token(body: Mapping[str, Any]) -> str:
    token = text(body, "token")
    if not TOKEN_RE.match(token):
        raise Refused(400, "M_INVALID_PARAM", "'token': at most 64 of A-Z a-z 0-9 . _ ~ -")
    return token


def expiry(body: Mapping[str, Any], now_ms: int) -> int:
    """A token's expiry (ms since the epoch): in the future, within MAX_TOKEN_LIFE_MS."""
    value = body.get("expiry_time")
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(400, "M_INVALID_PARAM", "'expiry_time': expected milliseconds")
    if not now_ms < value <= now_ms + MAX_TOKEN_LIFE_MS:
        raise Refused(400, "M_INVALID_PARAM", "'expiry_time': in the future, within a year")
    return value


def tokens(body: Mapping[str, Any]) -> list[str]:
    value = body.get("tokens")
    if not isinstance(value, list) or len(value) > MAX_LOOKUP:
        raise Refused(400, "M_INVALID_PARAM", f"'tokens': expected a list of {MAX_LOOKUP} at most")
    return [registration_token({"token": t}) for t in value]


def local_user(body: Mapping[str, Any], key: str, server_name: str) -> str:
    """A user id of this homeserver, never a remote one."""
    user_id = text(body, key)
    if not _USER_ID.match(user_id):
        raise Refused(400, "M_INVALID_PARAM", f"'{key}': expected a user id")
    if user_id.split(":", 1)[1] != server_name:
        raise Refused(403, "M_FORBIDDEN", "only users of this homeserver")
    return user_id


def room_id(body: Mapping[str, Any]) -> str:
    value = text(body, "room_id")
    if not value.startswith("!"):
        raise Refused(400, "M_INVALID_PARAM", "'room_id': expected a room id (!…)")
    return value


def rooms_and_users(body: Mapping[str, Any]) -> dict[str, list[str]]:
    """``rooms/state``'s ``rooms``: room ids, each with the people whose membership is asked."""
    value = body.get("rooms")
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_STATE_ROOMS:
        raise Refused(400, "M_INVALID_PARAM", f"'rooms': expected 1 to {MAX_STATE_ROOMS} room ids")
    asked: dict[str, list[str]] = {}
    for room, users in value.items():
        if not isinstance(room, str) or not room.startswith("!"):
            raise Refused(400, "M_INVALID_PARAM", "'rooms': expected room ids (!…)")
        if not isinstance(users, list) or not all(
            isinstance(u, str) and _USER_ID.match(u) for u in users
        ):
            raise Refused(400, "M_INVALID_PARAM", f"'rooms': {room}: expected a list of user ids")
        asked[room] = users
    if sum(len(users) for users in asked.values()) > MAX_STATE_USERS:
        raise Refused(400, "M_INVALID_PARAM", f"'rooms': {MAX_STATE_USERS} people at most")
    return asked


def manages(bot_joined: bool, bot_level: int, power_levels: Mapping[str, Any] | None) -> bool:
    """Whether the bot manages a room: joined, with the power to invite and to kick."""
    if not bot_joined:
        return False
    content = power_levels or {}
    invite = _level(content.get("invite"), DEFAULT_INVITE_LEVEL)
    kick = _level(content.get("kick"), DEFAULT_KICK_LEVEL)
    return bot_level >= invite and bot_level >= kick


def _level(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default
