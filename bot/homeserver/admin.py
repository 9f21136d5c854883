"""Account creation through Synapse's shared-secret registration (admin API)."""

from __future__ import annotations

import hashlib
import hmac

import aiohttp


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
