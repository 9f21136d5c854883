"""A Synapse module that tells Agora which account was registered with which registration token.

Synapse keeps no record of that: a token only counts its uses. This module, loaded by the
homeserver (the embedded one loads it; a production Synapse adds it to ``modules:``, see
deploy/README.md), notes the token a registration used and, once the account exists, records
it as the account's external id under the provider ``agora-registration-token``: not the token
itself but its SHA-256 (``token_id``), so that the bot's lookup
(``/_synapse/admin/v1/auth_providers/<provider>/users/<token_id>``, a path Synapse logs) never
carries a token. Durable, in Synapse's own database, and nothing to reach from Synapse to the
bot.

It also answers ``GET /_synapse/client/agora/registration_link`` (``PROBE_PATH``), so that
``agora-bot doctor`` can tell it is loaded.

It imports nothing from Agora or matrix-nio: it runs inside Synapse's process (Twisted only
there, when Synapse loads it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

TOKEN_PROVIDER = "agora-registration-token"
REGISTRATION_TOKEN = "m.login.registration_token"
PROBE_PATH = "/_synapse/client/agora/registration_link"
MODULE_NAME = "agora-registration-link"


def token_id(token: str) -> str:
    """What is recorded (and looked up) for a token: its SHA-256, never the token."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class RegistrationLink:
    def __init__(self, config: dict[str, Any], api: Any):
        self.api = api
        self._pending: dict[str, str] = {}  # localpart → the token its registration used
        api.register_password_auth_provider_callbacks(
            get_username_for_registration=self._username_for_registration
        )
        api.register_account_validity_callbacks(on_user_registration=self._registered)
        api.register_web_resource(PROBE_PATH, _probe())

    @staticmethod
    def parse_config(config: dict[str, Any] | None) -> dict[str, Any]:
        return dict(config or {})

    async def _username_for_registration(
        self, uia_results: dict[str, Any], params: dict[str, Any]
    ) -> str | None:
        token = uia_results.get(REGISTRATION_TOKEN)
        username = params.get("username")
        if isinstance(token, str) and isinstance(username, str) and username:
            self._pending[username.lower()] = token
        return None  # the username stays the one the person chose

    async def _registered(self, user_id: str) -> None:
        token = self._pending.pop(user_id[1:].split(":", 1)[0], None)
        if token is None:
            return
        try:
            await self.api.record_user_external_id(TOKEN_PROVIDER, token_id(token), user_id)
        except Exception:  # never fail a registration over this; the bot can be told by hand
            log.exception("could not record the registration token of %s", user_id)


def _probe() -> Any:
    """The resource that says the module is loaded (and nothing else)."""
    from twisted.web.resource import Resource  # Synapse's: only where Synapse loads this

    class Probe(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setHeader(b"Content-Type", b"application/json")
            return json.dumps({"module": MODULE_NAME, "provider": TOKEN_PROVIDER}).encode()

    return Probe()
