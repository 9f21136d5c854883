"""The bot's Matrix session: the saved login restored (same device, same crypto store), or a
log in once. The password is never written by the bot (``Session.password`` stays in memory:
cross-signing may need it)."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from nio import AsyncClient, LoginResponse, WhoamiResponse

from bot.errors import AgoraError
from bot.files import write_private

log = logging.getLogger(__name__)


class LoginError(AgoraError):
    pass


@dataclass
class Session:
    user_id: str
    device_id: str
    access_token: str
    pickle_key: str
    password: str | None = None


def saved_session(path: Path) -> Session | None:
    """The session file as written last (an older one may still hold a password)."""
    return Session(**json.loads(path.read_text())) if path.exists() else None


def save(path: Path, session: Session) -> Session:
    kept = {k: v for k, v in session.__dict__.items() if k != "password"}
    write_private(path, json.dumps(kept, indent=2))
    return session


async def whoami(url: str, token: str) -> WhoamiResponse | None:
    client = AsyncClient(url)
    client.access_token = token
    try:
        resp = await client.whoami()
    finally:
        await client.close()
    return resp if isinstance(resp, WhoamiResponse) else None


async def restore_or_log_in(
    url: str,
    user_id: str,
    device_name: str,
    path: Path,
    *,
    password: str | None,
    access_token: str | None = None,
) -> Session:
    """The saved session if its token still works (a configured ``access_token`` replaces a
    saved one), else a log in with ``password`` on the saved device."""
    saved = saved_session(path)
    pickle_key = saved.pickle_key if saved else secrets.token_urlsafe(32)
    if saved:
        token = access_token if access_token and access_token != saved.access_token else None
        token = token or saved.access_token
        who = await whoami(url, token)
        if who is not None and who.device_id:  # the same device, or a new token's own
            return save(path, Session(who.user_id, who.device_id, token, pickle_key, password))
    elif access_token:
        who = await whoami(url, access_token)
        if who is None or not who.device_id:
            raise LoginError("homeserver.access_token is not valid (or has no device)")
        return save(path, Session(who.user_id, who.device_id, access_token, pickle_key, password))
    if not password:
        raise LoginError(
            "the saved access token is no longer valid and no password is configured "
            "(homeserver.password)",
        )
    client = AsyncClient(url, user_id, device_id=saved.device_id if saved else None)
    try:
        resp = await client.login(password, device_name=device_name)
    finally:
        await client.close()
    if not isinstance(resp, LoginResponse):
        raise LoginError(f"login as {user_id} failed: {resp}")
    log.info("logged in as %s, device %s", resp.user_id, resp.device_id)
    return save(
        path, Session(resp.user_id, resp.device_id, resp.access_token, pickle_key, password)
    )
