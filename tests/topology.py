"""Synapse as a region that outgrew one process runs it: PostgreSQL and Redis from Debian's
packages, the main process, three workers (generic1: /sync, the clients' reads and the
federation requests; events1: the event persister; federation_sender1) and a reverse proxy
routing as nginx would, all on loopback.

Everything comes from deploy/workers, as an operator installs it: the shared ``workers.yaml``
and the workers' files with only their ports and paths changed (``localise``), each worker run
with the command of ``matrix-synapse-worker@.service``, the proxy's rules from
``routes.yaml``, Redis with ``redis.conf``, PostgreSQL with ``postgresql.conf``. The region's
own settings (``homeserver.yaml``: server name, secrets, the Agora module, registration by
token, federation over TLS) are the embedded homeserver's (``EmbeddedSynapse``), so whatever
``modules:`` it lists is loaded by every process.

    hs = WorkersSynapse(tmp_dir)
    await hs.start()     # hs.url, hs.server_name, hs.secrets() as EmbeddedSynapse offers them
    ...                  # (hs.registration_shared_secret), hs.query(sql) on its database
    await hs.stop()

A data directory where the embedded homeserver ran (``hs.embedded.start()``… ``stop()``) is a
region moving from SQLite: its database is ported first, as deploy/README.md tells operators
(``synapse_port_db``, then the sequences it restarted read once).

Each process tells it is ready as it would tell systemd (``READY=1`` on ``$NOTIFY_SOCKET``)
and gets SIGTERM if the process that started it dies. PostgreSQL refuses to run as root: when
root (CI), the cluster runs as Debian's ``postgres`` user, in a directory of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bot.config import FederationListener
from bot.files import write_private
from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse, deep_merge
from tools.synapse_workers import (
    LOG_CONFIG_FILE,
    MAIN,
    MAIN_COMMAND,
    SHARED_FILE,
    WORKERS_DIR,
    Deployment,
    load,
)

INSTALL_HINT = (
    "`make install-workers` installs Debian's postgresql and redis-server (as root, with "
    "apt-get), `make install` the Python side (psycopg2, txredisapi)"
)
ETC = "/etc/matrix-synapse"  # the shipped files' directory, the topology's synapse/ dir
PG_SOCKET = "/var/run/postgresql"
PG_ROOT = Path("/usr/lib/postgresql")  # Debian's PostgreSQL servers, one directory a version
PG_USER = "postgres"  # Debian's, who runs the cluster when the tests run as root
# The test cluster: the shipped settings with less memory, and without durability (a test's
# database dies with it). Never for a real region.
PG_TEST_SETTINGS = {
    "shared_buffers": "128MB",
    "effective_cache_size": "512MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "log_min_duration_statement": "-1",
}


# The region's settings beyond the embedded homeserver's, for tests. No federation allow-list:
# the tests' peers come and go, and the bots' ACLs decide who takes part in what. Background
# updates without their pause of a second between batches: a new database has a minute of
# them, which a port waits for on SQLite and runs again on PostgreSQL (synapse_port_db always
# pauses, for sleep_duration_ms).
TEST_SETTINGS: dict[str, Any] = {
    "federation_domain_whitelist": None,
    "background_updates": {"sleep_enabled": False, "sleep_duration_ms": 5},
}


# After synapse_port_db, before Synapse starts (deploy/README.md gives it to operators too).
ADVANCE_RESTARTED_SEQUENCES = (
    "SELECT sequencename, nextval(format('%I.%I', schemaname, sequencename))"
    " FROM pg_sequences WHERE last_value IS NULL"
)


class TopologyError(RuntimeError):
    """A part of the topology is missing, or did not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path:
    """The newest PostgreSQL server Debian's packages installed."""
    found = sorted(
        PG_ROOT.glob("*/bin/postgres"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not found:
        raise TopologyError(f"PostgreSQL's server is not installed: {INSTALL_HINT}")
    return found[-1].parent


def check_installed() -> None:
    """Everything the topology needs, or one message naming what is missing and the fix."""
    postgres_bin()
    if shutil.which("redis-server") is None:
        raise TopologyError(f"redis-server is not installed: {INSTALL_HINT}")
    for module in ("psycopg2", "txredisapi"):
        if importlib.util.find_spec(module) is None:
            raise TopologyError(f"Python's {module} is not installed for Synapse: {INSTALL_HINT}")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            raise TopologyError(
                f"no {PG_USER} user to run PostgreSQL as (it refuses root): {INSTALL_HINT}"
            ) from None


def localise(value: Any, ports: Mapping[int, int], paths: Mapping[str, str]) -> Any:
    """A shipped config with this machine's ports and paths: every ``port`` the map names, and
    every string starting with one of ``paths``, changed; nothing else."""
    if isinstance(value, dict):
        return {
            k: ports.get(v, v) if k == "port" and isinstance(v, int) else localise(v, ports, paths)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [localise(v, ports, paths) for v in value]
    if isinstance(value, str):
        for shipped, local in paths.items():
            if value == shipped or value.startswith(shipped + "/"):
                return local + value[len(shipped) :]
    return value


def shipped_ports(deployment: Deployment) -> set[int]:
    ports: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "port" and isinstance(v, int):
                    ports.add(v)
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(deployment.shared)
    for config in deployment.workers.values():
        walk(config)
    return ports


class Service:
    """One process of the topology, started as systemd would start a ``Type=notify`` unit."""

    def __init__(self, name: str, argv: list[str], log: Path, notify_dir: Path, *, user=None):
        self.name, self.argv, self.log, self.user = name, argv, log, user
        self.notify_path = notify_dir / f"{name}.notify"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, cwd: Path, stop_signal: int = signal.SIGTERM) -> None:
        self.notify_path.unlink(missing_ok=True)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.bind(str(self.notify_path))
        self._sock.setblocking(False)
        if self.user is not None:
            os.chown(self.notify_path, self.user.pw_uid, self.user.pw_gid)
            # setpriv execs the program as the user, asking for the signal when we die.
            argv = [
                "setpriv",
                f"--reuid={self.user.pw_uid}",
                f"--regid={self.user.pw_gid}",
                "--init-groups",
                f"--pdeathsig={signal.Signals(stop_signal).name}",
                "--",
                *self.argv,
            ]
        else:
            argv = [sys.executable, "-m", "bot.homeserver.child", str(os.getpid()), *self.argv]
        with open(self.log, "ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=cwd,
                env=os.environ | {"NOTIFY_SOCKET": str(self.notify_path)},
                start_new_session=True,
            )

    async def ready(self, timeout: float) -> None:
        """Until the process says READY=1; an error with its log's end if it dies first."""
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while True:
            received = loop.create_task(loop.sock_recv(self._sock, 4096))
            died = loop.create_task(self.process.wait())
            done, _ = await asyncio.wait(
                {received, died},
                timeout=max(0.0, deadline - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in (received, died):
                if task not in done:
                    task.cancel()
            if received in done and b"READY=1" in received.result().split(b"\n"):
                return
            if died in done:
                raise TopologyError(
                    f"{self.name} exited during start-up (code {self.process.returncode}): "
                    f"{self.log}\n{self.tail()}"
                )
            if not done:
                raise TopologyError(f"{self.name} not ready within {timeout:.0f} s: {self.log}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def stop(self, sig: int = signal.SIGTERM, grace: float = 20.0) -> None:
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        with contextlib.suppress(AttributeError):
            self._sock.close()


class WorkersSynapse:
    """The topology; ``url``, ``server_name`` and ``secrets()`` as ``EmbeddedSynapse``'s."""

    host = "127.0.0.1"

    def __init__(
        self,
        data_dir: str | Path,
        *,
        public_port: int | None = None,
        extra: Mapping[str, Any] | None = None,
        deployment_dir: Path = WORKERS_DIR,
        bot_user_pattern: str | None = None,
        server_name: str | None = None,
    ):
        """``bot_user_pattern``: the bots Agora's module serves (EmbeddedSynapse's);
        ``server_name``: another than the loopback address and TLS port (a region made on the
        embedded homeserver, whose ids name it, moved here: it then federates with no one)."""
        self.data_dir = Path(data_dir).resolve()
        self.deployment_dir = deployment_dir
        self.deployment = load(deployment_dir)
        self.port = free_port()  # the proxy's loopback listener: the bot's and the people's
        self.public_port = public_port or free_port()  # its TLS one: the other servers'
        self.server_name = server_name or f"{self.host}:{self.public_port}"
        # The region's homeserver.yaml: the embedded homeserver's, federating over TLS with
        # servers on loopback.
        self.embedded = EmbeddedSynapse(
            self.data_dir,
            self.server_name,
            self.port,
            self.host,
            deep_merge(dict(RELAXED_RATE_LIMITS if extra is None else extra), TEST_SETTINGS),
            federation=FederationListener(
                port=self.public_port,
                bind=self.host,
                verify_certificates=False,
                allow_loopback=True,
            ),
            bot_user_pattern=bot_user_pattern,
        )
        self.etc = self.embedded.dir  # what /etc/matrix-synapse holds in production
        self.ports = {p: free_port() for p in sorted(shipped_ports(self.deployment))}
        self.services: dict[str, Service] = {}
        self._run: Path | None = None  # short path: unix sockets, PostgreSQL's cluster
        self.started_in: float | None = None
        self.ported_in: float | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def secrets(self) -> dict[str, str]:
        return self.embedded.secrets()

    @property
    def registration_shared_secret(self) -> str:
        return self.secrets()["registration_shared_secret"]

    def log_path(self, name: str) -> Path:
        """A Synapse process's log: the main process's own file, the workers' standard error
        (what the journal would keep)."""
        return self.embedded.log_path if name == MAIN else self.services[name].log

    @property
    def database(self) -> dict[str, Any]:
        return self.config(SHARED_FILE)["database"]["args"]

    def config(self, name: str) -> dict[str, Any]:
        """A shipped file as this topology runs it (``workers.yaml``, ``generic1.yaml``…)."""
        source = (
            self.deployment.shared
            if name == SHARED_FILE
            else self.deployment.workers[name.removesuffix(".yaml")]
        )
        assert self._run is not None
        return localise(source, self.ports, {ETC: str(self.etc), PG_SOCKET: str(self._run / "pg")})

    # --- start -------------------------------------------------------------------------------

    async def start(self, timeout: float = 120.0) -> None:
        check_installed()
        began = time.monotonic()
        self._run = Path(tempfile.mkdtemp(prefix="agora-workers-"))
        self._run.chmod(0o711)  # PostgreSQL's user goes through to its own directory
        try:
            await self._start(timeout)
        except BaseException:
            await self.stop()
            raise
        self.started_in = time.monotonic() - began

    async def _start(self, timeout: float) -> None:
        assert self._run is not None
        self._write_configs()
        await asyncio.gather(self._start_postgres(timeout), self._start_redis(timeout))
        if self.sqlite_database.exists():
            await self._port_from_sqlite()
        await self._start_synapse(MAIN, self._main_argv(), timeout)
        await asyncio.gather(
            *(
                self._start_synapse(name, self._worker_argv(name), timeout)
                for name in self.deployment.workers
            ),
            self._start_proxy(timeout),
        )
        await self._check_routes()

    def _write_configs(self) -> None:
        self.embedded.write_config()  # homeserver.yaml, keys, secrets, the main's log config
        (self.etc / "conf.d").mkdir(exist_ok=True)
        (self.etc / "workers").mkdir(exist_ok=True)
        dump = yaml.safe_dump
        (self.etc / "conf.d" / SHARED_FILE).write_text(dump(self.config(SHARED_FILE)))
        for name in self.deployment.workers:
            (self.etc / "workers" / f"{name}.yaml").write_text(dump(self.config(name)))
        shutil.copy(self.deployment_dir / LOG_CONFIG_FILE, self.etc / LOG_CONFIG_FILE)
        secret_file = localise(
            self.deployment.shared["worker_replication_secret_path"], {}, {ETC: str(self.etc)}
        )
        Path(secret_file).write_text(secrets.token_hex(32) + "\n")
        Path(secret_file).chmod(0o600)

    def _local_command(self, command: str) -> list[str]:
        """A shipped command line, run here: this venv's Python, this topology's files."""
        argv = [a.replace(ETC, str(self.etc)) for a in shlex.split(command)]
        if argv[0].endswith("/python"):
            argv[0] = sys.executable
        return argv

    def _main_argv(self) -> list[str]:
        return self._local_command(MAIN_COMMAND)

    def _worker_argv(self, name: str) -> list[str]:
        return self._local_command(self.deployment.worker_command.replace("%i", name))

    def _service(self, name: str, argv: list[str], *, user=None) -> Service:
        assert self._run is not None
        service = Service(name, argv, self.etc / f"{name}.log", self._run, user=user)
        self.services[name] = service
        return service

    async def _start_synapse(self, name: str, argv: list[str], timeout: float) -> None:
        service = self._service(name, argv)
        await service.start(self.etc)
        await service.ready(timeout)

    async def _start_redis(self, timeout: float) -> None:
        assert self._run is not None
        redis_dir = self._run / "redis"
        redis_dir.mkdir()
        shipped = self.deployment.shared["redis"]
        argv = [
            shutil.which("redis-server") or "redis-server",
            str(self.deployment_dir / "redis.conf"),
            "--port",
            str(self.ports[shipped["port"]]),
            "--dir",
            str(redis_dir),
            "--supervised",
            "systemd",
            "--daemonize",
            "no",
        ]
        service = self._service("redis", argv)
        await service.start(redis_dir)
        await service.ready(timeout)

    async def _start_postgres(self, timeout: float) -> None:
        assert self._run is not None
        bindir = postgres_bin()
        user = pwd.getpwnam(PG_USER) if os.geteuid() == 0 else None
        pg = self._run / "pg"
        pg.mkdir()
        if user is not None:
            os.chown(pg, user.pw_uid, user.pw_gid)
        data = pg / "data"
        init = self._service(
            "initdb",
            [
                str(bindir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                PG_USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user=user,
        )
        await init.start(pg)
        assert init.process is not None
        if await init.process.wait() != 0:
            raise TopologyError(f"initdb failed: {init.log}\n{init.tail()}")
        # The shipped settings as conf.d/synapse.conf, as an operator installs them.
        shutil.copy(self.deployment_dir / "postgresql.conf", data / "synapse.conf")
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("\ninclude 'synapse.conf'\n")
        if user is not None:
            os.chown(data / "synapse.conf", user.pw_uid, user.pw_gid)
        port = self.ports[self.deployment.shared["database"]["args"]["port"]]
        argv = [
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(pg),
            "-c",
            f"listen_addresses={self.host}",
        ]
        for name, value in PG_TEST_SETTINGS.items():
            argv += ["-c", f"{name}={value}"]
        service = self._service("postgres", argv, user=user)
        await service.start(pg, stop_signal=signal.SIGINT)
        await service.ready(timeout)
        args = self.database
        role, dbname = args["user"], args["dbname"]
        psql = [str(bindir / "psql"), "-h", str(pg), "-p", str(port), "-U", PG_USER, "-d"]
        psql += ["postgres", "-v", "ON_ERROR_STOP=1", "-q"]
        # As the README tells an operator: a role, and a database in the C locale.
        for sql in (
            f'CREATE ROLE "{role}" LOGIN',
            f'CREATE DATABASE "{dbname}" OWNER "{role}" ENCODING \'UTF8\' '
            "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
        ):
            proc = await asyncio.create_subprocess_exec(
                *psql,
                "-c",
                sql,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await proc.communicate()
            if proc.returncode != 0:
                raise TopologyError(f"psql {sql!r} failed: {out.decode(errors='replace')}")

    @property
    def sqlite_database(self) -> Path:
        """Where the embedded homeserver of the same data directory kept its database: found
        at start, it is ported to PostgreSQL first (a region moving from SQLite)."""
        return Path(self.embedded.homeserver_config()["database"]["args"]["database"])

    async def _port_from_sqlite(self) -> None:
        """What deploy/README.md tells an operator, with Synapse stopped: synapse_port_db into
        the new database, with homeserver.yaml's settings and workers.yaml's database; the
        SQLite file is then put aside."""
        settings = self.embedded.homeserver_config() | {
            "database": self.config(SHARED_FILE)["database"]
        }
        config = self.etc / "homeserver-postgres.yaml"
        write_private(config, yaml.safe_dump(settings, sort_keys=False))
        began = time.monotonic()
        log = self.etc / "port_db.log"
        with open(log, "ab") as out:
            proc = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "synapse_port_db"),
                "--sqlite-database",
                str(self.sqlite_database),
                "--postgres-config",
                str(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=self.etc,
            )
            code = await proc.wait()
        if code != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise TopologyError(f"synapse_port_db failed (code {code}): {log}\n{tail}")
        # synapse_port_db restarts each stream's sequence at the next free id (RESTART WITH,
        # never read), and Synapse takes a sequence's last_value as the stream's position
        # (Synapse 1.163): the first to-device message and device list change after the move
        # would sit at a position clients are told they have passed, and be lost (a room key
        # never arrives: E2EE broken). Reading each such sequence once makes them agree.
        await self.query(ADVANCE_RESTARTED_SEQUENCES)
        self.sqlite_database.rename(self.sqlite_database.with_suffix(".db.ported"))
        self.ported_in = time.monotonic() - began

    async def _start_proxy(self, timeout: float) -> None:
        upstreams = {}
        for name, (host, port) in self.deployment.upstreams().items():
            upstreams[name] = [host, self.ports[port]]
        settings = self.embedded.homeserver_config()
        spec = {
            "loopback": [self.host, self.port],
            "public": [
                self.host,
                self.public_port,
                settings["tls_certificate_path"],
                settings["tls_private_key_path"],
            ],
            "upstreams": upstreams,
        }
        path = self.etc / "proxy.json"
        path.write_text(json.dumps(spec, indent=2))
        service = self._service("proxy", [sys.executable, "-m", "tests.reverse_proxy", str(path)])
        await service.start(Path.cwd())
        await service.ready(timeout)

    async def _check_routes(self) -> None:
        """Through the proxy, each process that serves requests answers."""
        async with aiohttp.ClientSession() as http:
            async with http.get(self.url + "/_matrix/client/versions") as resp:
                if resp.status != 200:
                    raise TopologyError(f"{self.url}: /versions answered {resp.status}")

    def upstream_url(self, name: str) -> str:
        """Where a process that serves requests listens, behind the proxy."""
        host, port = self.deployment.upstreams()[name]
        return f"http://{host}:{self.ports[port]}"

    async def query(self, sql: str) -> list[list[str]]:
        """Rows of a query on Synapse's database (psql as the cluster's superuser)."""
        assert self._run is not None
        args = self.database
        proc = await asyncio.create_subprocess_exec(
            str(postgres_bin() / "psql"),
            *("-h", args["host"], "-p", str(args["port"]), "-U", PG_USER, "-d", args["dbname"]),
            *("-v", "ON_ERROR_STOP=1", "-A", "-t", "-F", "\t", "-c", sql),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise TopologyError(f"psql: {err.decode(errors='replace')}")
        return [line.split("\t") for line in out.decode().splitlines() if line]

    # --- stop --------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Workers and proxy, then the main process, then Redis and PostgreSQL; the cluster's
        directory removed."""
        services = self.services
        firsts = [s for n, s in services.items() if n in self.deployment.workers or n == "proxy"]
        await asyncio.gather(*(s.stop() for s in firsts))
        if MAIN in services:
            await services[MAIN].stop()
        rest = [services[n] for n in ("redis", "postgres") if n in services]
        # PostgreSQL's fast shutdown (SIGINT): connections closed, no waiting for them.
        await asyncio.gather(
            *(s.stop(signal.SIGINT if s.name == "postgres" else signal.SIGTERM) for s in rest)
        )
        if self._run is not None:
            shutil.rmtree(self._run, ignore_errors=True)
            self._run = None

    def log_tail(self, name: str = MAIN, lines: int = 30) -> str:
        return self.services[name].tail(lines) if name in self.services else "(not started)"
