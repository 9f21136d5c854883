"""The accounts an embedded homeserver gets from the bot: the bot's own (its password kept
beside the homeserver's registration secret, which could make any account anyway; a server
admin only with ``homeserver.privileges: admin``), and the people the config names (admins,
animators, managers), registered once with random passwords written to ``credentials.json``
for the operator."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Config
from bot.files import write_private
from bot.homeserver.admin import register_with_shared_secret
from bot.homeserver.embedded import EmbeddedSynapse
from bot.homeserver.privileges import privileges_for
from bot.matrix.gateway import Gateway
from bot.matrix.ids import localpart, server_of
from bot.matrix.login import Session, restore_or_log_in, saved_session

log = logging.getLogger(__name__)


class EmbeddedAccounts:
    def __init__(self, synapse: EmbeddedSynapse, config: Config, data_dir: Path):
        self.synapse = synapse
        self.config = config
        self.data_dir = data_dir
        self.credentials_path = data_dir / "credentials.json"
        self.users: dict[str, str] = self._read().get("users", {})

    @property
    def _password_path(self) -> Path:
        return self.synapse.dir / "bot-password"

    def bot_password(self) -> str | None:
        with contextlib.suppress(OSError):
            return self._password_path.read_text().strip() or None
        return None

    async def ensure_bot(self, first_start: bool, older: str | None) -> str:
        """The bot's password: kept from before (``older``: one an older session file held),
        or, at a first start, made and the account registered with it (a server admin only
        with ``homeserver.privileges: admin``; a bot made one before stays one, and
        ``agora-bot doctor`` says so). A first start cut short after the password is written
        finds the same one again."""
        password = self.bot_password()
        if password is None and older:
            write_private(self._password_path, older)
            password = older
        if first_start:
            password = password or secrets.token_urlsafe(24)
            write_private(self._password_path, password)
            async with aiohttp.ClientSession() as http:
                await register_with_shared_secret(
                    http,
                    self.synapse.url,
                    self.synapse.secrets()["registration_shared_secret"],
                    self.config.bot.localpart,
                    password,
                    admin=self.config.homeserver.privileges == "admin",
                    displayname=self.config.bot.display_name,
                )
        assert password is not None, "an embedded homeserver's bot has a password"
        return password

    async def ensure_people(self, gateway: Gateway) -> None:
        """Register the local people the config names, once; lift the bot's rate limits on
        its own homeserver."""
        secret = self.synapse.secrets()["registration_shared_secret"]
        server = self.config.homeserver.server_name
        async with aiohttp.ClientSession() as http:
            for person in self._named_people():
                if server_of(person) != server or person in self.users:
                    continue
                password = secrets.token_urlsafe(18)
                made = await register_with_shared_secret(
                    http, self.synapse.url, secret, localpart(person), password
                )
                if made is not None:
                    self.users[person] = password
                    log.info("registered account %s", person)
                else:
                    log.warning(
                        "%s already exists; its password is not in %s",
                        person,
                        self.credentials_path,
                    )
        await privileges_for(self.config, gateway, self.data_dir).exempt_from_rate_limits()

    def _named_people(self) -> list[str]:
        people = list(self.config.admins)
        for territory, _ in self.config.network.walk():
            people += territory.animators
            people += [r.manager for r in territory.rooms if r.manager]
        return list(dict.fromkeys(people))

    def _read(self) -> dict[str, Any]:
        if self.credentials_path.exists():
            return json.loads(self.credentials_path.read_text())
        return {}

    def write_credentials(self, bot_user_id: str, control_room_id: str | None) -> None:
        """What an operator needs to log in, and where the mails go without SMTP."""
        creds = {
            "homeserver_url": self.synapse.url,
            "server_name": self.config.homeserver.server_name,
            "registration_shared_secret": self.synapse.secrets()["registration_shared_secret"],
            "bot_user_id": bot_user_id,
            "control_room_id": control_room_id,
            "users": self.users,
        }
        write_private(self.credentials_path, json.dumps(creds, indent=2))
        lines = [f"Agora est prêt — Agora is ready. Element : {self.synapse.url}"]
        for user in self.users:
            lines.append(f"  {user} (mot de passe / password: {self.credentials_path})")
        if self.config.smtp is None:
            mail = self.credentials_path.parent / "mail"
            lines.append(
                "  Courriels (pas de serveur SMTP, smtp: dans la config) écrits dans / "
                f"mails (no SMTP server, smtp: in the config) written to: {mail}"
            )
        print("\n".join(lines), flush=True)


async def bot_session(
    config: Config, data_dir: Path, synapse: EmbeddedSynapse | None
) -> tuple[Session, EmbeddedAccounts | None]:
    """The bot's Matrix session (restored, or a log in once), and with an embedded homeserver
    the accounts it makes (the bot's own at its first start)."""
    hs, path = config.homeserver, data_dir / "bot-session.json"
    saved = saved_session(path)
    password, accounts = hs.password, None
    if synapse is not None:
        accounts = EmbeddedAccounts(synapse, config, data_dir)
        password = await accounts.ensure_bot(saved is None, saved.password if saved else None)
    elif saved and saved.password and not password:
        password = saved.password  # an older session file's: not written again
    session = await restore_or_log_in(
        synapse.url if synapse else hs.url,
        config.bot_user_id,
        config.bot.device_name,
        path,
        password=password,
        access_token=None if synapse else hs.access_token,
    )
    return session, accounts
