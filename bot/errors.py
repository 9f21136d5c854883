"""One error hierarchy. ``UserError`` is shown to the user as written (translated); anything
else is logged with a short reference and the user only sees that reference."""

from __future__ import annotations

import secrets
import socket
from typing import Any

import aiohttp

from bot.i18n import t


class AgoraError(Exception):
    """Base of every error Agora raises on purpose."""


class UserError(AgoraError):
    """A refusal or failure the user may read. ``key`` is a message id from ``bot.i18n``."""

    key = "error.generic"

    def __init__(self, key: str | None = None, **params: Any):
        self.key = key or self.key
        self.params = params
        super().__init__(f"{self.key} {params}")

    def render(self, locale: str) -> str:
        return t(self.key, locale, **self.params)


class BadArgument(UserError):
    key = "error.bad_argument"


class NotFound(UserError):
    key = "error.not_found"


class PermissionDenied(UserError):
    key = "error.permission_denied"


class UnverifiedDevice(PermissionDenied):
    """Refused: the sending device does not speak for its privileged owner (not signed by
    their pinned cross-signing identity); the message says how to fix it."""


class Conflict(UserError):
    key = "error.conflict"


class MatrixError(AgoraError):
    """A homeserver answered with an error (converted once, in the gateway)."""

    def __init__(
        self,
        status: int | None,
        errcode: str | None,
        message: str,
        retry_after_ms: int | None = None,
    ):
        self.status = status
        self.errcode = errcode
        self.message = message
        self.retry_after_ms = retry_after_ms
        super().__init__(f"{status} {errcode}: {message}")


class FileTooLarge(AgoraError):
    """A file bigger than the bot will take."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"larger than {limit} bytes")


class Undecryptable(AgoraError):
    """An event or a file the bot cannot decrypt (no key, or a key that does not fit)."""


class MatrixUnavailable(AgoraError):
    """The homeserver could not be reached after the allowed retries."""


# Errors that retrying may cure: the homeserver away, overloaded or rate limiting, a network
# that failed. The AGORA_* codes are the gateway's own waits (a room not synced yet).
TRANSIENT_CODES = frozenset(
    {"M_LIMIT_EXCEEDED", "AGORA_ROOM_NOT_SYNCED", "AGORA_MEMBER_NOT_SYNCED", "AGORA_NO_DEVICE"}
)


def transient(exc: BaseException) -> bool:
    """Whether a failure is worth retrying for as long as it takes (an outage ends), rather
    than a few times (a 4xx answer, a bug: the same again next time)."""
    if isinstance(exc, MatrixUnavailable | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, MatrixError):
        status = exc.status or 0
        return status == 429 or status >= 500 or exc.errcode in TRANSIENT_CODES
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return False  # a certificate does not fix itself
    return isinstance(exc, aiohttp.ClientError | socket.gaierror)


def new_reference() -> str:
    """A short reference shown to users for an internal error and written to the log."""
    return secrets.token_hex(2).upper()
