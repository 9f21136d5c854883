"""Synapse's admin API: shared-secret registration (an embedded homeserver's accounts), and,
with ``homeserver.privileges: admin``, what the bot otherwise asks Agora's Synapse module for
(force-join, deactivation, registration tokens and the accounts registered with them, its rate
limits): ``AdminPrivileges``. The bot's account must then be a server admin, whose token could
reset any password on the homeserver (deploy/README.md)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from typing import Any, Protocol

import aiohttp

from bot.errors import MatrixError
from bot.homeserver.module_protocol import (
    TOKEN_PROVIDER,
    RoomStateSummary,
    TokenRecord,
    token_id,
)
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
# (homeserver.privileges: admin; the bot's account must be a Synapse admin for these)


class AdminApi(Protocol):
    @property
    def user_id(self) -> str: ...

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


async def renew_registration_token(gateway: AdminApi, token: str, expires_at_ms: int) -> bool:
    """A token's new expiry; False when there is no such token."""
    try:
        await gateway.raw(
            "PUT",
            f"/_synapse/admin/v1/registration_tokens/{path_part(token)}",
            {"expiry_time": expires_at_ms},
            what="renew a registration token",
        )
    except MatrixError as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def exempt_from_rate_limits(gateway: AdminApi) -> None:
    await gateway.raw(
        "POST",
        f"/_synapse/admin/v1/users/{path_part(gateway.user_id)}/override_ratelimit",
        {"messages_per_second": 0, "burst_count": 0},
        what="lift the bot's rate limits",
    )


class AdminPrivileges:
    """``bot.homeserver.privileges.Privileges`` through Synapse's admin API."""

    mode = "admin"

    def __init__(self, gateway: AdminApi):
        self.gateway = gateway

    async def join(self, room_id: str, user_id: str) -> None:
        await force_join(self.gateway, room_id, user_id)

    async def deactivate(self, user_id: str) -> None:
        await deactivate(self.gateway, user_id)

    async def exempt_from_rate_limits(self) -> None:
        await exempt_from_rate_limits(self.gateway)

    async def new_registration_token(self, token: str, expires_at_ms: int) -> None:
        await new_registration_token(self.gateway, token, expires_at_ms)

    async def renew_registration_token(self, token: str, expires_at_ms: int) -> bool:
        return await renew_registration_token(self.gateway, token, expires_at_ms)

    async def delete_registration_token(self, token: str) -> None:
        await delete_registration_token(self.gateway, token)

    async def registration_tokens(self, tokens: Collection[str]) -> dict[str, TokenRecord]:
        """One request lists every token of the homeserver; those asked about are kept."""
        if not tokens:
            return {}
        every = await registration_tokens(self.gateway)
        return {t: TokenRecord.of(every[t]) for t in tokens if t in every}

    async def registered_with(self, token: str, *, legacy: bool = False) -> str | None:
        return await user_registered_with(self.gateway, token, legacy=legacy)

    async def room_states(
        self, asked: dict[str, list[str]]
    ) -> dict[str, RoomStateSummary | None] | None:
        """Not offered through the admin API (its room state call is the whole state too):
        the bot reads each room itself."""
        return None
