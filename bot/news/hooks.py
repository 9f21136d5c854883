"""Pure: webhook signatures. The agency's systems sign each request:

    X-Agora-Timestamp: 1795363200          (Unix seconds)
    X-Agora-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

A request is refused (401) when the signature is missing or wrong, or when its timestamp is
further than ``max_age`` seconds from now; a signature accepted once is refused afterwards
(replay), which the caller checks against its store.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Agora-Timestamp"
SIGNATURE_HEADER = "X-Agora-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def problem(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    max_age: float,
) -> str | None:
    """Why the request is refused, or None if it is authentic and fresh."""
    if not timestamp or not signature:
        return "missing signature headers"
    if not timestamp.isdigit():
        return "malformed timestamp"
    if abs(now - int(timestamp)) > max_age:
        return "stale timestamp"
    if not hmac.compare_digest(signature, sign(secret, timestamp, body)):
        return "bad signature"
    return None
