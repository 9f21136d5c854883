"""Growth with the region's size: the bot (`python -m bot run`, a child process) on regions of
300, 1,000 and 3,000 members in 30, 100 and 300 rooms, each size on a Synapse of its own, beside
a plain matrix-nio client (E2EE store, nio's default sync without a filter) joined to the same
rooms, measured the same way where the measure applies to it.

    python bench/scale.py [--sizes 300:30,1000:100,3000:300] [--quick] [--output FILE.json]
    python bench/scale.py --replot FILE.json [--before OLD.json]   (fits and the plot again)

The region: one region space, ``rooms / 5`` territories (a space each) of 5 rooms (community,
announcements, oncall, replacements, an open group), every member vetted into one territory
(``members / territories`` each, 50 at every size) and in the region's space, their
territory's space and its 5 rooms, as the provisioning rules give them (``force_join``). Seeded
fast: accounts by shared-secret registration, 8 at a time; requests and memberships written
into the bot's store as approvals leave them; the joins made by the bot's own bulk path,
``agora-bot apply`` (admin-API joins, as provisioning does).

Measured at each size (the bot, and the plain client where it applies):
- resident memory (VmRSS) once started and quiet, and after an hour's worth of traffic;
- a cold start (a new device, an empty crypto store, no sync token: a full initial sync) and a
  restart (the stored sync token) to the first answered `!ping` from an admin in the encrypted
  control room (the plain client: its first `pong` in an encrypted room with the admin), the
  admin pinging every half second from the moment the process is started;
- idle CPU over a minute (utime + stime from /proc/<pid>/stat), after the hour;
- a stranger's join (an account force-joined by a server admin into a managed room, not vetted)
  to their removal by enforcement (homeserver timestamps of both events);
- `!members` (admin, control room) and `!garde` (a member, their territory's oncall room)
  round trips, beside `!ping` to the bot and to the plain client;
- a no-change `agora-bot plan` of the whole network (the command's wall time, beside
  `agora-bot --version` for the interpreter's own start; and the plan alone, in-process).

The hour (compressed into ``--hour`` seconds, 120 by default: 30x): ``members / 10`` encrypted
messages from 4 members with real E2EE clients in their territory's rooms, ``members / 100``
members leaving one of their rooms and as many coming back, and 10 commands (4 `!ping`,
3 `!members`, 3 `!garde`), spread evenly over the window in a shuffled order.

Each measure is fitted against the number of members (rooms grow in proportion): least squares
on log-log (the growth exponent) and on linear axes, extrapolated to 10,000 members and 1,000
rooms, against the targets (resident memory <= 300 MB, restart to first command <= 10 s, idle CPU
<= 2 % of a core, no-change plan <= 2 s, no exponent above ~1.1). The raw figures go to a JSON
file, the fits to the standard output and a plot (docs/scale.png by default).

``--homeserver MODULE:CALLABLE`` runs the sizes (``--homeserver-sizes``: only those member
counts) on another homeserver: ``await CALLABLE(directory, size)`` returns an object with
``url``, ``server_name``, ``registration_shared_secret`` and ``async stop()``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib
import json
import logging
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import BENCH_BOT, percentile, proc_cpu_s, until_quiet  # noqa: E402
from bot.homeserver.admin import register_with_shared_secret  # noqa: E402
from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse  # noqa: E402

log = logging.getLogger("scale")

ROOM_KINDS = (
    ("communaute", "community", {}),
    ("annonces", "announcements", {}),
    ("garde", "oncall", {}),
    ("remplacements", "replacements", {}),
    ("groupe", "group", {"visibility": "open"}),
)
TALKERS = 4
TARGET = {"members": 10_000, "rooms": 1_000}
TARGETS = {  # measure → (limit at the target size, unit)
    "bot.rss_start_mb": 300.0,
    "bot.rss_hour_mb": 300.0,
    "bot.restart_s": 10.0,
    "bot.idle_cpu_pct": 2.0,
    "plan.cli_s": 2.0,
}
MAX_EXPONENT = 1.1


# --- the homeserver ---------------------------------------------------------------------------


class Homeserver(Protocol):
    url: str
    server_name: str
    registration_shared_secret: str
    module_secret: str

    async def stop(self) -> None: ...


HomeserverFactory = Callable[[Path, "Size"], Awaitable[Homeserver]]


class Embedded:
    """The embedded Synapse (SQLite, one process), as every other benchmark starts it."""

    def __init__(self, hs: EmbeddedSynapse):
        self.hs = hs
        self.url, self.server_name = hs.url, hs.server_name
        self.registration_shared_secret = hs.secrets()["registration_shared_secret"]
        self.module_secret = hs.secrets()["agora_module_secret"]

    @property
    def pid(self) -> int | None:
        return self.hs.process.pid if self.hs.process else None

    async def stop(self) -> None:
        await self.hs.stop()


async def embedded(directory: Path, size: Size) -> Homeserver:
    # Fast password hashing: thousands of accounts are registered (nothing measured logs in
    # more than a few times).
    extra = {**RELAXED_RATE_LIMITS, "bcrypt_rounds": 4}
    hs = EmbeddedSynapse(
        directory, "localhost", free_port(), extra=extra, bot_user_pattern=BENCH_BOT
    )
    await hs.start()
    return Embedded(hs)


class Workers:
    """Synapse on PostgreSQL with workers, as deploy/workers/ ships it (tests/topology.py)."""

    def __init__(self, hs: Any):
        self.hs = hs
        self.url, self.server_name = hs.url, hs.server_name
        self.registration_shared_secret = hs.registration_shared_secret
        self.module_secret = hs.secrets()["agora_module_secret"]

    @property
    def pid(self) -> int | None:
        main = self.hs.services.get("main")
        return main.process.pid if main and main.process else None

    async def stop(self) -> None:
        await self.hs.stop()


async def workers(directory: Path, size: Size) -> Homeserver:
    """``--homeserver bench.scale:workers``: the workers topology; a region kept by an earlier
    run on the embedded homeserver (``--reuse``) is moved into its PostgreSQL by
    ``synapse_port_db`` first, under the same server name."""
    from tests.topology import WorkersSynapse

    extra = {**RELAXED_RATE_LIMITS, "bcrypt_rounds": 4}
    hs = WorkersSynapse(directory, extra=extra, server_name="localhost", bot_user_pattern=BENCH_BOT)
    await hs.start(timeout=3600.0)
    return Workers(hs)


def factory_named(spec: str) -> HomeserverFactory:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- sizes and the region ---------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    members: int
    rooms: int

    @property
    def territories(self) -> int:
        return max(1, self.rooms // len(ROOM_KINDS))

    @classmethod
    def parse(cls, text: str) -> Size:
        members, _, rooms = text.partition(":")
        return cls(int(members), int(rooms or max(5, int(members) // 10)))

    def territory(self, n: int) -> str:
        return f"t{n % self.territories:03d}"


def network(size: Size) -> dict[str, Any]:
    return {
        "territories": [
            {
                "id": "region",
                "name": "Région Sud",
                "territories": [
                    {
                        "id": f"t{i:03d}",
                        "name": f"Territoire {i}",
                        "rooms": [
                            {"id": rid, "name": f"Territoire {i} · {rid}", "kind": kind, **extra}
                            for rid, kind, extra in ROOM_KINDS
                        ],
                    }
                    for i in range(size.territories)
                ],
            }
        ]
    }


def expected_rooms(size: Size) -> int:
    return 1 + size.territories * (1 + len(ROOM_KINDS))


def roster_templates(territories: list[str]) -> list[dict[str, Any]]:
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
    return [
        {"territory": tid, "days": days, "start": start, "end": end, "role": role}
        for tid in territories
        for start, end, role in (
            ("00:00", "08:00", "regulation"),
            ("08:00", "20:00", "poste"),
            ("20:00", "24:00", "mobile"),
        )
    ]


# --- processes of our own ---------------------------------------------------------------------


def proc_rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


class Child:
    """A child process the bench started: its memory and CPU, and a clean stop."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str, started: float):
        self.proc, self.name, self.started = proc, name, started

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> tuple[float, float]:
        return proc_rss_mb(self.pid)

    def cpu(self) -> float:
        return proc_cpu_s(self.pid)

    def alive(self) -> bool:
        return self.proc.returncode is None

    async def stop(self, timeout: float = 60) -> int | None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                log.warning("%s did not stop in %.0f s: killed", self.name, timeout)
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    async def quiet(self, *, window: float = 5.0, below: float = 0.05, limit: float = 600) -> float:
        """Seconds until the process used less than ``below`` of a core over ``window``
        seconds (its start-up work done); ``limit`` at most."""
        return await until_quiet(self.cpu, self.name, window=window, below=below, limit=limit)


