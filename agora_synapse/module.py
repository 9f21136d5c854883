"""The Synapse module: what Agora's bot needs from its homeserver, without being a server admin.

It records which account each registration token made (Synapse keeps no such record: a token
only counts its uses), and serves, behind a shared secret, the few operations the bot would
otherwise need the admin API for (see ``protocol.OPERATIONS``): single-use registration tokens
and the account each made; a local user joined into a room the bot manages; a revoked local
account deactivated; the bot exempt from rate limits; the state of rooms the bot is in,
without their members (what a plan of the network reads). Each operation checks its own limits
(local users only, rooms the bot manages, never a bot nor a server admin deactivated), so the
secret opens these and nothing else.

Loaded by Synapse (``modules:`` in homeserver.yaml); imports nothing from Agora.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from synapse.module_api import DirectServeJsonResource, ModuleApi, parse_json_object_from_request
from synapse.module_api.errors import Codes, ConfigError, SynapseError
from twisted.web.resource import Resource

from agora_synapse import compat, protocol
from agora_synapse.protocol import ModuleConfig, Refused

log = logging.getLogger(__name__)

VERSION = "1.1.0"
Operation = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class AgoraModule:
    def __init__(self, config: ModuleConfig, api: ModuleApi):
        try:
            protocol.check_local_bot(config, api.server_name)
        except ValueError as exc:
            raise ConfigError(str(exc), ("modules", "agora_synapse", "config")) from None
        self.config = config
        self.api = api
        self._pending: dict[str, str] = {}  # localpart → the token its registration used
        api.register_password_auth_provider_callbacks(
            get_username_for_registration=self._username_for_registration
        )
        api.register_account_validity_callbacks(on_user_registration=self._registered)
        api.register_web_resource(protocol.PROBE_PATH, _Probe())
        api.register_web_resource(protocol.API_PATH, _Operations(self))
        self.operations: dict[str, Operation] = {
            "status": self.status,
            "registration_tokens/create": self.create_token,
            "registration_tokens/renew": self.renew_token,
            "registration_tokens/lookup": self.lookup_tokens,
            "registration_tokens/account": self.token_account,
            "registration_tokens/delete": self.delete_token,
            "rooms/join": self.join,
            "users/deactivate": self.deactivate,
            "ratelimit/exempt": self.exempt,
            "rooms/state": self.room_states,
        }
        if config.secret is None:
            log.warning("agora_synapse: no secret configured; only registrations are recorded")
        elif config.bot_user is not None and api.should_run_background_tasks():
            # The bot is exempt from rate limits from the start (it posts to many rooms).
            api.delayed_background_call(0, self._exempt_bot, desc="agora_exempt_bot")

    @staticmethod
    def parse_config(config: dict[str, Any] | None) -> ModuleConfig:
        try:
            return protocol.parse_config(config)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    # --- which account a registration token made -------------------------------------------

    async def _username_for_registration(
        self, uia_results: dict[str, Any], params: dict[str, Any]
    ) -> str | None:
        token = uia_results.get(protocol.REGISTRATION_TOKEN)
        username = params.get("username")
        if isinstance(token, str) and isinstance(username, str) and username:
            self._pending[username.lower()] = token
        return None  # the username stays the one the person chose

    async def _registered(self, user_id: str) -> None:
        token = self._pending.pop(user_id[1:].split(":", 1)[0], None)
        if token is None:
            return
        try:
            await self.api.record_user_external_id(
                protocol.TOKEN_PROVIDER, protocol.token_id(token), user_id
            )
        except Exception:  # never fail a registration over this; the bot can be told by hand
            log.exception("could not record the registration token of %s", user_id)

    async def _exempt_bot(self) -> None:
        assert self.config.bot_user is not None
        await compat.exempt_from_rate_limits(self.api, self.config.bot_user)

    # --- the operations (each with its JSON body; Refused says no) --------------------------

    def _now_ms(self) -> int:
        return int(self.api.get_current_time_msec())

    async def status(self, body: dict[str, Any]) -> dict[str, Any]:
        """What the bot's ``doctor`` reports: the module's version, and for the bot it names
        whether this module serves it, whether it is a server admin, and exempt."""
        answer: dict[str, Any] = {
            "module": protocol.MODULE_NAME,
            "version": VERSION,
            "api": protocol.API_VERSION,
        }
        user_id = body.get("bot")
        if isinstance(user_id, str) and user_id:
            info = await self.api.get_userinfo_by_id(user_id) if self.api.is_mine(user_id) else None
            answer |= {
                "bot": self.config.is_bot(user_id),
                "exists": info is not None,
                "admin": bool(info and info.is_admin),
                "exempt": await compat.exempt(self.api, user_id),
            }
        return answer

    async def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        """A single-use token the caller chose (so that a retry finds the one it made)."""
        token = protocol.registration_token(body)
        expiry = protocol.expiry(body, self._now_ms())
        created = await compat.create_registration_token(self.api, token, expiry)
        log.info("registration token %s", "created" if created else "already there")
        return {"created": created}

    async def renew_token(self, body: dict[str, Any]) -> dict[str, Any]:
        token = protocol.registration_token(body)
        expiry = protocol.expiry(body, self._now_ms())
        record = await compat.set_registration_token_expiry(self.api, token, expiry)
        if record is None:
            raise Refused(404, Codes.NOT_FOUND, "no such registration token")
        return _token_record(record)

    async def lookup_tokens(self, body: dict[str, Any]) -> dict[str, Any]:
        """The tokens asked about that exist: their uses and expiry."""
        found = {}
        for token in dict.fromkeys(protocol.tokens(body)):
            record = await compat.registration_token(self.api, token)
            if record is not None:
                found[token] = _token_record(record)
        return {"tokens": found}

    async def token_account(self, body: dict[str, Any]) -> dict[str, Any]:
        """The account a token made, as recorded under its hash (``legacy``: under the token
        itself, as the module's first builds recorded it)."""
        token = protocol.registration_token(body)
        external_id = token if body.get("legacy") is True else protocol.token_id(token)
        user_id = await compat.user_by_external_id(self.api, protocol.TOKEN_PROVIDER, external_id)
        return {"user_id": user_id}

    async def delete_token(self, body: dict[str, Any]) -> dict[str, Any]:
        token = protocol.registration_token(body)
        return {"deleted": await compat.delete_registration_token(self.api, token)}

    async def join(self, body: dict[str, Any]) -> dict[str, Any]:
        """A local user joined into a room the bot manages (joined, with the power to invite
        and kick), invited first by the bot when the room is not public."""
        bot = self.config.acting_bot(body.get("bot"))
        user_id = protocol.local_user(body, "user_id", self.api.server_name)
        room_id = protocol.room_id(body)
        info = await self.api.get_userinfo_by_id(user_id)
        if info is None or info.is_deactivated:
            raise Refused(404, Codes.NOT_FOUND, "no such user")
        state = await self.api.get_room_state(
            room_id,
            [
                ("m.room.create", ""),
                ("m.room.power_levels", ""),
                ("m.room.join_rules", ""),
                ("m.room.member", bot),
                ("m.room.member", user_id),
            ],
        )
        bot_member = state.get(("m.room.member", bot))
        joined = bot_member is not None and bot_member.membership == "join"
        power = state.get(("m.room.power_levels", ""))
        level = compat.power_level(bot, state) if joined else 0
        if not protocol.manages(joined, level, power.content if power else None):
            raise Refused(403, Codes.FORBIDDEN, "not a room the bot manages")
        member = state.get(("m.room.member", user_id))
        membership = member.membership if member is not None else None
        if membership == "join":
            return {"room_id": room_id, "already": True}
        rules = state.get(("m.room.join_rules", ""))
        public = rules is not None and rules.content.get("join_rule") == "public"
        await compat.force_join(
            self.api, bot, user_id, room_id, invite=not public and membership != "invite"
        )
        log.info("%s joined %s into %s", bot, user_id, room_id)
        return {"room_id": room_id, "already": False}

    async def room_states(self, body: dict[str, Any]) -> dict[str, Any]:
        """The state of rooms the bot is joined to (what it could read itself, room by room,
        with ``GET /rooms/{id}/state``), without their member events, and of the people asked
        for each room, their membership ("join", "invite", "leave", "ban"; none: never in it).
        A room the bot is not joined to answers only ``M_FORBIDDEN``."""
        bot = self.config.acting_bot(body.get("bot"))
        rooms: dict[str, Any] = {}
        for room_id, users in protocol.rooms_and_users(body).items():
            joined = await compat.joined_users(self.api, room_id)
            if bot not in joined:
                rooms[room_id] = {"errcode": Codes.FORBIDDEN}
                continue
            members = {user: "join" for user in users if user in joined}
            others = [user for user in dict.fromkeys(users) if user not in joined]
            if others:
                found = await self.api.get_room_state(
                    room_id, [("m.room.member", user) for user in others]
                )
                members |= {key[1]: event.membership for key, event in found.items()}
            rooms[room_id] = {
                "state": await compat.state_without_members(self.api, room_id),
                "members": members,
            }
        return {"rooms": rooms}

    async def deactivate(self, body: dict[str, Any]) -> dict[str, Any]:
        """A local account deactivated (not erased); never a bot this module serves, nor a
        server admin."""
        bot = self.config.acting_bot(body.get("bot"))
        user_id = protocol.local_user(body, "user_id", self.api.server_name)
        if self.config.is_bot(user_id):
            raise Refused(403, Codes.FORBIDDEN, "the bot is never deactivated")
        info = await self.api.get_userinfo_by_id(user_id)
        if info is None:
            raise Refused(404, Codes.NOT_FOUND, "no such user")
        if info.is_admin:
            raise Refused(403, Codes.FORBIDDEN, "a server admin is never deactivated here")
        if info.is_deactivated:
            return {"deactivated": False}
        await compat.deactivate(self.api, bot, user_id)
        log.info("%s deactivated %s", bot, user_id)
        return {"deactivated": True}

    async def exempt(self, body: dict[str, Any]) -> dict[str, Any]:
        """The bot (only) exempt from rate limits."""
        bot = self.config.acting_bot(body.get("bot"))
        if not self.api.is_mine(bot):
            raise Refused(403, Codes.FORBIDDEN, "only users of this homeserver")
        await compat.exempt_from_rate_limits(self.api, bot)
        return {"exempt": True}


def _token_record(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record.get(key) for key in ("uses_allowed", "pending", "completed", "expiry_time")}


class _Operations(DirectServeJsonResource):
    """POST {API_PATH}/<operation>: the secret's header first (401 without it, whatever the
    path), then the operation with its JSON body."""

    isLeaf = True

    def __init__(self, module: AgoraModule):
        super().__init__()
        self.module = module

    async def _async_render_POST(self, request: Any) -> tuple[int, dict[str, Any]]:
        given = request.getHeader(protocol.SECRET_HEADER.encode())
        if not protocol.secret_matches(
            given.decode("utf-8", "replace") if given is not None else None,
            self.module.config.secret,
        ):
            raise SynapseError(401, "a valid X-Agora-Secret header is required", Codes.UNAUTHORIZED)
        name = "/".join(part.decode("utf-8", "replace") for part in request.postpath)
        operation = self.module.operations.get(name)
        if operation is None:
            raise SynapseError(404, "no such operation", Codes.UNRECOGNIZED)
        body = parse_json_object_from_request(request, allow_empty_body=True)
        try:
            return 200, await operation(body)
        except Refused as refused:
            raise SynapseError(refused.status, refused.message, refused.errcode) from None


class _Probe(Resource):
    """GET PROBE_PATH: the module is loaded (and nothing else)."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        import json

        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(
            {
                "module": protocol.MODULE_NAME,
                "provider": protocol.TOKEN_PROVIDER,
                "version": VERSION,
                "api": protocol.API_VERSION,
            }
        ).encode()
