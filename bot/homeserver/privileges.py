"""What the bot does that an ordinary Matrix user cannot, behind one interface: registration
tokens for approved web applicants (and the account each made), local members joined straight
into the rooms the bot manages, a revoked local account deactivated, the bot's own rate limits
lifted.

``homeserver.privileges`` chooses how: ``module`` (the default) asks Agora's Synapse module
(``agora_synapse``) with its shared secret, and the bot is an ordinary user; ``admin`` uses
Synapse's admin API, and the bot must be a server admin, whose token could reset any password
on the homeserver. Callers hold a ``Privileges`` and never ask which.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Protocol

from bot.config import Config, ConfigError
from bot.homeserver.admin import AdminPrivileges
from bot.homeserver.module_client import ModulePrivileges
from bot.homeserver.module_protocol import EMBEDDED_SECRET, RoomStateSummary, TokenRecord
from bot.i18n import t
from bot.matrix.gateway import Gateway


class Privileges(Protocol):
    mode: str  # "module" or "admin"

    async def join(self, room_id: str, user_id: str) -> None:
        """A local user joined into a managed room (invited first by the bot if need be)."""

    async def deactivate(self, user_id: str) -> None:
        """A local account deactivated (not erased)."""

    async def exempt_from_rate_limits(self) -> None:
        """The bot's own rate limits lifted."""

    async def new_registration_token(self, token: str, expires_at_ms: int) -> None:
        """A single-use token with this value (made once: asking again is harmless)."""

    async def renew_registration_token(self, token: str, expires_at_ms: int) -> bool:
        """A token's expiry changed; False when there is no such token."""

    async def delete_registration_token(self, token: str) -> None:
        """A token withdrawn (gone already: nothing to do)."""

    async def registration_tokens(self, tokens: Collection[str]) -> dict[str, TokenRecord]:
        """Those of ``tokens`` the homeserver has, with their uses and expiry."""
        ...

    async def registered_with(self, token: str, *, legacy: bool = False) -> str | None:
        """The account registered with ``token`` (``legacy``: as the module's first builds
        recorded it, under the token itself)."""
        ...

    async def room_states(
        self, asked: dict[str, list[str]]
    ) -> dict[str, RoomStateSummary | None] | None:
        """Rooms' state but their members, with the membership of the people asked about in
        each, in a few requests (None for a room the bot is not in); None when not offered
        (the bot then reads each room's whole state)."""
        ...


def privileges_for(config: Config, gateway: Gateway, data_dir: Path) -> Privileges:
    """The privileges ``homeserver.privileges`` chooses, for the bot's gateway."""
    hs = config.homeserver
    if hs.privileges == "admin":
        return AdminPrivileges(gateway)
    if hs.embedded:
        return ModulePrivileges(gateway, lambda: embedded_module_secret(data_dir))
    secret = hs.module_secret
    assert secret is not None, "the config requires the module's secret in module mode"
    return ModulePrivileges(gateway, lambda: secret)


def embedded_module_secret(data_dir: Path) -> str:
    """The module's secret an embedded homeserver made (in its secrets.json)."""
    path = data_dir / "synapse" / "secrets.json"
    try:
        return json.loads(path.read_text())[EMBEDDED_SECRET]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(str(path), f"the embedded homeserver's {EMBEDDED_SECRET}") from exc


def describe(config: Config) -> str:
    """Which privileges the bot runs with, in the operator's language."""
    hs = config.homeserver
    if hs.privileges == "admin":
        return t("privileges.admin", config.locale)
    return t(
        "privileges.module.embedded" if hs.embedded else "privileges.module.external",
        config.locale,
    )
