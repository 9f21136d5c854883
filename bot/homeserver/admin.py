"""Synapse's admin API: shared-secret registration, force-join, deactivation, registration
tokens and the accounts registered with them."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Protocol

import aiohttp

from bot.errors import MatrixError
from bot.homeserver.module_protocol import TOKEN_PROVIDER, token_id
from bot.matrix.gateway import path_part


class RegistrationError(RuntimeError):
    pass


async def register_with_shared_secret(
    session: aiohttp.ClientSession,
    homeserver_url: str,
    shared_secret: str,
    localpart: str,
    password: str,
    *,
    admin: bool = False,
    displayname: str | None = None,
) -> dict | None:
    """Register ``localpart``. Returns the login answer, or ``None`` if the user exists."""
    url = homeserver_url.rstrip("/") + "/_synapse/admin/v1/register"
    async with session.get(url) as resp:
        if resp.status != 200:
            raise RegistrationError(f"nonce request failed: HTTP {resp.status}")
        nonce = (await resp.json())["nonce"]
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    for part in (nonce, localpart, password, "admin" if admin else "notadmin"):
        mac.update(part.encode())
        if part != ("admin" if admin else "notadmin"):
            mac.update(b"\x00")
    body = {
        "nonce": nonce,
        "username": localpart,
        "password": password,
        "admin": admin,
        "mac": mac.hexdigest(),
    }
    if displayname:
        body["displayname"] = displayname
    async with session.post(url, json=body) as resp:
        data = await resp.json()
        if resp.status == 200:
            return data
        if data.get("errcode") == "M_USER_IN_USE":
            return None
        raise RegistrationError(f"registering {localpart!r} failed: HTTP {resp.status} {data}")


# --- Synapse admin API calls the bot makes as a server admin ---------------------------------
# (the bot's account must be a Synapse admin for these: it is on the embedded homeserver; see
# deploy/README.md for a production one)


class AdminApi(Protocol):
    async def raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        what: str | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]: ...


async def force_join(gateway: AdminApi, room_id: str, user_id: str) -> None:
    """Join a local user into a room (Synapse invites them first if the room needs it)."""
    await gateway.raw(
        "POST",
        f"/_synapse/admin/v1/join/{path_part(room_id)}",
        {"user_id": user_id},
        what=f"join {user_id} into {room_id}",
    )


async def deactivate(gateway: AdminApi, user_id: str) -> None:
    await gateway.raw(
        "POST",
        f"/_synapse/admin/v1/deactivate/{path_part(user_id)}",
        {"erase": False},
        what=f"deactivate {user_id}",
    )


async def new_registration_token(gateway: AdminApi, token: str, expires_at_ms: int) -> str:
    """A single-use registration token (MSC3231). ``token`` is chosen by the caller so that a
    retry after a crash finds the one already made instead of making a second."""
    try:
        data = await gateway.raw(
            "POST",
            "/_synapse/admin/v1/registration_tokens/new",
            {"token": token, "uses_allowed": 1, "expiry_time": expires_at_ms},
            what="make a registration token",
        )
    except MatrixError as exc:
        if exc.status == 400 and "already exists" in exc.message:
            return token
        raise
    return data["token"]


async def registration_tokens(gateway: AdminApi) -> dict[str, dict[str, Any]]:
    """Every registration token of the homeserver (one request, no token in its path):
    token → its record (``completed`` uses, ``expiry_time``)."""
    data = await gateway.raw(
        "GET", "/_synapse/admin/v1/registration_tokens", what="list registration tokens"
    )
    return {r["token"]: r for r in data.get("registration_tokens", []) if "token" in r}


async def delete_registration_token(gateway: AdminApi, token: str) -> None:
    """Withdraw a token that was replaced (it can no longer be used; 404: gone already)."""
    try:
        await gateway.raw(
            "DELETE",
            f"/_synapse/admin/v1/registration_tokens/{path_part(token)}",
            what="withdraw a registration token",
        )
    except MatrixError as exc:
        if exc.status != 404:
            raise


async def user_registered_with(
    gateway: AdminApi, token: str, *, legacy: bool = False
) -> str | None:
    """The account registered with ``token``, as recorded by Agora's Synapse module (under the
    token's hash: the path holds no token). ``legacy``: under the token itself, as the module
    recorded it in its first builds (asked once per token, for an account made before the upgrade)."""
    try:
        data = await gateway.raw(
            "GET",
            f"/_synapse/admin/v1/auth_providers/{TOKEN_PROVIDER}/users/"
            f"{path_part(token if legacy else token_id(token))}",
            what="find the account of a registration token",
        )
    except MatrixError as exc:
        if exc.status == 404:
            return None
        raise
    return data.get("user_id")