class Notify:
    """The sd_notify socket the bot reports READY=1 on (as under systemd)."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)

    async def ready(self, child: Child, timeout: float) -> float:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while True:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited ({child.proc.returncode}) before READY")
            try:
                data = await asyncio.wait_for(loop.sock_recv(self.sock, 4096), 1.0)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{child.name}: no READY in {timeout:.0f} s") from None
                continue
            if b"READY=1" in data.split(b"\n"):
                return time.perf_counter() - child.started

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def child_env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(ROOT)}


async def spawn(name: str, args: list[str], logfile: Path, **env: str) -> Child:
    logfile.parent.mkdir(parents=True, exist_ok=True)
    out = logfile.open("ab")
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE if name.startswith("plain") else out,
        stderr=out,
        env=child_env() | env,
        cwd=str(ROOT),
    )
    out.close()
    return Child(proc, name, started)


# --- the plain nio client (a child process: python bench/scale.py plain …) ---------------------


async def plain_main(args: argparse.Namespace) -> None:
    """A plain matrix-nio E2EE client: nio's default sync (no filter; full state on its first
    sync after a start, as any nio client must to encrypt), joins on invite, answers `!ping`
    with `pong`. Prints READY once its first sync is done."""
    from nio import (
        AsyncClient,
        AsyncClientConfig,
        InviteMemberEvent,
        LoginResponse,
        MatrixRoom,
        RoomMessageText,
        SyncResponse,
    )

    store = Path(args.store)
    store.mkdir(parents=True, exist_ok=True)
    session_file = store / "session.json"
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
    client = AsyncClient(args.url, args.user, store_path=str(store), config=config)
    if session_file.exists():
        saved = json.loads(session_file.read_text())
        client.restore_login(args.user, saved["device_id"], saved["access_token"])
    else:
        resp = await client.login(args.password, device_name="plain nio client")
        assert isinstance(resp, LoginResponse), resp
        session_file.write_text(
            json.dumps({"device_id": resp.device_id, "access_token": resp.access_token})
        )

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.body == "!ping" and event.sender != client.user_id:
            await client.room_send(
                room.room_id,
                "m.room.message",
                {
                    "msgtype": "m.notice",
                    "body": "pong",
                    "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
                },
                ignore_unverified_devices=True,
            )

    told = False

    async def on_sync(resp: SyncResponse) -> None:
        nonlocal told
        if not told:
            told = True
            print(f"READY {client.device_id}", flush=True)

    client.add_event_callback(on_invite, InviteMemberEvent)
    client.add_event_callback(on_message, RoomMessageText)
    client.add_response_callback(on_sync, SyncResponse)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(
        client.sync_forever(timeout=30_000, full_state=True, since=client.loaded_sync_token)
    )
    await stop.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await client.close()


async def plain_ready(child: Child, timeout: float) -> float:
    assert child.proc.stdout is not None
    line = await asyncio.wait_for(child.proc.stdout.readline(), timeout)
    if not line.startswith(b"READY"):
        raise RuntimeError(f"{child.name}: {line!r}")
    return time.perf_counter() - child.started


# --- the run of one size ----------------------------------------------------------------------


@dataclass
class Account:
    user_id: str
    password: str
    token: str


@dataclass
class Load:
    """The machine's load average (1 min), sampled every 5 s."""

    samples: list[tuple[float, float]] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            self.samples.append((time.time(), os.getloadavg()[0]))
            await asyncio.sleep(5)

    def summary(self, since: float = 0.0) -> dict[str, float]:
        values = [v for t, v in self.samples if t >= since] or [os.getloadavg()[0]]
        return {
            "min": round(min(values), 2),
            "mean": round(statistics.mean(values), 2),
            "max": round(max(values), 2),
        }


