"""Private status links of web (and imported) requests: an unguessable token in the URL, only
its SHA-256 in the store, so that a copy of the database opens no one's status page."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from bot.store import Store

STATUS_PATH = "/join/status/"
CONFIRM_PATH = "/join/confirm/"


def new_status_token() -> tuple[str, str]:
    """(token for the link, hash to store)."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def status_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + STATUS_PATH + token


async def web_secret(store: Store) -> bytes:
    """The web side's own secret (CSRF, confirmation links), made once and kept."""
    secret = await store.get("web.secret")
    if secret is None:
        secret = secrets.token_hex(32)
        await store.put("web.secret", secret)
    return bytes.fromhex(secret)


def confirmation_token(secret: bytes, request_id: int, created: float) -> str:
    """The token of a request's email confirmation link, derived (never stored: only its
    hash is), so that a mail sent again after a crash carries the same link."""
    mac = hmac.new(secret, f"confirm:{request_id}:{created!r}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def confirm_url(public_url: str, token: str, locale: str) -> str:
    return f"{public_url.rstrip('/')}{CONFIRM_PATH}{token}?lang={locale}"
