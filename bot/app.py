"""The running bot: ordered start-up and teardown of the store, the homeserver (embedded or not),
the Matrix session with E2EE and cross-signing, the control room, the web server and the loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.metadata
import json
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from nio import AsyncClient, LoginResponse, MegolmEvent, WhoamiResponse
from nio.exceptions import EncryptionError

from bot import effects
from bot.commands import load_commands
from bot.commands.dispatcher import Dispatcher
from bot.config import Config, ConfigError, load_config
from bot.effects import caused_by, detached
from bot.errors import (
    AgoraError,
    BadArgument,
    MatrixError,
    MatrixUnavailable,
    PermissionDenied,
    new_reference,
    transient,
)
from bot.federation.directory import Directory
from bot.federation.shared import SharedRooms
from bot.homeserver.admin import register_with_shared_secret
from bot.homeserver.embedded import EmbeddedSynapse, _write_private
from bot.i18n import t
from bot.mail import Mailer
from bot.matrix.content import notice
from bot.matrix.crosssigning import device_is_cross_signed, ensure_cross_signed
from bot.matrix.direct import DM_MARK, DirectChats, opened_for
from bot.matrix.gateway import Gateway, client_config, path_part
from bot.matrix.sync import (
    Batch,
    Left,
    Reaction,
    Redaction,
    StateChange,
    SyncLoop,
    Unreadable,
    acted_on,
    megolm_origin,
    revive,
)
from bot.metrics import Metrics
from bot.moderation.control_room import ControlRoom
from bot.moderation.enforcement import Enforcer
from bot.moderation.policy_room import PolicyRoom
from bot.moderation.revocation import REVOKE_JOB, Revocation
from bot.moderation.rules import BanRules
from bot.moderation.trust import DeviceTrust
from bot.news.broadcast import DELIVER_JOB, Broadcaster
from bot.news.service import REMIND_JOB, News
from bot.scheduler import JobRunner
from bot.store import REDACTED, InboxRow, Store
from bot.store.vetting import RequestRow
from bot.territories.groups import Group, GroupStore, effective
from bot.territories.keeper import NetworkKeeper
from bot.territories.reconciler import Outcome, Reconciler
from bot.territories.render import render_plan
from bot.vetting.animation import Animation
from bot.vetting.links import hash_token, web_secret
from bot.vetting.service import (
    CONCLUDE_JOB,
    CONFIRM_MAIL_JOB,
    EXPIRE_JOB,
    IMPORT_NOTICE_JOB,
    TELL_JOB,
    TOKEN_MAIL_JOB,
    Vetting,
)
from bot.web.server import WebServer

log = logging.getLogger(__name__)

REGISTRATION_POLL = 3.0  # seconds between checks of the approved web requests' tokens


GAVE_UP_JOB = "jobs.gave_up"
GAVE_UP_EVENT_JOB = "events.gave_up"
EVENT_TRANSIENT_ATTEMPTS = 300
UNREADABLE_RETRY = 10.0  # seconds between tries of an event whose room key has not come
UNREADABLE_KEPT = 86400.0  # then it is given up (and audited)


class StillUnreadable(Exception):
    """An event kept undecryptable: its room key has not reached the bot yet."""


def _groups_of_policy(
    rows: list[tuple[int, str, dict, int]],
) -> list[list[tuple[int, str, dict, int]]]:
    """Each event alone, except consecutive policy rules seen for the first time, which go
    together (one sweep for all); a rule that failed before is tried alone, so that it never
    takes fresh ones down with it."""
    groups: list[list[tuple[int, str, dict, int]]] = []
    for row in rows:
        fresh = row[1] == "policy" and row[3] == 0
        if fresh and groups and groups[-1][0][1] == "policy" and groups[-1][0][3] == 0:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def sync_timeout_ms(config: Config) -> int:
    """The sync's long poll: half the age at which /healthz turns 503 (a quiet, healthy bot
    never looks stale), 30 s at most."""
    return int(min(30.0, config.web.healthy_sync_age / 2) * 1000)


def version() -> str:
    try:
        return importlib.metadata.version("agora-bot")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass
class Session:
    user_id: str
    device_id: str
    access_token: str
    pickle_key: str
    # Never written to disk: from homeserver.password / password_file / the environment, or
    # (embedded homeserver) the file beside the homeserver's own secrets.
    password: str | None = None


class StartupError(AgoraError):
    pass


class Agora:
    def __init__(self, config: Config, data_dir: str | Path):
        # The file's config; ``config`` is it with the working groups animators made merged in.
        self.file_config = config
        self.config = config
        self._groups: list[Group] = []
        self.data_dir = Path(data_dir).resolve()
        self.metrics = Metrics()
        self.started_at = time.time()
        self.store: Store
        self.synapse: EmbeddedSynapse | None = None
        self.client: AsyncClient | None = None
        self.gateway: Gateway
        self.control: ControlRoom
        self.dispatcher: Dispatcher
        self.sync: SyncLoop
        self.web: WebServer | None = None
        self._tasks: list[asyncio.Task] = []
        self._sweep_task: asyncio.Task | None = None
        self._peers_task: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()
        self._draining = asyncio.Lock()  # one drain at a time (the loop, tests)
        self._events_wake = asyncio.Event()
        # After this long, the sender of a message the bot cannot read is told (tests shorten).
        self.unreadable_notice_after = 60.0
        self._unannounced: list[tuple[str, dict[str, Any]]] = []
        self._starting = True  # the first sync: memberships are not acted on yet
        self.stopped = asyncio.Event()

    # --- paths ------------------------------------------------------------------------------

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def session_path(self) -> Path:
        return self.data_dir / "bot-session.json"

    @property
    def homeserver_url(self) -> str:
        return self.synapse.url if self.synapse else self.config.homeserver.url

    # --- start-up ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self.store = await Store.open(self.data_dir / "agora.db")
        self._groups = await GroupStore(self.store).all()
        self.config = effective(self.file_config, self._groups)
        hs = self.config.homeserver
        if hs.embedded:
            self.synapse = EmbeddedSynapse(
                self.data_dir,
                hs.server_name,
                hs.port,
                hs.host,
                hs.synapse,
                federation=hs.federation,
                peers=self.config.federation.allowed_servers,
            )
            await self.synapse.start()
        session = await self._session()
        crypto_dir = self.data_dir / "crypto"
        crypto_dir.mkdir(mode=0o700, exist_ok=True)
        self.client = AsyncClient(
            self.homeserver_url,
            session.user_id,
            session.device_id,
            store_path=str(crypto_dir),
            config=client_config(session.pickle_key, request_timeout=60),
        )
        self.client.restore_login(session.user_id, session.device_id, session.access_token)
        self.gateway = Gateway(self.client, self.metrics, max_retries=hs.retries)
        self.gateway.instance = await self.store.instance()
        self.store.keep_command_text = self.config.privacy.keep_command_text
        self.gateway.remember_megolm_indices()
        if self.synapse:
            await self._embedded_accounts()
        self.control = ControlRoom(self.config, self.gateway, self.store)
        self.trust = DeviceTrust(self.config, self.gateway, self.store, self._announce)
        # The control room's keys reach only admins' devices their identity signed.
        self.gateway.restrict_room_keys(
            lambda: (self.control.room_id,) if self.control.room_id else (),
            self.trust.may_read_control,
        )
        self.trust.on_change = self._control_room_readers_changed
        self.reconciler = Reconciler(self.config, self.gateway, self.store, self.data_dir)
        self.keeper = NetworkKeeper(self.reconciler, self._after_reconcile)
        self.enforcer = Enforcer(self.config, self.gateway, self.store, self.control)
        self.jobs = JobRunner(self.store, {})
        self.jobs.report_kind = GAVE_UP_JOB  # a job given up is reported by a job
        self.jobs.configure(self.config.jobs)
        self.jobs.handlers[GAVE_UP_JOB] = self._report_gave_up
        self.jobs.handlers[GAVE_UP_EVENT_JOB] = self._report_event_gave_up
        self.direct = DirectChats(self.gateway, self.store, self._refresh_dm_rooms)
        self.vetting = Vetting(
            self.config,
            self.gateway,
            self.store,
            self.control,
            self.direct,
            wake_jobs=self.jobs.kick,
            mailer=Mailer(
                self.config.smtp,
                self.data_dir / "mail",
                f"{self.config.bot.localpart}@{self.config.homeserver.server_name.split(':')[0]}",
            ),
        )
        self.jobs.handlers[CONCLUDE_JOB] = self.vetting.conclude
        self.jobs.handlers[CONFIRM_MAIL_JOB] = self.vetting.send_confirmation
        self.jobs.handlers[EXPIRE_JOB] = self.vetting.expire
        self.jobs.handlers[IMPORT_NOTICE_JOB] = self.vetting.import_notice
        self.jobs.handlers[TELL_JOB] = self.vetting.tell_outcome
        self.jobs.handlers[TOKEN_MAIL_JOB] = self.vetting.send_token_mail
        self.jobs.priorities[TELL_JOB] = 1
        self.policy = PolicyRoom(self.config, self.gateway, self.store)
        self.bans = BanRules(
            self.config, self.gateway, self.store, self.policy, self.enforcer, self._announce
        )
        self.shared = SharedRooms(self.config, self.gateway, self.store)
        self.directory = Directory(self.config, self.gateway, self.store)
        self.vetting.after_provision = lambda user: self.shared.follow(only=[user])
        self.revocation = Revocation(
            self.config,
            self.gateway,
            self.store,
            self.control,
            self.policy,
            self.vetting.tell,
            self.directory,
        )
        self.jobs.handlers[REVOKE_JOB] = self.revocation.run
        self.broadcaster = Broadcaster(
            self.gateway, self.store, self.config.news.pace_per_second, self.jobs.kick
        )
        self.jobs.handlers[DELIVER_JOB] = self.broadcaster.deliver
        self.news = News(
            self.config,
            self.gateway,
            self.store,
            self.control,
            self.broadcaster,
            self.direct,
            self.jobs.kick,
        )
        self.jobs.handlers[REMIND_JOB] = self.news.remind
        self.animation = Animation(
            self.config,
            self.gateway,
            self.store,
            self.vetting,
            self._reconcile_keys,
            self.groups_changed,
        )
        self.dispatcher = Dispatcher(
            self.config,
            load_commands(),
            self.gateway,
            self.store,
            self.metrics,
            self,
            trust=self.trust,
        )
        self._dm_rooms = await self.store.dm_rooms()
        self.sync = SyncLoop(
            self.gateway,
            self.store,
            self.metrics,
            lambda: self.config.commands.prefix,  # a reload changes it for the next sync
            self.on_batch,
            conversations=lambda: self._dm_rooms,
            timeout_ms=sync_timeout_ms(self.config),
        )
        # Full-state sync first: nio needs room state before it can encrypt anything.
        await self.sync.once()
        await self.sync.crypto_housekeeping()
        await ensure_cross_signed(
            self.gateway, self.data_dir / "cross-signing.json", session.password
        )
        # Whose devices speak for the admins, animators and managers, before anything is
        # sent in the control room or any command is run.
        await self.trust.refresh()
        await self._profile()
        await self.control.ensure()
        if self.control.room_id not in self.client.rooms:
            # Made just now: nio learns of it from a sync, and the loop does not run yet (a
            # send would wait for one).
            await self.sync.once()
        for key, params in self._unannounced:
            await self._announce(key, params)
        self._unannounced.clear()
        await self.bans.ensure()
        await self.directory.ensure()
        await self.news.sync_config_feeds()
        await self._leave_strays()
        self._starting = False
        self._events_wake.set()  # what came while the bot was down (a ✅ on a card)
        if self.synapse:
            self._write_credentials(session)
        self.web = WebServer(self, self.config.web)
        await self.web.start()
        self._public_url_of_port()
        self._tasks = [
            asyncio.create_task(self.sync.run(), name="sync"),
            asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
            asyncio.create_task(self.keeper.run(), name="keeper"),
            asyncio.create_task(self.jobs.run(), name="jobs"),
            asyncio.create_task(self._watch_config(), name="config"),
            asyncio.create_task(self._watch_registrations(), name="registrations"),
            asyncio.create_task(self.news.run(), name="feeds"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
            asyncio.create_task(self._drain_loop(), name="events"),
        ]
        self.keeper.request_full()
        if self.synapse:
            self._tasks.append(asyncio.create_task(self._watch_synapse(), name="synapse"))
        for task in self._tasks:
            task.add_done_callback(self._task_ended)
        # One-off tasks, not among the loops (whose ending stops the bot). What the peers keep
        # is followed in the background: a peer region that is down (federation requests wait
        # for long) must not hold this region's start up; the rules already known are applied.
        self._sweep_task = asyncio.create_task(self._sweep(), name="sweep")
        self._peers_task = asyncio.create_task(self._follow_peers(), name="peers")
        self.dispatcher.wake.set()
        if self.config.smtp is None:
            log.warning("no smtp: settings; mails are written to %s", self.data_dir / "mail")
        log.info(
            "Agora %s running as %s (device %s) on %s",
            version(),
            session.user_id,
            session.device_id,
            self.homeserver_url,
        )

    def _public_url_of_port(self) -> None:
        """``web.port: 0`` picks a free port: links (status pages, email confirmations) then
        carry the real one, unless ``web.public_url`` names the address people use."""
        web = self.file_config.web
        if self.web is None or web.port != 0 or web.public_url != f"http://{web.host}:0":
            return
        real = dataclasses.replace(web, public_url=f"http://{web.host}:{self.web.port}")
        self.file_config = dataclasses.replace(self.file_config, web=real)
        self._apply_config()

    async def _session(self) -> Session:
        """Restore the saved login (same device, same crypto store) or log in once."""
        hs = self.config.homeserver
        saved = None
        if self.session_path.exists():
            saved = Session(**json.loads(self.session_path.read_text()))
        pickle_key = saved.pickle_key if saved else secrets.token_urlsafe(32)
        # An older session file held the password: the next save drops it.
        password = hs.password or self._embedded_password() or (saved.password if saved else None)
        if self.synapse and saved and saved.password and not self._embedded_password():
            _write_private(self.synapse.dir / "bot-password", saved.password)
        async with aiohttp.ClientSession() as http:
            if self.synapse and not saved:
                # A first start cut short after this line finds the same password again.
                password = self._embedded_password() or secrets.token_urlsafe(24)
                _write_private(self.synapse.dir / "bot-password", password)
                await register_with_shared_secret(
                    http,
                    self.homeserver_url,
                    self.synapse.secrets()["registration_shared_secret"],
                    self.config.bot.localpart,
                    password,
                    admin=True,
                    displayname=self.config.bot.display_name,
                )
            if saved:
                token = saved.access_token
                if hs.access_token and hs.access_token != token and not self.synapse:
                    token = hs.access_token
                who = await self._whoami(token)
                if who is not None and who.device_id == saved.device_id:
                    return self._save_session(
                        Session(who.user_id, saved.device_id, token, pickle_key, password)
                    )
                if who is not None and who.device_id:  # a new token for another device
                    return self._save_session(
                        Session(who.user_id, who.device_id, token, pickle_key, password)
                    )
            elif hs.access_token and not self.synapse:
                who = await self._whoami(hs.access_token)
                if who is None or not who.device_id:
                    raise StartupError("homeserver.access_token is not valid (or has no device)")
                return self._save_session(
                    Session(who.user_id, who.device_id, hs.access_token, pickle_key, password)
                )
            if not password:
                raise StartupError(
                    "the saved access token is no longer valid and no password "
                    "is configured (homeserver.password)"
                )
            client = AsyncClient(
                self.homeserver_url,
                self.config.bot_user_id,
                device_id=saved.device_id if saved else None,
            )
            try:
                resp = await client.login(password, device_name=self.config.bot.device_name)
            finally:
                await client.close()
            if not isinstance(resp, LoginResponse):
                raise StartupError(f"login as {self.config.bot_user_id} failed: {resp}")
            log.info("logged in as %s, device %s", resp.user_id, resp.device_id)
            return self._save_session(
                Session(resp.user_id, resp.device_id, resp.access_token, pickle_key, password)
            )

    async def _whoami(self, token: str) -> WhoamiResponse | None:
        client = AsyncClient(self.homeserver_url)
        client.access_token = token
        try:
            resp = await client.whoami()
        finally:
            await client.close()
        return resp if isinstance(resp, WhoamiResponse) else None

    def _save_session(self, session: Session) -> Session:
        kept = {k: v for k, v in session.__dict__.items() if k != "password"}
        _write_private(self.session_path, json.dumps(kept, indent=2))
        return session

    def _embedded_password(self) -> str | None:
        """The password the bot got from its embedded homeserver, kept beside that server's
        registration secret (which could make any account anyway)."""
        if self.synapse is None:
            return None
        with contextlib.suppress(OSError):
            return (self.synapse.dir / "bot-password").read_text().strip() or None
        return None

    async def _embedded_accounts(self) -> None:
        """Register the local people the config names (admins, animators, managers) once, with
        random passwords, and lift the bot's rate limits on its own homeserver."""
        assert self.synapse
        creds = self._read_credentials()
        users: dict[str, str] = creds.get("users", {})
        secret = self.synapse.secrets()["registration_shared_secret"]
        async with aiohttp.ClientSession() as http:
            for admin in self._named_people():
                localpart, _, server = admin[1:].partition(":")
                if server != self.config.homeserver.server_name or admin in users:
                    continue
                password = secrets.token_urlsafe(18)
                if (
                    await register_with_shared_secret(
                        http, self.synapse.url, secret, localpart, password
                    )
                    is not None
                ):
                    users[admin] = password
                    log.info("registered account %s", admin)
                else:
                    log.warning(
                        "%s already exists; its password is not in %s", admin, self.credentials_path
                    )
        creds["users"] = users
        self._credentials = creds
        await self.gateway.raw(
            "POST",
            f"/_synapse/admin/v1/users/{path_part(self.gateway.user_id)}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
            what="lift the bot's rate limits",
        )

    def _named_people(self) -> list[str]:
        people = list(self.config.admins)
        for territory, _ in self.config.network.walk():
            people += territory.animators
            people += [r.manager for r in territory.rooms if r.manager]
        return list(dict.fromkeys(people))

    def _read_credentials(self) -> dict[str, Any]:
        if self.credentials_path.exists():
            return json.loads(self.credentials_path.read_text())
        return {}

    def _write_credentials(self, session: Session) -> None:
        assert self.synapse
        creds = {
            "homeserver_url": self.synapse.url,
            "server_name": self.config.homeserver.server_name,
            "registration_shared_secret": self.synapse.secrets()["registration_shared_secret"],
            "bot_user_id": session.user_id,
            "control_room_id": self.control.room_id,
            "users": self._credentials.get("users", {}),
        }
        _write_private(self.credentials_path, json.dumps(creds, indent=2))
        lines = [f"Agora est prêt — Agora is ready. Element : {self.synapse.url}"]
        for user in creds["users"]:
            lines.append(f"  {user} (mot de passe / password: {self.credentials_path})")
        if self.config.smtp is None:
            lines.append(
                "  Courriels (pas de serveur SMTP, smtp: dans la config) écrits dans / "
                f"mails (no SMTP server, smtp: in the config) written to: {self.data_dir / 'mail'}"
            )
        print("\n".join(lines), flush=True)

    async def _profile(self) -> None:
        name = self.config.bot.display_name
        if await self.store.get("display_name") != name:
            await self.gateway.call("set display name", lambda: self.client.set_displayname(name))
            await self.store.put("display_name", name)

    async def _leave_strays(self) -> None:
        """Leave rooms that are neither the control room, a direct chat nor managed. A direct
        chat the bot opened just before a crash, before recording it, is kept as that."""
        for room_id in list(self.client.rooms):
            if await self.store.room_kind(room_id) is None:
                with contextlib.suppress(MatrixError):
                    mark = await self.gateway.raw(
                        "GET",
                        f"/_matrix/client/v3/rooms/{path_part(room_id)}/state/{DM_MARK}/",
                        query={"format": "event"},
                        what="read whom a room was opened for",
                    )
                    peer = opened_for(mark, self.gateway.user_id)
                    if peer is not None and await self.store.dm_with(peer) is None:
                        log.info("%s: a direct chat opened before a crash, kept", room_id)
                        await self.store.add_room(room_id, "dm", peer)
                        await self._refresh_dm_rooms()
                        continue
                log.info("leaving %s: not a room Agora serves", room_id)
                with contextlib.suppress(MatrixError):
                    await self.gateway.leave(room_id)

    # --- events -----------------------------------------------------------------------------

    async def on_batch(self, batch: Batch) -> None:
        """After a sync is recorded: what it changed that is not kept (devices, rooms left),
        then the recorded events, then the commands."""
        if batch.device_changes:
            self._spawn(self.trust.on_device_changes(batch.device_changes), "trust")
        if batch.keys_arrived:
            await self.store.wake_unreadable()
        if not self._starting:
            self._events_wake.set()
        self.dispatcher.wake.set()

    async def _drain_loop(self) -> None:
        """The recorded events are handled here, beside the sync (one slow to handle, an
        invite to a room on a server that is down, never holds the sync up), whenever a sync
        brought some, and every few seconds for those waiting to be retried."""
        while True:
            with contextlib.suppress(TimeoutError):  # not wait_for: see Dispatcher.run
                async with asyncio.timeout(UNREADABLE_RETRY):
                    await self._events_wake.wait()
            self._events_wake.clear()
            try:
                await self.drain_events()
            except AgoraError as exc:  # the store or homeserver away: the next round retries
                log.warning("handling recorded events: %s", exc)

    async def drain_events(self) -> int:
        """Handle the recorded events other than commands, in order, each once: one that
        fails is retried on its own (for as long as the homeserver is away; a few times for
        any other failure, then reported) and never holds the others back. The rules of a
        batch go together (one sweep for all)."""
        handled = 0
        async with self._draining:
            while rows := await self.store.pending_event_rows():
                for group in _groups_of_policy(rows):
                    await self._handle_events(group)
                    handled += len(group)
                if len(rows) < 200:
                    break
        return handled

    async def _handle_events(self, group: list[tuple[int, str, dict, int]]) -> None:
        seqs = [seq for seq, *_ in group]
        kind, attempts = group[0][1], max(a for *_, a in group)
        cause = group[0][2].get("event_id")
        try:
            items = [revive(k, fields) for _, k, fields, _ in group]
            first = items[0]
            with caused_by(f"event:{cause}" if cause else f"row:{seqs[0]}"):
                if kind == "policy":
                    await self.bans.on_events(items)
                else:
                    await self._handle_event(kind, first)
        except StillUnreadable:
            # Its key has not come: tried again soon, and at once when keys arrive.
            await self.store.retry_event_rows(seqs, "no room key yet", UNREADABLE_RETRY, False)
            return
        except Exception as exc:
            again = transient(exc)
            # An outage is waited out (about a day at the longest backoff), then reported.
            limit = EVENT_TRANSIENT_ATTEMPTS if again else self.config.jobs.max_attempts
            give_up = attempts + 1 >= limit
            ref = new_reference()
            log.warning(
                "%s event %s failed (ref %s): %r%s",
                kind,
                cause or seqs[0],
                ref,
                exc,
                "; giving up" if give_up else "",
                exc_info=not again,
            )
            delay = min(self.config.jobs.max_backoff, 5.0 * 2 ** min(attempts, 10))
            report = (GAVE_UP_EVENT_JOB, {"kind": kind, "ref": ref}) if give_up else None
            await self.store.retry_event_rows(
                seqs, f"ref {ref}: {exc!r}", delay, give_up, report=report
            )
            if give_up:
                self.jobs.kick()
            return
        await self.store.finish_event_rows(seqs)

    async def _handle_event(self, kind: str, item: Any) -> None:
        if kind == "invite":
            await self._on_invite(item.room_id, item.inviter, item.is_direct)
        elif kind == "state":
            key = await self.store.managed_key(item.room_id)
            if key:
                self.keeper.request_repair(key, item)
        elif kind == "membership":
            await self._on_membership(item.room_id, item.user_id, item.membership)
        elif kind == "reaction":
            if item.room_id == self.control.room_id and item.sender in self.config.admins:
                await self._control_reaction(item)
            elif item.room_id != self.control.room_id:
                await self.news.on_reaction(item.sender, item.relates_to, item.key)
        elif kind == "unreadable":
            await self._read_again(item)
        elif kind == "redaction":
            await self._on_redaction(item)
        elif kind == "left":
            await self._on_left(item)

    async def _on_redaction(self, item: Redaction) -> None:
        """A command withdrawn before it ran was not run (``Store.record_events``): said in
        the audit; in the control room, an admin's ✅ taken back or a card removed."""
        if await self.store.command_outcome(item.redacts) == REDACTED:
            await self.store.audit(
                item.sender, "command.withdrawn", "skipped", room_id=item.room_id
            )
        if item.room_id == self.control.room_id:
            await self.vetting.on_redaction(item.sender, item.redacts)

    async def _on_left(self, item: Left) -> None:
        """The bot is out of a room: the control room is made again; the admins are told of
        a managed room (nobody enforces membership there any more)."""
        if item.room_id == self.control.room_id:
            if self._starting:
                return  # the start makes sure of the control room itself
            log.warning("the bot is no longer in the control room; restoring it")
            await self.control.ensure()
            return
        key = await self.store.managed_key(item.room_id)
        if key is None or item.sender == self.gateway.user_id:
            return  # not a room it keeps, or it left on its own
        await self.store.audit(
            item.sender or "", "room.bot_removed", item.membership, room_id=item.room_id
        )
        params = {
            "room": key,
            "membership": t(
                "control.bot_removed.ban"
                if item.membership == "ban"
                else "control.bot_removed.leave",
                self.config.locale,
            ),
            "sender": item.sender or "?",
        }
        if not self.control.room_id:
            await self._announce("control.bot_removed", params)
            return
        # Not through _announce, which lets a failed send go: this one is retried.
        text = t("control.bot_removed", self.config.locale, **params)
        await self.gateway.send(
            self.control.room_id, notice(text), txn=effects.content_key(self.control.room_id, text)
        )

    async def _read_again(self, item: Unreadable) -> None:
        """An event the bot could not decrypt: read it now if its key came (then it is handled
        as it would have been), else ask the sender's devices for the key (once per session),
        tell the sender after a minute where they were talking to the bot (a direct chat, the
        control room), and give up after a day. ``StillUnreadable``: try again later."""
        event = item.event()
        try:
            readable = self.client.decrypt_event(event)
        except (EncryptionError, KeyError, ValueError):
            readable = None
        if readable is not None and not isinstance(readable, MegolmEvent):
            self.metrics.unreadable_recovered.inc()
            found = acted_on(
                readable,
                item.room_id,
                self.gateway.user_id,
                self.config.commands.prefix,
                self._dm_rooms,
                megolm_origin(self.gateway),
            )
            if isinstance(found, InboxRow):
                await self.store.record_events([found], None)
                self.dispatcher.wake.set()
            elif isinstance(found, Reaction):
                await self._handle_event("reaction", found)
            log.info("%s read once its key came", item.event_id)
            return
        if await self.store.once(f"unreadable.asked:{item.session_id}"):
            await self._ask_for_key(event)
        age = time.time() - item.source.get("origin_server_ts", 0) / 1000
        kind = await self.store.room_kind(item.room_id)
        if (
            age >= self.unreadable_notice_after
            and kind in ("dm", "control")
            and await self.store.once(f"unreadable.told:{item.event_id}")
        ):
            await self.store.audit(
                item.sender, "undecryptable", "told", room_id=item.room_id, event_id=item.event_id
            )
            await self.gateway.send(
                item.room_id,
                notice(t("undecryptable.told", self.config.locale), reply_to=item.event_id),
            )
        if age >= UNREADABLE_KEPT:
            await self.store.audit(
                item.sender,
                "undecryptable",
                "dropped",
                room_id=item.room_id,
                event_id=item.event_id,
            )
            return
        raise StillUnreadable

    async def _ask_for_key(self, event: MegolmEvent) -> None:
        """A room key request to the sender's devices (the one that sent it first): a client
        that shared the session with this device may send it again."""
        request = event.as_key_request(event.sender, self.client.device_id, device_id="*")
        with contextlib.suppress(MatrixError):
            await self.gateway.raw(
                "PUT",
                "/_matrix/client/v3/sendToDevice/m.room_key_request/"
                + path_part(f"agora-{event.session_id[:32]}-{self.client.device_id}"),
                request.as_dict(),
                what="ask for a room key",
            )

    async def _control_reaction(self, r: Reaction) -> None:
        """An admin's reaction on a card counts only encrypted, from a device of theirs."""
        if not r.encrypted:
            await self.store.audit(
                r.sender, "vetting.reaction", "ignored", room_id=r.room_id, detail="unencrypted"
            )
            if await self.store.once(f"unencrypted:{r.room_id}:{r.sender}"):
                await self._announce(
                    "control.unencrypted_ignored",
                    {"user": r.sender, "prefix": self.config.commands.prefix},
                )
            return
        if (
            r.device_curve
            and r.megolm_session
            and r.megolm_index is not None
            and not await self.store.first_sight(
                r.device_curve, r.megolm_session, r.megolm_index, r.event_id
            )
        ):
            # The same ciphertext as an earlier event, posted again: a replay decides nothing.
            await self.store.audit(
                r.sender, "vetting.reaction", "ignored", room_id=r.room_id, detail="replayed"
            )
            return
        reason = await self.trust.check(r.sender, r.device_curve, r.device_ed)
        if reason is not None:
            await self.store.audit(
                r.sender, "vetting.reaction", "refused", room_id=r.room_id, detail=reason
            )
            text = t(reason, self.config.locale, prefix=self.config.commands.prefix, user=r.sender)
            with contextlib.suppress(AgoraError):
                await self.gateway.send(r.room_id, notice(text, reply_to=r.relates_to))
            with contextlib.suppress(AgoraError):
                await self.tell(r.sender, text)
            return
        await self.vetting.on_reaction(r.sender, r.relates_to, r.key)

    async def _announce(self, key: str, params: dict[str, Any]) -> None:
        """A notice in the control room; kept until there is one (what the first checks at
        start find, before the control room is ensured)."""
        if not self.control.room_id:
            self._unannounced.append((key, params))
            return
        text = t(key, self.config.locale, **params)
        with contextlib.suppress(AgoraError):
            # Named by what it says: a notice a retried event skips (once-only) or says again
            # never shifts the ids of the others.
            await self.gateway.send(
                self.control.room_id,
                notice(text),
                txn=effects.content_key(self.control.room_id, text),
            )

    def _control_room_readers_changed(self) -> None:
        if self.control.room_id:
            self.gateway.rotate_room_key_if_refused(self.control.room_id)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Background work that must not hold the sync up (a peer's keys over federation)."""
        task = detached(coro, name=name)  # type: ignore[arg-type]
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(self._task_ended)

    async def tell(self, user_id: str, text: str) -> None:
        """A notice to one person in their direct chat with the bot (opened if none)."""
        await self.vetting.tell(user_id, text)

    # --- the web join form ----------------------------------------------------------------------

    async def web_secret(self) -> bytes:
        return await web_secret(self.store)

    async def file_web_request(
        self, values: dict[str, str], status_hash: str, locale: str
    ) -> RequestRow:
        data = self.vetting.validated(values, locale)
        return await self.vetting.file_from_web(data, status_hash=status_hash, locale=locale)

    async def confirm_web_request(self, token: str) -> tuple[str, RequestRow | None]:
        return await self.vetting.confirm_email(token)

    async def web_request_to_confirm(self, token: str) -> RequestRow | None:
        return await self.vetting.requests.request_by_email_hash(hash_token(token))

    async def count_web_post(self, client: str, limit: int) -> bool:
        return await self.store.count_post(client, limit)

    async def web_request(self, status_hash: str) -> tuple[RequestRow, int, int] | None:
        row = await self.vetting.requests.request_by_status_hash(status_hash)
        if row is None:
            return None
        standing = await self.vetting.standing_of(row)
        return row, len(standing.approvals), standing.required

    # --- webhooks and the public news page ------------------------------------------------------

    async def hook_post(self, hook: str, data: dict[str, Any], signature: str) -> dict[str, Any]:
        """A signed request from the agency's systems: posted once (a replay is refused)."""
        territory, text = data.get("territory"), data.get("text")
        if not isinstance(territory, str) or not isinstance(text, str):
            raise BadArgument("hook.fields")
        cur = await self.store._write(
            "INSERT OR IGNORE INTO hook_seen (signature, at) VALUES (?, ?)",
            (signature, time.time()),
        )
        if cur.rowcount == 0:
            raise PermissionDenied("hook.replayed")
        author = f"hook:{hook}"
        if hook == "news":
            public = data.get("public", False)
            if not isinstance(public, bool):
                raise BadArgument("hook.fields")
            news_id, rooms = await self.news.post_news(
                author, territory, text, public=public, origin="hook"
            )
            return {"news": news_id, "rooms": rooms}
        level = data.get("level", "info")
        if not isinstance(level, str):
            raise BadArgument("hook.fields")
        alert_id, rooms = await self.news.post_alert(author, territory, level, text, origin="hook")
        return {"alert": alert_id, "rooms": rooms}

    async def hook_refused(self, hook: str, why: str, remote: str) -> None:
        await self.store.audit(
            f"hook:{hook}", "hook.refused", "refused", detail=f"{why} from {remote}"
        )

    async def public_items(self, territory: str) -> list[dict[str, Any]]:
        return await self.news.public_items(territory)

    def wake_jobs(self) -> None:
        self.jobs.kick()

    async def _adoption_targets(self) -> set[str]:
        """Room ids the config asks the bot to take over (aliases resolved now)."""
        targets: set[str] = set()
        for territory, _ in self.config.network.walk():
            for room in territory.rooms:
                if room.adopt_room:
                    targets.add(room.adopt_room)
                elif room.adopt_alias:
                    with contextlib.suppress(MatrixError, KeyError):
                        targets.add(await self.gateway.resolve(room.adopt_alias))
        return targets

    async def _on_invite(self, room_id: str, inviter: str | None, is_direct: bool) -> None:
        kind = await self.store.room_kind(room_id)
        if kind is not None or room_id in await self._adoption_targets():
            await self.gateway.join(room_id)
        elif is_direct and inviter:
            # First: the checks below may ask peer servers, and a person is waiting here.
            await self.gateway.join(room_id)
            await self.store.add_room(room_id, "dm", inviter)
            self._dm_rooms = await self.store.dm_rooms()
            log.info("joined a direct chat with %s", inviter)
        elif await self.policy.is_trusted(room_id):
            # A peer region's policy list this region trusts: join it and apply its rules.
            await self.bans.follow_trusted()
        elif await self.shared.declares(room_id):
            # A peer region's room shared with this one: join it and ask our members in.
            await self.shared.follow()
        elif await self.directory.is_peer_directory(room_id):
            await self.directory.follow_peers()
        elif inviter in self.config.federation.peer_bots:
            # A peer region shares a space or room this region did not declare: in it, this
            # bot answers for its own server's people (it asks nobody in).
            await self.shared.accept(room_id, inviter)
        else:
            log.info("declining invite to %s from %s: not a direct chat", room_id, inviter)
            await self.gateway.leave(room_id)

    async def _on_membership(self, room_id: str, user_id: str, membership: str) -> None:
        if user_id == self.gateway.user_id:
            return
        if await self.enforcer.check(room_id, user_id, membership):
            return
        kind = await self.store.room_kind(room_id)
        if (
            kind == "control"
            and membership in ("join", "invite")
            and user_id not in self.config.admins
        ):
            await self.control.remove_outsider(user_id)
        elif kind == "control" and user_id in self.config.admins and membership in ("leave", "ban"):
            try:
                await self.control.reconcile_admins()
            except MatrixError as exc:
                log.error("could not restore admin %s in the control room: %s", user_id, exc)
        elif kind == "dm" and membership in ("leave", "ban"):
            log.info("%s left our direct chat %s; leaving too", user_id, room_id)
            await self.store.remove_room(room_id)
            self._dm_rooms = await self.store.dm_rooms()
            with contextlib.suppress(MatrixError):
                await self.gateway.leave(room_id)

    # --- the network ------------------------------------------------------------------------

    async def _after_reconcile(self, outcome: Outcome, why: str, drift: list[StateChange]) -> None:
        """Tell the control room what reconciling did (nothing when nothing changed). After a
        full run (start, reload) everyone is looked at again: a server dropped from the
        allow-list or a room no longer shared leaves people who may no longer be there."""
        if why == "full" and self._sweep_task is not None and self._sweep_task.done():
            self._sweep_task = detached(self._sweep(), name="sweep")
        loc = self.config.locale
        lines: list[str] = []
        for run in outcome.resumed:
            lines.append(t("reconcile.resumed", loc, **run))
        if why == "drift":
            repaired = {a.key for a in outcome.actions}
            for change in drift:
                key = await self.store.managed_key(change.room_id)
                if key in repaired:
                    lines.append(
                        t(
                            "reconcile.drift",
                            loc,
                            name=key,
                            what=change.event_type,
                            sender=change.sender,
                        )
                    )
                    await self.store.audit(
                        change.sender,
                        "territories.drift",
                        "repaired",
                        room_id=change.room_id,
                        detail=change.event_type,
                    )
        elif outcome.actions:
            lines.append(t("reconcile.done", loc, n=len(outcome.actions)))
        if outcome.failed:
            lines.append(t("reconcile.failed", loc, n=len(outcome.failed)))
            lines.extend(f"  - {a.op} {a.key}: {err}" for a, err in outcome.failed[:10])
        if outcome.unreachable:
            lines.append(t("reconcile.unreachable", loc, keys=", ".join(outcome.unreachable)))
        if lines and self.control.room_id:
            await self.gateway.send(self.control.room_id, notice("\n".join(lines)))

    async def settled(self, timeout: float = 120.0) -> None:
        """Wait until the network keeper has nothing left to reconcile."""
        await asyncio.wait_for(self.keeper.idle.wait(), timeout)

    async def reconcile(
        self,
        *,
        dry_run: bool,
        progress: Callable[[int, int], Awaitable[None]] | None = None,
    ) -> tuple[str, bool]:
        """For `!reconcile`: the plan (dry run) or what was applied; and whether all went well."""
        loc = self.config.locale
        outcome = await self.reconciler.reconcile(
            dry_run=dry_run, source="command", progress=progress
        )
        if dry_run:
            return render_plan(outcome.actions, loc), True
        lines = [
            t("reconcile.done", loc, n=len(outcome.actions))
            if outcome.actions
            else t("plan.nothing", loc)
        ]
        if outcome.failed:
            lines.append(t("reconcile.failed", loc, n=len(outcome.failed)))
            lines.extend(f"  - {a.op} {a.key}: {err}" for a, err in outcome.failed[:10])
        return "\n".join(lines), not outcome.failed

    def reload(self) -> None:
        """Re-read the config file; raises ConfigError (the old config stays) if it is wrong."""
        if self.config.source is None:
            return
        self.file_config = load_config(self.config.source)
        self._apply_config()
        self._public_url_of_port()
        self._config_mtime = self.config.source.stat().st_mtime
        self.keeper.request_full()
        # The feeds and trusted policy lists the file declares now (tasks: reload is called
        # from sync code).
        self._feeds_sync = detached(self.news.sync_config_feeds())
        self._peers_task = detached(self._follow_peers(own=True), name="peers")
        self._spawn(self.trust.refresh(), "trust")  # new admins, animators and managers
        self._spawn(self.control.reconcile_admins(), "control")  # the room follows `admins`

    async def _follow_peers(self, own: bool = False) -> None:
        """What the peers keep for this region, as the config declares it now (``own``, on
        reload: this region's rooms for its peers first, whose list of peers may have
        changed)."""
        try:
            if own:
                await self.bans.ensure()
                await self.directory.ensure()
            await self.bans.follow_trusted()
            await self.directory.follow_peers()
            await self.shared.follow()
        except AgoraError as exc:  # retried at the next reload or start
            log.error("following the peer regions: %s", exc)

    async def _reconcile_keys(self, keys: set[str]) -> None:
        outcome = await self.reconciler.reconcile(source="group", only=keys)
        if outcome.failed:
            action, error = outcome.failed[0]
            raise MatrixError(None, "AGORA_RECONCILE", f"{action.op} {action.key}: {error}")

    async def groups_changed(self) -> None:
        """A working group was made: it joins the network, and the reconciler makes its room."""
        self._groups = await GroupStore(self.store).all()
        self._apply_config()

    def _apply_config(self) -> None:
        config = effective(self.file_config, self._groups)
        self.broadcaster.set_pace(config.news.pace_per_second)
        self.sync.timeout_ms = sync_timeout_ms(config)
        self.store.keep_command_text = config.privacy.keep_command_text
        self.jobs.configure(config.jobs)
        for holder in (
            self,
            self.control,
            self.dispatcher,
            self.reconciler,
            self.vetting,
            self.enforcer,
            self.policy,
            self.revocation,
            self.animation,
            self.news,
            self.shared,
            self.directory,
            self.trust,
            self.bans,
        ):
            holder.config = config

    async def _refresh_dm_rooms(self) -> None:
        self._dm_rooms = await self.store.dm_rooms()

    async def _watch_registrations(self) -> None:
        """Approved web requests: link the account made with each one's token, once used."""
        while True:
            await asyncio.sleep(REGISTRATION_POLL)
            try:
                await self.vetting.link_registrations()
            except MatrixError as exc:
                log.warning("checking registration tokens: %s", exc)

    async def _watch_config(self, every: float = 2.0) -> None:
        if self.config.source is None:
            return
        self._config_mtime = self.config.source.stat().st_mtime
        while True:
            await asyncio.sleep(every)
            try:
                mtime = self.config.source.stat().st_mtime
            except OSError:
                continue
            if mtime == self._config_mtime:
                continue
            self._config_mtime = mtime
            try:
                self.reload()
                log.info("configuration reloaded from %s", self.config.source)
            except ConfigError as exc:
                log.error("configuration refused: %s", exc)
                await self.gateway.send(
                    self.control.room_id,
                    notice(t("reload.error", self.config.locale, error=str(exc))),
                )

    # --- what commands and the web see -------------------------------------------------------

    async def status_info(self) -> dict[str, Any]:
        user_id, device_id = self.gateway.user_id, self.gateway.device_id
        try:
            cross_signed = device_is_cross_signed(
                await self.gateway.query_keys([user_id]), user_id, device_id
            )
        except MatrixError:
            cross_signed = False
        ed25519 = self.client.olm.account.identity_keys["ed25519"] if self.client.olm else "?"
        return {
            "version": version(),
            "started_at": self.started_at,
            "homeserver": self.homeserver_url,
            "server_name": self.config.homeserver.server_name,
            "device_id": device_id,
            "fingerprint": " ".join(ed25519[i : i + 4] for i in range(0, len(ed25519), 4)),
            "cross_signed": cross_signed,
            "counts": await self.store.counts(),
        }

    async def converse(self, sender: str, room_id: str, text: str) -> str | None:
        return await self.vetting.converse(sender, room_id, text)

    def health(self) -> dict[str, Any]:
        return {"user_id": self.config.bot_user_id, "embedded": self.synapse is not None}

    # --- running and stopping ---------------------------------------------------------------

    async def _sweep(self) -> None:
        """Whoever slipped into a managed room while the bot was down goes, at start (and after
        each full reconcile)."""
        try:
            removed = await self.enforcer.sweep()
        except AgoraError as exc:
            log.error("start-up membership sweep failed: %s", exc)
            return
        if removed:
            log.warning("removed %d person(s) found in managed rooms at start", removed)

    async def _report_event_gave_up(self, payload: dict[str, Any]) -> None:
        if not self.control.room_id:
            raise MatrixUnavailable("no control room yet")
        text = t("events.gave_up", self.config.locale, kind=payload["kind"], ref=payload["ref"])
        await self.gateway.send(self.control.room_id, notice(text))

    async def _report_gave_up(self, payload: dict[str, Any]) -> None:
        if not self.control.room_id:
            raise MatrixUnavailable("no control room yet")  # tried again later
        text = t(
            "jobs.gave_up",
            self.config.locale,
            id=payload["id"],
            kind=payload["kind"],
            ref=payload["ref"],
            attempts=payload["attempts"],
            prefix=self.config.commands.prefix,
        )
        await self.gateway.send(self.control.room_id, notice(text))

    async def _housekeeping(self, every: float = 60.0) -> None:
        """Metrics of the durable work, and what has served its time pruned."""
        while True:
            try:
                counts = await self.store.job_counts()
                for state in ("pending", "retrying", "failed"):
                    self.metrics.jobs.labels(state="waiting" if state == "pending" else state).set(
                        counts.get(state, 0)
                    )
                self.metrics.backlog.set(await self.store.backlog())
                pruned = await self.store.prune(
                    self.config.jobs.keep_done, self.config.hooks.max_age
                )
                if pruned:
                    log.info("pruned %d finished job(s) and handled event(s)", pruned)
            except Exception:  # never the end of the bot
                log.exception("housekeeping failed")
            await asyncio.sleep(every)

    def _task_ended(self, task: asyncio.Task) -> None:
        """A loop of the bot must never die unnoticed: log it (run_until_stopped then stops)."""
        if not task.cancelled() and task.exception() is not None:
            log.critical("the %s loop stopped", task.get_name(), exc_info=task.exception())

    async def _watch_synapse(self) -> None:
        assert self.synapse
        reason = await self.synapse.wait_crashed()
        log.critical("%s", reason)
        raise StartupError(reason)

    async def run_until_stopped(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set (exit 0) or a loop dies (exit 1)."""
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        code = 0
        for task in done:
            if task is not waiter and not task.cancelled() and task.exception():
                log.critical("stopping: %s", task.exception())
                code = 1
        waiter.cancel()
        await self.stop()
        return code

    async def stop(self) -> None:
        for one_off in (self._sweep_task, self._peers_task, *self._background):
            if one_off is not None:
                one_off.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await one_off
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.web:
            await self.web.stop()
            self.web = None
        if self.client:
            await self.client.close()
        if getattr(self, "store", None):
            await self.store.close()
        if self.synapse:
            await self.synapse.stop()
        self.stopped.set()
