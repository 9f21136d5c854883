"""Fixtures: one real Synapse per test session (the same launcher as ``agora-bot run``), people
with real E2EE clients, and Agora bots started in-process against that Synapse.

A test marked ``topologies`` runs on Synapse with workers on PostgreSQL and Redis behind a
routing proxy (tests/topology.py, started once per test process, on first use) and, with
``AGORA_TOPOLOGIES=sqlite,workers`` (``make test TOPOLOGIES=sqlite,workers``), on that single
Synapse too. Its people and bots get the homeserver of the run through the ``homeserver``
fixture; the test itself is written once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bot.app import Agora
from bot.config import load_config
from bot.homeserver.admin import register_with_shared_secret
from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse
from tests.people import Person
from tests.topology import WorkersSynapse, check_installed, free_port

SERVER_NAME = "localhost"
# The bots the tests make (``register(hs, "agora")``): those Agora's Synapse module serves.
BOT_PATTERN = r"@agora-[0-9a-f]{6}:.+"
KNOWN_TOPOLOGIES = ("sqlite", "workers")
# Where the tests marked topologies run. By default on the workers topology alone: the rest of
# the suite runs on the single SQLite Synapse, the bot's code is the same on both, and running
# those stories twice costs about a minute more of a suite whose time is counted.
TOPOLOGIES = tuple(t for t in os.environ.get("AGORA_TOPOLOGIES", "workers").split(",") if t)
Homeserver = EmbeddedSynapse | WorkersSynapse


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def agora_cli(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """`agora-bot …` in a child process, without blocking the loop the bots run on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | (env or {}),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return CliResult(proc.returncode, out.decode(), err.decode())


@pytest.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedSynapse]:
    hs = EmbeddedSynapse(
        tmp_path_factory.mktemp("synapse"),
        SERVER_NAME,
        free_port(),
        extra=RELAXED_RATE_LIMITS,
        bot_user_pattern=BOT_PATTERN,
    )
    await hs.start()
    yield hs
    await hs.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("topologies") is None:
        return
    if "topology" not in metafunc.fixturenames:
        raise ValueError(
            f"{metafunc.definition.nodeid} is marked topologies but uses no homeserver fixture"
        )
    unknown = set(TOPOLOGIES) - set(KNOWN_TOPOLOGIES)
    if unknown or not TOPOLOGIES:
        raise ValueError(f"AGORA_TOPOLOGIES: expected some of {', '.join(KNOWN_TOPOLOGIES)}")
    metafunc.parametrize("topology", TOPOLOGIES, indirect=True)


@pytest.fixture
def topology(request: pytest.FixtureRequest) -> str:
    """The homeserver topology of this run of a test: those of ``AGORA_TOPOLOGIES`` in turn
    for one marked ``topologies``, else the single Synapse."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def homeserver(topology: str, request: pytest.FixtureRequest) -> Homeserver:
    """The homeserver people and bots use: the session's Synapse, or the workers topology.
    On the workers topology a failing story shows the bot's and the clients' INFO logs too
    (what the sync brought, room keys received and shared): a rare slowness seen there under
    a loaded CI is otherwise without a trace."""
    if topology == "workers":
        caplog = request.getfixturevalue("caplog")
        caplog.set_level(logging.INFO)
        caplog.set_level(logging.DEBUG, logger="bot.matrix.sync")  # each command recorded
    return request.getfixturevalue("workers_synapse" if topology == "workers" else "synapse")


@pytest.fixture(scope="session")
def workers_public_port() -> int:
    """The workers topology's federation port, known before it starts: the federation tests'
    SQLite regions name it among their peers."""
    return free_port()


@dataclass
class BeforeTheMove:
    """What the workers topology's region held on the embedded homeserver (SQLite)."""

    user_id: str
    password: str
    room_id: str
    text: str


async def life_on_sqlite(hs: EmbeddedSynapse) -> BeforeTheMove:
    user_id, password = await register(hs, "pionniere")
    text = f"Avant le déménagement {secrets.token_hex(3)}"
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        login = {"type": "m.login.password", "user": user_id, "password": password}
        async with http.post(f"{hs.url}/_matrix/client/v3/login", json=login) as resp:
            auth = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
        async with http.post(
            f"{hs.url}/_matrix/client/v3/createRoom", json={"name": "Historique"}, headers=auth
        ) as resp:
            room_id = (await resp.json())["room_id"]
        async with http.put(
            f"{hs.url}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/1",
            json={"msgtype": "m.text", "body": text},
            headers=auth,
        ):
            pass
    # synapse_port_db refuses a database whose background updates have not all run.
    database = hs.homeserver_config()["database"]["args"]["database"]
    for _ in range(600):
        with contextlib.closing(sqlite3.connect(database)) as db:
            if not db.execute("SELECT update_name FROM background_updates").fetchall():
                return BeforeTheMove(user_id, password, room_id, text)
        await asyncio.sleep(0.1)
    raise AssertionError("the embedded homeserver's background updates did not finish")


@pytest.fixture(scope="session")
async def workers_region(
    tmp_path_factory: pytest.TempPathFactory, workers_public_port: int
) -> AsyncIterator[tuple[WorkersSynapse, BeforeTheMove]]:
    """The workers topology as a region that began on the embedded homeserver: an account and
    a room made there, Synapse stopped, its SQLite database ported (synapse_port_db), then the
    main process and the workers started on PostgreSQL."""
    check_installed()  # before anything starts: what is missing, and the make target
    hs = WorkersSynapse(
        tmp_path_factory.mktemp("workers"),
        public_port=workers_public_port,
        bot_user_pattern=BOT_PATTERN,
    )
    await hs.embedded.start()
    try:
        before = await life_on_sqlite(hs.embedded)
    finally:
        await hs.embedded.stop()
    await hs.start()
    yield hs, before
    await hs.stop()


