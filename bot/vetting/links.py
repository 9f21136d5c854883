"""Private status links of web (and imported) requests: an unguessable token in the URL, only
its SHA-256 in the store, so that a copy of the database opens no one's status page."""

from __future__ import annotations

import hashlib
import secrets

STATUS_PATH = "/join/status/"


def new_status_token() -> tuple[str, str]:
    """(token for the link, hash to store)."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def status_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + STATUS_PATH + token
