"""``bot.homeserver.privileges.Privileges`` through Agora's Synapse module (``agora_synapse``):
each operation a POST under ``/_synapse/client/agora/v1`` with the module's shared secret in a
header, through the gateway (its retries, its errors). The bot needs no server-admin right;
the module checks what each operation may touch (local users, rooms the bot manages, never a
bot nor a server admin deactivated)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from bot.errors import MatrixError
from bot.homeserver.module_protocol import (
    API_PATH,
    SECRET_HEADER,
    RoomStateSummary,
    TokenRecord,
)
from bot.matrix.gateway import Gateway

LOOKUP_BATCH = 500  # tokens the module answers for at once
STATE_BATCH = 100  # rooms it reads at once (its MAX_STATE_ROOMS)


class ModulePrivileges:
    mode = "module"

    def __init__(self, gateway: Gateway, secret: Callable[[], str]):
        self.gateway = gateway
        self._secret = secret  # read when first needed (an embedded homeserver makes it)

    async def _call(self, operation: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        return await self.gateway.raw(
            "POST",
            f"{API_PATH}/{operation}",
            {"bot": self.gateway.user_id, **body},
            what=what,
            headers={SECRET_HEADER: self._secret()},
        )

    async def join(self, room_id: str, user_id: str) -> None:
        await self._call(
            "rooms/join", {"room_id": room_id, "user_id": user_id}, f"join {user_id} into {room_id}"
        )

    async def deactivate(self, user_id: str) -> None:
        await self._call("users/deactivate", {"user_id": user_id}, f"deactivate {user_id}")

    async def exempt_from_rate_limits(self) -> None:
        await self._call("ratelimit/exempt", {}, "lift the bot's rate limits")

    async def new_registration_token(self, token: str, expires_at_ms: int) -> None:
        """Made once: the same token asked again (a retry after a crash) is the one made."""
        await self._call(
            "registration_tokens/create",
            {"token": token, "expiry_time": expires_at_ms},
            "make a registration token",
        )

    async def renew_registration_token(self, token: str, expires_at_ms: int) -> bool:
        try:
            await self._call(
                "registration_tokens/renew",
                {"token": token, "expiry_time": expires_at_ms},
                "renew a registration token",
            )
        except MatrixError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def delete_registration_token(self, token: str) -> None:
        await self._call(
            "registration_tokens/delete", {"token": token}, "withdraw a registration token"
        )

    async def registration_tokens(self, tokens: Collection[str]) -> dict[str, TokenRecord]:
        asked, found = list(dict.fromkeys(tokens)), {}
        for start in range(0, len(asked), LOOKUP_BATCH):
            data = await self._call(
                "registration_tokens/lookup",
                {"tokens": asked[start : start + LOOKUP_BATCH]},
                "look registration tokens up",
            )
            for token, record in data.get("tokens", {}).items():
                found[token] = TokenRecord.of(record)
        return found

    async def registered_with(self, token: str, *, legacy: bool = False) -> str | None:
        data = await self._call(
            "registration_tokens/account",
            {"token": token, "legacy": legacy},
            "find the account of a registration token",
        )
        user_id = data.get("user_id")
        return user_id if isinstance(user_id, str) else None

    async def room_states(
        self, asked: dict[str, list[str]]
    ) -> dict[str, RoomStateSummary | None] | None:
        """Rooms' state without their members, and the membership of the people asked for in
        each (None for a room the bot is not joined to), a hundred rooms a request; None when
        the module is older than this operation."""
        found: dict[str, RoomStateSummary | None] = {}
        rooms = list(asked)
        for start in range(0, len(rooms), STATE_BATCH):
            batch = {room: asked[room] for room in rooms[start : start + STATE_BATCH]}
            try:
                data = await self._call("rooms/state", {"rooms": batch}, "read managed rooms")
            except MatrixError as exc:
                if exc.status == 404 and exc.errcode == "M_UNRECOGNIZED":
                    return None
                raise
            for room_id, answer in (data.get("rooms") or {}).items():
                found[room_id] = RoomStateSummary.of(answer) if "state" in answer else None
        return found