@pytest.fixture(scope="session")
def workers_synapse(workers_region: tuple[WorkersSynapse, BeforeTheMove]) -> WorkersSynapse:
    return workers_region[0]


async def register(hs: Homeserver, name: str, *, admin: bool = False) -> tuple[str, str]:
    localpart = f"{name}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    async with aiohttp.ClientSession() as http:
        await register_with_shared_secret(
            http,
            hs.url,
            hs.secrets()["registration_shared_secret"],
            localpart,
            password,
            admin=admin,
        )
    return f"@{localpart}:{hs.server_name}", password


_ROOT: dict[str, str] = {}  # homeserver URL → a server admin's access token


async def server_admin_call(
    hs: Homeserver, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """A request as a server admin of the test homeserver (an operator's, not the bot's: the
    bot is none), made once per homeserver. Returns (status, JSON body)."""
    async with aiohttp.ClientSession() as http:
        if hs.url not in _ROOT:
            user_id, password = await register(hs, "root", admin=True)
            login = {"type": "m.login.password", "user": user_id, "password": password}
            async with http.post(hs.url + "/_matrix/client/v3/login", json=login) as resp:
                _ROOT[hs.url] = (await resp.json())["access_token"]
        headers = {"Authorization": f"Bearer {_ROOT[hs.url]}"}
        async with http.request(method, hs.url + path, json=body, headers=headers) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def person(homeserver: Homeserver, tmp_path: Path):
    """``await person("infirmiere")``: a new account logged in with an E2EE client."""
    made: list[Person] = []

    async def make(name: str = "user", *, account: tuple[str, str] | None = None) -> Person:
        """A new account, or ``account`` = (user id, password) made some other way."""
        user_id, password = account or await register(homeserver, name)
        someone = await Person.login(
            homeserver.url, user_id, password, tmp_path / "people" / user_id.strip("@")
        )
        made.append(someone)
        return someone

    yield make
    for someone in made:
        await someone.close()


def bot_config(
    hs: Homeserver,
    localpart: str,
    password: str,
    admins: list[str],
    *,
    privileges: str = "module",
    **extra: Any,
) -> dict[str, Any]:
    """``privileges``: module (an ordinary user, with the module's secret) or admin (the
    admin API: the bot's account must be a server admin)."""
    return {
        "homeserver": {
            "embedded": False,
            "url": hs.url,
            "server_name": hs.server_name,
            "password": password,
            "privileges": privileges,
            **({"module_secret": module_secret(hs)} if privileges == "module" else {}),
        },
        "bot": {"localpart": localpart},
        "admins": admins,
        "web": {"port": 0},
        **extra,
        # The tests' feed servers listen on loopback, which feeds may not reach otherwise.
        "news": {"allowed_feed_hosts": ["127.0.0.1"], **extra.get("news", {})},
    }


def module_secret(hs: Homeserver) -> str:
    """The secret of Agora's module on a test homeserver."""
    return hs.secrets()["agora_module_secret"]


@dataclass
class BotAccount:
    localpart: str
    password: str


@pytest.fixture
async def start_bot(homeserver: Homeserver, tmp_path: Path):
    """``await start_bot(admins=[...])`` starts an Agora bot (a new account) against the test's
    homeserver; pass ``account=`` and ``data_dir=`` again to restart the same bot."""
    running: list[Agora] = []

    async def start(
        admins: list[str],
        *,
        account: BotAccount | None = None,
        data_dir: Path | None = None,
        server_admin: bool = False,
        privileges: str = "module",
        **extra: Any,
    ) -> Agora:
        """``privileges: admin`` (the admin API) needs ``server_admin``; module (the
        default): an ordinary user, through Agora's Synapse module."""
        if account is None:
            user_id, password = await register(homeserver, "agora", admin=server_admin)
            account = BotAccount(user_id[1:].split(":")[0], password)
        data_dir = data_dir or tmp_path / account.localpart
        # The stories wait for each command's ✅: sent as soon as the command is handled
        # (the same path, owed and sent from the store, without the quiet room's wait;
        # tests/test_reactions.py takes the default).
        extra["commands"] = {"reaction_delay": 0, **extra.get("commands", {})}
        # A real file, so that reloading and the config watcher work as in production.
        config_path = data_dir.parent / f"{account.localpart}.yaml"
        config_path.write_text(
            yaml.safe_dump(
                bot_config(
                    homeserver,
                    account.localpart,
                    account.password,
                    admins,
                    privileges=privileges,
                    **extra,
                ),
                allow_unicode=True,
            )
        )
        config = load_config(config_path, env={})
        agora = Agora(config, data_dir)
        agora.config_path = config_path  # type: ignore[attr-defined]
        agora.account = account  # type: ignore[attr-defined]
        await agora.start()
        running.append(agora)
        return agora

    yield start
    for agora in running:
        if not agora.stopped.is_set():
            await agora.stop()


async def vet(agora: Agora, user_id: str, territory: str) -> None:
    """Make someone a vetted member of a territory (what an approved request leaves behind),
    for tests whose subject is not vetting itself."""
    from bot.store.vetting import VettingStore

    await VettingStore(agora.store).add_member(user_id, None, territory)


@dataclass
class Network:
    bot: Agora
    admin: Person
    control: str


@pytest.fixture
async def network(person, start_bot) -> Network:
    """A running bot whose admin has joined the control room."""
    admin = await person("admin")
    agora = await start_bot([admin.user_id])
    await admin.accept_invite(agora.control.room_id)
    return Network(agora, admin, agora.control.room_id)