class Region:
    """One size's homeserver, accounts, bot and plain client, and the measures."""

    def __init__(self, size: Size, hs: Homeserver, tmp: Path, opts: argparse.Namespace):
        self.size, self.hs, self.tmp, self.opts = size, hs, tmp, opts
        self.data = tmp / "agora"
        self.config_path = tmp / "agora.yaml"
        self.logs = tmp / "logs"
        self.http: aiohttp.ClientSession | None = None
        self.members: list[Account] = []
        self.talkers: list[Any] = []  # Person
        self.admin: Any = None
        self.bot: Child | None = None
        self.plain: Child | None = None
        self.figures: dict[str, Any] = {"members": size.members, "rooms": size.rooms}
        self.rooms: dict[str, str] = {}  # key → room id
        self.spawns = 0

    # --- accounts -----------------------------------------------------------------------

    async def register(self, localpart: str, *, admin: bool = False) -> Account:
        assert self.http is not None
        password = secrets.token_urlsafe(12)
        answer = await register_with_shared_secret(
            self.http,
            self.hs.url,
            self.hs.registration_shared_secret,
            localpart,
            password,
            admin=admin,
        )
        assert answer is not None, localpart
        return Account(answer["user_id"], password, answer["access_token"])

    async def register_many(self, prefix: str, n: int) -> list[Account]:
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> Account:
            async with sem:
                return await self.register(f"{prefix}{i:05d}")

        return list(await asyncio.gather(*(one(i) for i in range(n))))

    async def api(
        self, method: str, path: str, body: Any = None, token: str | None = None, ok=(200,)
    ) -> Any:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {token or self.operator.token}"}
        async with self.http.request(
            method, self.hs.url + path, json=body, headers=headers
        ) as resp:
            data = await resp.json(content_type=None)
            if resp.status not in ok:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    # --- the bot ------------------------------------------------------------------------

    def write_config(self) -> None:
        size = self.size
        talker_territories = sorted({size.territory(i) for i in range(TALKERS)})
        config = {
            "homeserver": {
                "embedded": False,
                "url": self.hs.url,
                "server_name": self.hs.server_name,
                "password": self.bot_account.password,
                # A server-admin bot: the seeding's thousands of joins go through the admin
                # API (`agora-bot apply`), as bench/onboard_members.py's do.
                "privileges": "admin",
            },
            "bot": {"localpart": self.bot_account.user_id[1:].split(":")[0]},
            "admins": [self.admin_account.user_id],
            "web": {"port": free_port()},
            "network": network(size),
            "vetting": {
                "provisioning": {
                    "force_join": True,
                    "rules": [{"rooms": [kind for _, kind, _ in ROOM_KINDS]}],
                }
            },
            "rosters": {"templates": roster_templates(talker_territories)},
        }
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        from bot.config import load_config

        load_config(self.config_path, env={})  # refused here rather than in the child

    async def start_bot(self, label: str) -> Child:
        child, ready = await self.spawn_bot(label)
        await ready
        return child

    async def spawn_bot(self, label: str) -> tuple[Child, asyncio.Task]:
        """Started, its READY awaited in a task (the caller measures what it waits for)."""
        self.spawns += 1
        notify = Notify(self.tmp / f"notify-{self.spawns}.sock")
        child = await spawn(
            f"bot ({label})",
            [sys.executable, "-m", "bot", "run", "--config", str(self.config_path),
             "--data-dir", str(self.data), "--log-level", self.opts.bot_log_level],
            self.logs / "bot.log",
            NOTIFY_SOCKET=str(notify.path),
        )  # fmt: skip

        async def ready() -> float:
            try:
                return await notify.ready(child, self.opts.start_timeout)
            finally:
                notify.close()

        self.bot = child
        return child, asyncio.create_task(ready())

    async def cli(self, *args: str) -> tuple[float, str]:
        """`agora-bot …` against this region: wall time and output."""
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env=child_env(), cwd=str(ROOT),
        )  # fmt: skip
        out, _ = await proc.communicate()
        took = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"agora-bot {' '.join(args)}: exit {proc.returncode}\n{out[-3000:]}")
        return took, out.decode()

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.data / 'agora.db'}?mode=ro", uri=True, timeout=30)

    def managed(self) -> dict[str, str]:
        with contextlib.closing(self.db()) as db:
            return dict(db.execute("SELECT key, room_id FROM managed_rooms WHERE archived = 0"))

    def control_room(self) -> str:
        with contextlib.closing(self.db()) as db:
            row = db.execute("SELECT room_id FROM rooms WHERE kind = 'control'").fetchone()
        return row[0]

    # --- the plain client ---------------------------------------------------------------

    async def start_plain(self, label: str) -> Child:
        child = await spawn(
            f"plain ({label})",
            [sys.executable, str(Path(__file__).resolve()), "plain", "--url", self.hs.url,
             "--user", self.plain_account.user_id, "--password", self.plain_account.password,
             "--store", str(self.tmp / "plain")],
            self.logs / "plain.log",
        )  # fmt: skip
        self.plain = child
        return child

    # --- setting the region up ----------------------------------------------------------

    async def setup(self) -> None:
        from tests.people import ENCRYPTION_STATE, Person

        size, figures = self.size, self.figures
        began = time.perf_counter()
        self.operator = await self.register("operator", admin=True)
        self.bot_account = await self.register("agora", admin=True)
        self.admin_account = await self.register("admin")
        self.plain_account = await self.register("plain")
        self.members = await self.register_many("pro", size.members)
        self.strangers = await self.register_many("stranger", self.opts.strangers)
        figures["seed_register_s"] = round(time.perf_counter() - began, 1)
        progress(f"{size.members} members registered in {figures['seed_register_s']} s")

        self.admin = await Person.login(
            self.hs.url,
            self.admin_account.user_id,
            self.admin_account.password,
            self.tmp / "people" / "admin",
        )
        self.write_config()

        # First start: the network and the control room made by the bot itself.
        began = time.perf_counter()
        await self.start_bot("first start")
        control = self.control_room()
        await self.admin.accept_invite(control)
        want = expected_rooms(size)
        while len(self.managed()) < want:  # noqa: ASYNC110 (another process's database)
            await asyncio.sleep(1)
        # The keeper's own round over: nothing left for it to do.
        assert self.bot is not None
        await self.bot.quiet(limit=self.opts.quiet_limit, window=self.opts.quiet_window)
        await self.bot.stop()
        figures["seed_network_s"] = round(time.perf_counter() - began, 1)
        progress(f"{want} spaces and rooms made by the bot in {figures['seed_network_s']} s")

        # Members as approvals leave them, then `apply` joins them (the bot's bulk path).
        began = time.perf_counter()
        await self.vet_everyone()
        took, out = await self.cli("apply", "--config", str(self.config_path),
                                   "--data-dir", str(self.data))  # fmt: skip
        (self.logs / "apply.log").write_text(out)
        figures["seed_joins_s"] = round(took, 1)
        figures["seed_joins"] = size.members * (2 + len(ROOM_KINDS)) + expected_rooms(size)
        progress(f"{figures['seed_joins']} joins by `agora-bot apply` in {took:.1f} s")
        self.rooms = self.managed()
        region = await self.api(
            "GET", f"/_matrix/client/v3/rooms/{quote(self.rooms['region'])}/joined_members",
            token=self.bot_account_token(),
        )  # fmt: skip
        joined = len(region["joined"])
        assert joined >= size.members + 2, f"only {joined} in the region's space"
        figures["seed_total_s"] = round(
            figures["seed_register_s"] + figures["seed_network_s"] + took, 1
        )

        await self.talkers_log_in()

        # The plain client, once: its account joins its room with the admin.
        resp = await self.admin.client.room_create(
            invite=[self.plain_account.user_id], initial_state=[ENCRYPTION_STATE]
        )
        self.echo_room = resp.room_id
        plain = await self.start_plain("first login")
        await plain_ready(plain, self.opts.start_timeout)
        await self.admin.wait_for(
            lambda: self.plain_account.user_id in self.admin.client.rooms[self.echo_room].users,
            "the plain client's join",
            120,
        )
        await plain.stop()
        self.save()

    async def talkers_log_in(self) -> None:
        """The members who talk: real E2EE clients (a new device each time)."""
        from tests.people import Person

        for i in range(TALKERS):
            member = self.members[i]
            self.talkers.append(
                await Person.login(
                    self.hs.url,
                    member.user_id,
                    member.password,
                    self.tmp / "people" / f"talker{i}-{secrets.token_hex(2)}",
                    cross_signed=False,
                )
            )
        for i, talker in enumerate(self.talkers):
            room = self.rooms[f"{self.size.territory(i)}.garde"]
            await talker.wait_for(lambda r=room, p=talker: r in p.client.rooms, "their rooms")

    def save(self) -> None:
        """What ``--reuse`` needs to measure this region again (another version of the bot on
        the same seeded homeserver)."""
        accounts = {
            name: asdict(getattr(self, name))
            for name in ("operator", "bot_account", "admin_account", "plain_account")
        }
        saved = {
            "size": asdict(self.size),
            "server_name": self.hs.server_name,
            "accounts": accounts,
            "members": [asdict(a) for a in self.members],
            "strangers": [asdict(a) for a in self.strangers],
            "admin_keys": self.admin.cross_signing.seeds(),
            "echo_room": self.echo_room,
            "seeding": {k: v for k, v in self.figures.items() if k.startswith("seed_")},
        }
        (self.tmp / "region.json").write_text(json.dumps(saved, indent=1))

    async def restore(self) -> None:
        """A region seeded by an earlier run (``--reuse``): its accounts, the admin's identity
        on a new device, the config pointed at the homeserver's new address."""
        from bot.matrix.crosssigning import CrossSigningKeys
        from tests.people import Person

        saved = json.loads((self.tmp / "region.json").read_text())
        for name, fields in saved["accounts"].items():
            setattr(self, name, Account(**fields))
        self.members = [Account(**a) for a in saved["members"]]
        self.strangers = [Account(**a) for a in saved["strangers"]][: self.opts.strangers]
        self.echo_room = saved["echo_room"]
        self.figures.update(saved["seeding"], reused=str(self.tmp))
        config = yaml.safe_load(self.config_path.read_text())
        config["homeserver"]["url"] = self.hs.url
        config["homeserver"].setdefault("privileges", "admin")  # a region seeded before it was said
        config["web"]["port"] = free_port()
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.admin = await Person.login(
            self.hs.url,
            self.admin_account.user_id,
            self.admin_account.password,
            self.tmp / "people" / f"admin-{secrets.token_hex(2)}",
            keys=CrossSigningKeys.from_seeds(saved["admin_keys"]),
        )
        self.rooms = self.managed()
        await self.talkers_log_in()

    def bot_account_token(self) -> str:
        session = json.loads((self.data / "bot-session.json").read_text())
        return session["access_token"]

    async def vet_everyone(self) -> None:
        """Each member's request approved and their membership, as the bot's approvals leave
        them; the plain client admitted into every territory (so that it is in every room);
        the talkers' territories' rosters filled for two months."""
        from bot.rosters.book import RosterBook
        from bot.store import Store
        from bot.store.vetting import VettingStore
        from bot.vetting.form import JoinRequestData
        from tests.people import Person  # noqa: F401  (the same import path as setup)

        size = self.size
        store = await Store.open(self.data / "agora.db")
        try:
            vetting = VettingStore(store)
            async with store.transaction() as db:
                for n, member in enumerate(self.members):
                    territory = size.territory(n)
                    data = JoinRequestData(
                        name=f"Pro {n}",
                        profession="medecin",
                        territory=territory,
                        email=f"pro{n}@example.org",
                        rpps=None,
                    )
                    rid = await vetting.add_request(
                        data, source="import", user_id=member.user_id, dm_room=None,
                        submitted_by="bench", status="approved", db=db,
                    )  # fmt: skip
                    await db.execute(
                        "INSERT INTO members (user_id, request_id, territory, since) "
                        "VALUES (?, ?, ?, ?)",
                        (member.user_id, rid, territory, time.time()),
                    )
            plain = self.plain_account.user_id
            await vetting.add_member(plain, None, "region")  # type: ignore[arg-type]
            for i in range(size.territories):
                await vetting.add_grant(plain, f"t{i:03d}", "admit", "bench")
            from bot.config import load_config

            config = load_config(self.config_path, env={})
            book = RosterBook(lambda: config, store, time.time)
            await book.make_slots()
            for i in range(TALKERS):
                territory = size.territory(i)
                text = roster_csv(self.members[i].user_id, 62)
                report, assigned = await book.import_file(
                    territory, text, name=f"{territory}.csv", by="bench", partial=True
                )
                if not report.applied:
                    raise RuntimeError(book.report_text(report, assigned, "en")[:2000])
        finally:
            await store.close()

    # --- the measures -------------------------------------------------------------------

    async def first_answer(self, person: Any, room: str, started: float) -> float:
        """Seconds from ``started`` (the process's start) to the first reply to one of the
        `!ping`s ``person`` sends every half second."""
        sent: list[str] = []

        async def pinging() -> None:
            while True:
                with contextlib.suppress(Exception):
                    sent.append(await person.say(room, "!ping"))
                await asyncio.sleep(0.5)

        task = asyncio.create_task(pinging())
        try:
            await person.wait_for(
                lambda: any(person.replies_to(e) for e in list(sent)),
                "an answer to !ping",
                self.opts.start_timeout,
            )
            return time.perf_counter() - started
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def cold_start(self) -> None:
        """A new device, an empty crypto store, no sync token: the full initial sync."""
        figures = self.figures
        # The plain client: its device gone, a new login, an empty store.
        await self.forget_device(self.plain_account, self.tmp / "plain" / "session.json")
        shutil.rmtree(self.tmp / "plain", ignore_errors=True)
        plain = await self.start_plain("cold")
        figures["plain.cold_ready_s"] = round(await plain_ready(plain, self.opts.start_timeout), 2)
        figures["plain.cold_s"] = round(
            await self.first_answer(self.admin, self.echo_room, plain.started), 2
        )
        progress(f"plain client, cold: first pong after {figures['plain.cold_s']} s")

        # The bot: its device gone with its crypto store and session, the sync token forgotten
        # (its own records of the network, members and pins kept).
        await self.forget_device(self.bot_account, self.data / "bot-session.json")
        shutil.rmtree(self.data / "crypto", ignore_errors=True)
        (self.data / "bot-session.json").unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(self.data / "agora.db")) as db:
            db.execute("DELETE FROM kv WHERE key = 'sync_token'")
            db.commit()
        control = self.control_room()
        bot, ready = await self.spawn_bot("cold")
        figures["bot.cold_s"] = round(await self.first_answer(self.admin, control, bot.started), 2)
        figures["bot.cold_ready_s"] = round(await ready, 2)
        progress(f"bot, cold: first answer after {figures['bot.cold_s']} s")
        await self.after_start("start", bot)

    async def forget_device(self, account: Account, session: Path) -> None:
        """The device a session file names, deleted (as when a store is lost for good); none
        when a run cut short left no session."""
        if not session.exists():
            return
        device = json.loads(session.read_text())["device_id"]
        await self.api(
            "DELETE",
            f"/_synapse/admin/v2/users/{quote(account.user_id)}/devices/{quote(device)}",
        )

    async def after_start(self, label: str, bot: Child) -> None:
        """Once both processes are quiet: their resident memory (and its peak so far)."""
        figures = self.figures
        assert self.plain is not None
        quiet = {"limit": self.opts.quiet_limit, "window": self.opts.quiet_window}
        busy, _ = await asyncio.gather(bot.quiet(**quiet), self.plain.quiet(**quiet))
        figures[f"bot.quiet_after_{label}_s"] = round(busy, 1)
        figures[f"bot.cpu_{label}_s"] = round(bot.cpu(), 1)  # since the process began
        for who, child in (("bot", bot), ("plain", self.plain)):
            rss, hwm = child.rss()
            figures[f"{who}.rss_{label}_mb"] = round(rss, 1)
            figures[f"{who}.hwm_{label}_mb"] = round(hwm, 1)
        progress(
            f"after {label}: bot {figures[f'bot.rss_{label}_mb']} MB (peak "
            f"{figures[f'bot.hwm_{label}_mb']}), plain {figures[f'plain.rss_{label}_mb']} MB; "
            f"bot quiet {figures[f'bot.quiet_after_{label}_s']} s after"
        )

    async def restart(self) -> None:
        """Both stopped, then started again on their stored sync token."""
        figures = self.figures
        assert self.bot is not None and self.plain is not None
        await self.plain.stop()
        plain = await self.start_plain("restart")
        figures["plain.restart_ready_s"] = round(
            await plain_ready(plain, self.opts.start_timeout), 2
        )
        figures["plain.restart_s"] = round(
            await self.first_answer(self.admin, self.echo_room, plain.started), 2
        )
        await self.bot.stop()
        control = self.control_room()
        bot, ready = await self.spawn_bot("restart")
        figures["bot.restart_s"] = round(
            await self.first_answer(self.admin, control, bot.started), 2
        )
        figures["bot.restart_ready_s"] = round(await ready, 2)
        progress(
            f"restart: bot first answer after {figures['bot.restart_s']} s, plain "
            f"{figures['plain.restart_s']} s"
        )
        await self.after_start("restart", bot)

    async def commands(self) -> None:
        """Round trips, alternating: `!ping` to the bot and to the plain client, `!members`,
        and `!garde` from a member in their territory's oncall room."""
        from bench.common import round_trip

        control = self.control_room()
        garde_room = self.rooms[f"{self.size.territory(0)}.garde"]
        talker = self.talkers[0]
        times: dict[str, list[float]] = {
            k: [] for k in ("ping", "plain_ping", "members", "garde", "garde_ping")
        }
        for room in (control, self.echo_room):  # warm: sessions shared
            await round_trip(self.admin, room)
        await round_trip(talker, garde_room)
        for _ in range(self.opts.commands):
            times["plain_ping"].append(await round_trip(self.admin, self.echo_room, 0.2))
            times["ping"].append(await round_trip(self.admin, control, 0.2))
            times["members"].append(await round_trip(self.admin, control, 0.2, "!members"))
            times["garde_ping"].append(await round_trip(talker, garde_room, 0.2))
            times["garde"].append(await round_trip(talker, garde_room, 0.2, "!garde"))
        for key, values in times.items():
            self.figures[f"rt.{key}_s"] = round(statistics.median(values), 4)
            self.figures[f"rt.{key}_p95_s"] = round(percentile(values, 0.95), 4)
        self.figures["rt.raw"] = {k: [round(v, 4) for v in vs] for k, vs in times.items()}
        progress(
            "round trips (median): "
            + ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in times.items())
        )

    async def strangers_removed(self) -> None:
        """A server admin force-joins someone nobody vetted into a managed room: from their join
        to the bot's removal, by the homeserver's timestamps."""
        latencies = []
        bot = self.bot_account.user_id
        for n, stranger in enumerate(self.strangers):
            room = self.rooms[f"{self.size.territory(n)}.communaute"]
            # Synapse's admin join needs a server admin in the room: the bot's account is one.
            await self.api(
                "POST",
                f"/_synapse/admin/v1/join/{quote(room)}",
                {"user_id": stranger.user_id},
                token=self.bot_account_token(),
            )
            deadline = time.monotonic() + 120
            join = kick = None
            while kick is None and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                page = await self.api(
                    "GET",
                    f"/_synapse/admin/v1/rooms/{quote(room)}/messages?dir=b&limit=30&filter="
                    + quote(json.dumps({"types": ["m.room.member"]})),
                )
                # Their last join (a region measured again holds the earlier ones), and the
                # bot's removal after it.
                join = kick = None
                for ev in reversed(page["chunk"]):  # oldest first
                    if ev.get("state_key") != stranger.user_id:
                        continue
                    membership = ev["content"].get("membership")
                    if membership == "join":
                        join, kick = ev["origin_server_ts"], None
                    elif membership == "leave" and ev["sender"] == bot and join is not None:
                        kick = kick or ev["origin_server_ts"]
            if join is None or kick is None:
                raise RuntimeError(f"{stranger.user_id} was not removed from {room}")
            latencies.append((kick - join) / 1000)
        self.figures["stranger_removal_s"] = round(statistics.median(latencies), 3)
        self.figures["stranger_removal_max_s"] = round(max(latencies), 3)
        self.figures["stranger_raw"] = [round(v, 3) for v in latencies]
        progress(f"strangers removed after {statistics.median(latencies):.2f} s (median)")

    async def hour(self) -> None:
        """An hour's worth of traffic, compressed into ``--hour`` seconds."""
        size, opts = self.size, self.opts
        rng = random.Random(size.members)
        control = self.control_room()
        messages = max(20, size.members // 10)
        churn = max(2, size.members // 100)
        actions: list[tuple[str, Any]] = []
        talker_rooms = [
            [self.rooms[f"{size.territory(i)}.{rid}"] for rid in ("communaute", "garde",
                                                                  "remplacements", "groupe")]
            for i in range(TALKERS)
        ]  # fmt: skip
        for m in range(messages):
            i = m % TALKERS
            actions.append(("message", (i, rng.choice(talker_rooms[i]), m)))
        for account in rng.sample(self.members[TALKERS:], churn):
            actions.append(("move", account))
        actions += [("command", (self.admin, control, "!ping"))] * 4
        actions += [("command", (self.admin, control, "!members"))] * 3
        actions += [("command", (self.talkers[0], talker_rooms[0][1], "!garde"))] * 3
        rng.shuffle(actions)
        pace = opts.hour / len(actions)
        assert self.bot is not None and self.plain is not None
        cpu0 = (self.bot.cpu(), self.plain.cpu())
        began = time.perf_counter()
        pending: list[asyncio.Task] = []

        async def run(kind: str, what: Any) -> None:
            if kind == "message":
                i, room, m = what
                await self.talkers[i].say(room, f"Message {m}: une question pour le groupe.")
            elif kind == "move":  # leaves one of their rooms, comes back a third of the hour later
                n = self.members.index(what)
                room = quote(self.rooms[f"{size.territory(n)}.remplacements"])
                path = f"/_matrix/client/v3/rooms/{room}"
                await self.api("POST", f"{path}/leave", {}, token=what.token)
                await asyncio.sleep(opts.hour / 3)
                await self.api("POST", f"{path}/join", {}, token=what.token)
            else:
                person, room, text = what
                await person.reply_to(await person.say(room, text), timeout=120)

        for n, (kind, what) in enumerate(actions):
            delay = began + n * pace - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(run(kind, what)))
        results = await asyncio.gather(*pending, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} actions of the hour failed: {failed[:3]!r}")
        took = time.perf_counter() - began
        self.figures["hour"] = {
            "window_s": round(took, 1),
            "messages": messages,
            "leaves": churn,
            "comebacks": churn,
            "commands": 10,
            "bot_cpu_s": round(self.bot.cpu() - cpu0[0], 2),
            "plain_cpu_s": round(self.plain.cpu() - cpu0[1], 2),
        }
        progress(f"the hour: {len(actions)} actions in {took:.0f} s")
        await self.after_start("hour", self.bot)

    async def idle_cpu(self) -> None:
        assert self.bot is not None and self.plain is not None
        b0, p0, t0 = self.bot.cpu(), self.plain.cpu(), time.perf_counter()
        await asyncio.sleep(self.opts.idle)
        elapsed = time.perf_counter() - t0
        self.figures["bot.idle_cpu_pct"] = round((self.bot.cpu() - b0) / elapsed * 100, 3)
        self.figures["plain.idle_cpu_pct"] = round((self.plain.cpu() - p0) / elapsed * 100, 3)
        self.figures["idle_window_s"] = round(elapsed, 1)
        progress(
            f"idle CPU over {elapsed:.0f} s: bot {self.figures['bot.idle_cpu_pct']} %, "
            f"plain {self.figures['plain.idle_cpu_pct']} %"
        )

    async def plan(self) -> None:
        """A no-change `agora-bot plan` (wall time, 3 runs), beside `agora-bot --version`, and
        the plan alone, in this process: with Agora's module (the default privileges: the
        rooms' state without their members, a hundred rooms a request), and with the admin
        API's privileges (each room's whole state, one request per room)."""
        module_config = self.tmp / "agora-module.yaml"
        config = yaml.safe_load(self.config_path.read_text())
        config["homeserver"] |= {"privileges": "module", "module_secret": self.hs.module_secret}
        module_config.write_text(yaml.safe_dump(config, allow_unicode=True))
        for path, suffix in ((module_config, ""), (self.config_path, "_whole_state")):
            walls, inproc = await self._plans(path)
            self.figures[f"plan.cli{suffix}_s"] = round(statistics.median(walls), 3)
            self.figures[f"plan.inproc{suffix}_s"] = round(statistics.median(inproc), 3)
        floor = [(await self.cli("--version"))[0] for _ in range(self.opts.repeat)]
        self.figures["plan.cli_floor_s"] = round(statistics.median(floor), 3)
        f = self.figures
        progress(
            f"no-change plan: agora-bot plan {f['plan.cli_s']} s (interpreter and imports "
            f"{f['plan.cli_floor_s']} s), in-process {f['plan.inproc_s']} s; reading every "
            f"room's whole state: {f['plan.cli_whole_state_s']} s, in-process "
            f"{f['plan.inproc_whole_state_s']} s"
        )

    async def _plans(self, config_path: Path) -> tuple[list[float], list[float]]:
        from bot.config import load_config
        from bot.i18n import t
        from bot.matrix.gateway import Gateway, structure_client
        from bot.metrics import Metrics
        from bot.store import Store
        from bot.territories.groups import load_effective
        from bot.territories.reconciler import Reconciler

        args = ("plan", "--config", str(config_path), "--data-dir", str(self.data))
        config = load_config(config_path, env={})
        walls = []
        await self.cli(*args)  # Synapse's caches warmed (a first plan after its start is slower)
        for _ in range(self.opts.repeat):
            took, out = await self.cli(*args)
            if out.strip() != t("plan.nothing", config.locale):
                raise RuntimeError(f"the plan is not empty:\n{out[:3000]}")
            walls.append(took)
        store = await Store.open(self.data / "agora.db")
        session = json.loads((self.data / "bot-session.json").read_text())
        client = structure_client(self.hs.url, session["user_id"], session["access_token"])
        inproc = []
        try:
            config = await load_effective(config, store)
            reconciler = Reconciler(config, Gateway(client, Metrics()), store, self.data)
            for _ in range(self.opts.repeat):
                began = time.perf_counter()
                outcome = await reconciler.reconcile(dry_run=True)
                inproc.append(time.perf_counter() - began)
                assert outcome.actions == [], outcome.actions[:3]
        finally:
            await client.close()
            await store.close()
        return walls, inproc

    async def close(self) -> None:
        for child in (self.bot, self.plain):
            if child is not None:
                await child.stop()
        for person in (*self.talkers, self.admin):
            if person is not None:
                await person.close()


def roster_csv(member: str, days: int) -> str:
    """Every slot of ``days`` days from today given to ``member``."""
    lines = ["debut;fin;role;membre"]
    today = dt.date.today()
    for offset in range(days):
        day = today + dt.timedelta(days=offset)
        for start, end, role in (
            ("00:00", "08:00", "regulation"),
            ("08:00", "20:00", "poste"),
            ("20:00", "24:00", "mobile"),
        ):
            end_day = day
            lines.append(f"{day:%Y-%m-%d} {start};{end_day:%Y-%m-%d} {end};{role};{member}")
    return "\n".join(lines) + "\n"


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# The measures in their order (each needs those before it that it names: ``restart`` and
# what follows need the bot and the plain client started by ``cold_start``).
STEPS = ("cold_start", "restart", "commands", "strangers_removed", "hour", "idle_cpu", "plan")


async def run_size(
    size: Size,
    factory: HomeserverFactory,
    opts: argparse.Namespace,
    load: Load,
    reuse: Path | None = None,
) -> dict[str, Any]:
    """One size measured: a region built for it, or (``reuse``) one an earlier run built and
    kept."""
    tmp = reuse or Path(tempfile.mkdtemp(prefix=f"scale-{size.members}-"))
    progress(f"size {size.members} members, {size.rooms} rooms ({size.territories} territories)")
    began, since = time.perf_counter(), time.time()
    hs = await factory(tmp / "hs", size)
    region = Region(size, hs, tmp, opts)
    figures = region.figures
    figures["homeserver"] = getattr(factory, "__name__", str(factory))
    try:
        async with aiohttp.ClientSession() as http:
            region.http = http
            await (region.restore() if reuse else region.setup())
            seeded = time.time()
            for step in STEPS:
                if step in opts.steps:
                    await getattr(region, step)()
    finally:
        await region.close()
        await hs.stop()
        if opts.keep or reuse:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    figures["load_seeding"] = _window(load, since, seeded)
    figures["load_measures"] = load.summary(seeded)
    figures["wall_s"] = round(time.perf_counter() - began, 1)
    return figures


def _window(load: Load, since: float, until: float) -> dict[str, float]:
    values = [v for t, v in load.samples if since <= t <= until] or [os.getloadavg()[0]]
    return {
        "min": round(min(values), 2),
        "mean": round(statistics.mean(values), 2),
        "max": round(max(values), 2),
    }


# --- fits, the report and the plot ------------------------------------------------------------

MEASURES = [  # key, label, unit, the baseline's key (or None) and what it is
    ("bot.rss_start_mb", "resident memory after start", "MB", "plain.rss_start_mb", "plain nio"),
    ("bot.rss_hour_mb", "resident memory after the hour", "MB", "plain.rss_hour_mb", "plain nio"),
    ("bot.hwm_start_mb", "peak memory during start", "MB", "plain.hwm_start_mb", "plain nio"),
    ("bot.cold_s", "cold start to first answer", "s", "plain.cold_s", "plain nio"),
    ("bot.restart_s", "restart to first answer", "s", "plain.restart_s", "plain nio"),
    ("bot.quiet_after_start_s", "cold start: busy after the answer", "s", None, ""),
    ("bot.idle_cpu_pct", "idle CPU", "% of a core", "plain.idle_cpu_pct", "plain nio"),
    ("stranger_removal_s", "stranger's join to removal", "s", None, ""),
    ("rt.members_s", "!members round trip", "s", "rt.ping_s", "!ping, same room"),
    ("rt.garde_s", "!garde round trip", "s", "rt.garde_ping_s", "!ping, same room"),
    ("plan.cli_s", "no-change agora-bot plan", "s", "plan.cli_floor_s", "agora-bot --version"),
    ("plan.inproc_s", "no-change plan, in-process", "s", None, ""),
]


def fit(xs: list[float], ys: list[float]) -> dict[str, float] | None:
    import numpy as np

    if len(xs) < 2 or any(y is None for y in ys):
        return None
    x, y = np.array(xs, float), np.array(ys, float)
    slope, intercept = np.polyfit(x, y, 1)
    out = {"slope": float(slope), "intercept": float(intercept)}
    if (y > 0).all():
        k, c = np.polyfit(np.log(x), np.log(y), 1)
        out.update(exponent=float(k), log_c=float(c))
    return out


def extrapolate(f: dict[str, float], x: float) -> dict[str, float]:
    import math

    out = {"linear": f["intercept"] + f["slope"] * x}
    if "exponent" in f:
        out["power"] = math.exp(f["log_c"]) * x ** f["exponent"]
    return out


def analyse(runs: list[dict[str, Any]]) -> dict[str, Any]:
    xs = [r["members"] for r in runs]
    out: dict[str, Any] = {}
    for key, label, unit, plain_key, _ in MEASURES:
        for k in (key, plain_key):
            if k is None or any(k not in r for r in runs):
                continue
            ys = [r[k] for r in runs]
            f = fit(xs, ys)
            if f is None:
                continue
            at = extrapolate(f, TARGET["members"])
            entry = {"label": label, "unit": unit, "values": ys, "fit": f, "at_target": at}
            limit = TARGETS.get(k)
            if limit is not None:
                worst = max(at.values())
                entry["target"] = limit
                entry["meets_target"] = worst <= limit
            if "exponent" in f:
                entry["meets_exponent"] = f["exponent"] <= MAX_EXPONENT
            out[k] = entry
    return out


def report(runs: list[dict[str, Any]], fits: dict[str, Any]) -> str:
    lines = ["scale: " + ", ".join(f"{r['members']} members / {r['rooms']} rooms" for r in runs)]
    for key, entry in fits.items():
        f, at = entry["fit"], entry["at_target"]
        values = " / ".join(f"{v:g}" for v in entry["values"])
        exp = f"exponent {f['exponent']:.2f}" if "exponent" in f else "exponent n/a"
        target = ""
        if "target" in entry:
            target = (
                f"  target ≤ {entry['target']:g}: {'met' if entry['meets_target'] else 'MISSED'}"
            )
        lines.append(
            f"  {key:26s} {values:32s} {exp:16s} at 10k: linear {at['linear']:.3g}"
            + (f", power {at['power']:.3g}" if "power" in at else "")
            + f" {entry['unit']}{target}"
        )
    return "\n".join(lines)


def plot(
    runs: list[dict[str, Any]], fits: dict[str, Any], path: Path, before: list[dict] | None = None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shown = [m for m in MEASURES if m[0] in fits]
    cols = 3
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    grid = np.linspace(0, TARGET["members"], 200)
    for ax, (key, label, unit, plain_key, base) in zip(axes.flat, shown, strict=False):
        xs = [r["members"] for r in runs]
        for k, name, colour in ((key, "Agora", "tab:blue"), (plain_key, base, "tab:gray")):
            if k is None or k not in fits:
                continue
            f = fits[k]["fit"]
            ax.plot(xs, fits[k]["values"], "o", color=colour, label=name)
            ax.plot(grid, f["intercept"] + f["slope"] * grid, "-", color=colour, lw=1)
            if "exponent" in f:
                power = np.exp(f["log_c"]) * np.maximum(grid, 1) ** f["exponent"]
                ax.plot(grid, power, ":", color=colour, lw=1,
                        label=f"{name} ∝ n^{f['exponent']:.2f}")  # fmt: skip
        if before:
            bx = [r["members"] for r in before if key in r]
            by = [r[key] for r in before if key in r]
            if bx:
                ax.plot(bx, by, "x", color="tab:red", label="Agora, before")
                old = fit(bx, by)
                if old is not None:
                    line = old["intercept"] + old["slope"] * grid
                    ax.plot(grid, line, "--", color="tab:red", lw=0.8, alpha=0.6)
        if key in TARGETS:
            ax.axhline(TARGETS[key], color="tab:green", ls="--", lw=1, label="target at 10k")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("members (rooms = members / 10)")
        ax.set_ylabel(unit)
        ax.set_xlim(0, TARGET["members"] * 1.02)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
    }


async def main(opts: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("nio", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    sizes = [Size.parse(s) for s in opts.sizes.split(",")]
    other = factory_named(opts.homeserver) if opts.homeserver else None
    on = {int(s) for s in opts.homeserver_sizes.split(",")} if opts.homeserver_sizes else None
    load = Load()
    sampler = asyncio.create_task(load.run())
    result: dict[str, Any] = {"machine": machine(), "options": vars(opts), "runs": []}
    output = Path(opts.output)
    kept: list[Path | None] = [None] * len(sizes)
    if opts.reuse:
        kept = [Path(d) for d in opts.reuse.split(",")]
        sizes = [Size(**json.loads((d / "region.json").read_text())["size"]) for d in kept]
    try:
        for size, reuse in zip(sizes, kept, strict=True):
            factory = other if other and (on is None or size.members in on) else embedded
            result["runs"].append(await run_size(size, factory, opts, load, reuse))
            result["load"] = load.summary()
            output.write_text(json.dumps(result, indent=1))  # what is done is kept
    finally:
        sampler.cancel()
    finish(result, output, Path(opts.plot), None)


def finish(result: dict[str, Any], output: Path, plot_path: Path, before: dict | None) -> None:
    runs = result["runs"]
    fits = analyse(runs)
    result["fits"] = fits
    output.write_text(json.dumps(result, indent=1))
    print(report(runs, fits))
    print(f"  machine load average (1 min) during the run: {result.get('load')}")
    if len(runs) >= 2 and any(m[0] in fits for m in MEASURES):  # not when only seeding
        plot(runs, fits, plot_path, before["runs"] if before else None)
        print(f"  plot: {plot_path}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["plain"]:
        p = argparse.ArgumentParser(prog="scale.py plain")
        p.add_argument("--url", required=True)
        p.add_argument("--user", required=True)
        p.add_argument("--password", required=True)
        p.add_argument("--store", required=True)
        args = p.parse_args(argv[1:])
        args.mode = "plain"
        return args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300:30,1000:100,3000:300",
                        help="members:rooms, comma-separated")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and short windows (under 2 minutes)")  # fmt: skip
    parser.add_argument("--output", help="the JSON of raw figures (default docs/scale.json)")
    parser.add_argument("--plot", help="the plot (default docs/scale.png)")
    parser.add_argument("--replot", help="only fit and plot the runs of this JSON")
    parser.add_argument("--before", help="a JSON of an earlier run, shown on the plot")
    parser.add_argument("--hour", type=float, default=120.0,
                        help="seconds the hour's traffic is compressed into")  # fmt: skip
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle CPU measured")
    parser.add_argument("--commands", type=int, default=10, help="round trips of each command")
    parser.add_argument("--strangers", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each plan measured")
    parser.add_argument("--start-timeout", type=float, default=900.0)
    parser.add_argument("--quiet-limit", type=float, default=900.0)
    parser.add_argument("--quiet-window", type=float, default=5.0,
                        help="a process is quiet below 5 %% of a core over this many seconds")  # fmt: skip
    parser.add_argument("--homeserver", help="MODULE:CALLABLE making another homeserver")
    parser.add_argument("--homeserver-sizes", help="member counts run on it (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep each size's directory")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help="the measures to take, comma-separated (default: all)")  # fmt: skip
    parser.add_argument("--bot-log-level", default="WARNING", help="the bot's --log-level")
    parser.add_argument("--reuse", help="directories kept by --keep, comma-separated: measure "
                        "their regions again instead of building new ones")  # fmt: skip
    args = parser.parse_args(argv)
    args.mode = "bench"
    args.steps = args.steps.split(",")
    if args.quick:
        args.sizes = "10:5,20:5" if args.sizes == parser.get_default("sizes") else args.sizes
        args.hour, args.idle, args.commands, args.strangers, args.repeat = 8.0, 3.0, 2, 1, 1
        args.quiet_limit, args.quiet_window = min(args.quiet_limit, 30.0), 2.0
    quick = args.quick
    args.output = args.output or ("/tmp/scale-quick.json" if quick else "docs/scale.json")
    args.plot = args.plot or ("/tmp/scale-quick.png" if quick else "docs/scale.png")
    return args


if __name__ == "__main__":
    options = parse_args()
    if options.mode == "plain":
        asyncio.run(plain_main(options))
    elif options.replot:
        data = json.loads(Path(options.replot).read_text())
        before = json.loads(Path(options.before).read_text()) if options.before else None
        finish(data, Path(options.output), Path(options.plot), before)
    else:
        asyncio.run(main(options))
