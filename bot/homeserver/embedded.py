"""The embedded homeserver: a real Synapse child process on loopback with SQLite.

Secrets and the signing key are generated once and kept under ``<data-dir>/synapse``;
``homeserver.yaml`` is rewritten at each start from the Agora config so that a change of port
or of extra settings applies, while identity (keys, secrets, database) stays.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ipaddress
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID

from bot.config import Config, FederationListener
from bot.files import write_private
from bot.homeserver.module_protocol import EMBEDDED_SECRET as MODULE_SECRET

log = logging.getLogger(__name__)

SECRETS = ("registration_shared_secret", "macaroon_secret_key", "form_secret", MODULE_SECRET)


class EmbeddedHomeserverError(RuntimeError):
    """Synapse could not start, or stopped on its own."""


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class HomeserverDied(RuntimeError):
    pass


class EmbeddedSynapse:
    def __init__(
        self,
        data_dir: str | Path,
        server_name: str,
        port: int,
        host: str = "127.0.0.1",
        extra: Mapping[str, Any] | None = None,
        *,
        federation: FederationListener | None = None,
        peers: tuple[str, ...] = (),
        bot_user: str | None = None,
        bot_user_pattern: str | None = None,
    ):
        """``bot_user``: the bot Agora's Synapse module serves (``bot_user_pattern``: a
        regular expression of such bots, for tests that make many)."""
        self.bot_user = bot_user
        self.bot_user_pattern = bot_user_pattern
        self.federation = federation
        self.peers = peers  # servers this one federates with (federation_domain_whitelist)
        self.dir = Path(data_dir).resolve() / "synapse"
        self.server_name = server_name
        self.host = host
        self.port = port
        self.extra = dict(extra or {})
        self.process: asyncio.subprocess.Process | None = None
        self._stopping = False

    @classmethod
    def for_config(cls, config: Config, data_dir: Path) -> EmbeddedSynapse:
        """The homeserver ``homeserver:`` describes, federating with the allowed servers."""
        hs = config.homeserver
        return cls(
            data_dir,
            hs.server_name,
            hs.port,
            hs.host,
            hs.synapse,
            federation=hs.federation,
            peers=config.federation.allowed_servers,
            bot_user=config.bot_user_id,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.dir / "homeserver.yaml"

    @property
    def log_path(self) -> Path:
        return self.dir / "homeserver.log"

    # --- files ------------------------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """Made once each (one a newer Agora needs is added to an older data directory's)."""
        path = self.dir / "secrets.json"
        values = json.loads(path.read_text()) if path.exists() else {}
        missing = [name for name in SECRETS if name not in values]
        if missing:
            values |= {name: secrets.token_urlsafe(32) for name in missing}
            self.dir.mkdir(parents=True, exist_ok=True)
            write_private(path, json.dumps(values, indent=2))
        return values

    def _signing_key(self) -> Path:
        path = self.dir / "signing.key"
        if not path.exists():
            seed = Ed25519PrivateKey.generate().private_bytes(
                Encoding.Raw, PrivateFormat.Raw, NoEncryption()
            )
            key_id = "a_" + secrets.token_hex(2)
            encoded = base64.b64encode(seed).decode().rstrip("=")
            write_private(path, f"ed25519 {key_id} {encoded}\n")
        return path

    def homeserver_config(self) -> dict[str, Any]:
        s = self.secrets()
        base: dict[str, Any] = {
            "server_name": self.server_name,
            "pid_file": str(self.dir / "homeserver.pid"),
            "public_baseurl": self.url + "/",
            "listeners": self.homeserver_listeners(),
            "database": {"name": "sqlite3", "args": {"database": str(self.dir / "homeserver.db")}},
            "log_config": str(self.dir / "log.config"),
            "media_store_path": str(self.dir / "media_store"),
            "signing_key_path": str(self._signing_key()),
            "registration_shared_secret": s["registration_shared_secret"],
            "macaroon_secret_key": s["macaroon_secret_key"],
            "form_secret": s["form_secret"],
            "report_stats": False,
            # Accounts are made by the bot (shared secret) or by people holding a single-use
            # token the bot gives once their web request is approved (MSC3231).
            "enable_registration": True,
            "registration_requires_token": True,
            # Agora's module (agora_synapse): which account each token registered, and, behind
            # its secret, what the bot needs without being a server admin.
            "modules": [{"module": "agora_synapse.AgoraModule", "config": self.module_config()}],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "url_preview_enabled": False,
            "enable_metrics": False,
            "presence": {"enabled": False},
            # Federation with the peer regions only (none: this server alone).
            "federation_domain_whitelist": [self.server_name, *self.peers] if self.peers else [],
        }
        if self.federation is not None:
            base.update(self._federation_settings(self.federation))
        return deep_merge(base, self.extra)

    def module_config(self) -> dict[str, Any]:
        """Agora's module's config: its secret, and the bot it serves (none: its operations
        stay closed)."""
        config: dict[str, Any] = {}
        if self.bot_user or self.bot_user_pattern:
            config["secret"] = self.secrets()[MODULE_SECRET]
        if self.bot_user:
            config["bot_user"] = self.bot_user
        if self.bot_user_pattern:
            config["bot_user_pattern"] = self.bot_user_pattern
        return config

    def _federation_settings(self, fed: FederationListener) -> dict[str, Any]:
        """A TLS listener for the other regions' homeservers. Without a certificate given, a
        self-signed one is made once (peers must then not verify certificates: for local
        trials and tests, never between real regions)."""
        cert: str | Path | None = fed.certificate
        key: str | Path | None = fed.private_key
        if not cert or not key:
            cert, key = self._self_signed(fed.bind)
        settings: dict[str, Any] = {
            "listeners": [
                *self.homeserver_listeners(),
                {
                    "port": fed.port,
                    "bind_addresses": [fed.bind],
                    "type": "http",
                    "tls": True,
                    "x_forwarded": False,
                    "resources": [{"names": ["federation"], "compress": False}],
                },
            ],
            "tls_certificate_path": str(cert),
            "tls_private_key_path": str(key),
            "federation_verify_certificates": fed.verify_certificates,
        }
        if fed.allow_loopback:  # peers on this machine (local trials, tests)
            settings["ip_range_blacklist"] = []
            settings["federation_ip_range_blacklist"] = []
            settings["ip_range_whitelist"] = ["127.0.0.0/8", "::1/128"]
        return settings

    def homeserver_listeners(self) -> list[dict[str, Any]]:
        return [
            {
                "port": self.port,
                "bind_addresses": [self.host],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ]

    def _self_signed(self, bind: str) -> tuple[Path, Path]:
        cert_path, key_path = self.dir / "federation.crt", self.dir / "federation.key"
        if cert_path.exists() and key_path.exists():
            return cert_path, key_path
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.server_name)])
        now = datetime.datetime.now(datetime.UTC)
        alt: list[x509.GeneralName] = [x509.DNSName(self.server_name.rsplit(":", 1)[0])]
        with contextlib.suppress(ValueError):
            alt.append(x509.IPAddress(ipaddress.ip_address(bind)))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(key, hashes.SHA256())
        )
        write_private(
            key_path,
            key.private_bytes(
                Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()
            ).decode(),
        )
        write_private(cert_path, certificate.public_bytes(Encoding.PEM).decode())
        return cert_path, key_path

    def write_config(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "media_store").mkdir(exist_ok=True)
        log_config = {
            "version": 1,
            "formatters": {
                "precise": {
                    "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s"
                }
            },
            "handlers": {
                "file": {
                    "class": "logging.handlers.RotatingFileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "maxBytes": 10_000_000,
                    "backupCount": 3,
                    "encoding": "utf8",
                }
            },
            "loggers": {
                "synapse.storage.SQL": {"level": "WARNING"},
                "synapse.access": {"level": "WARNING"},
            },
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        (self.dir / "log.config").write_text(yaml.safe_dump(log_config))
        write_private(self.config_path, yaml.safe_dump(self.homeserver_config(), sort_keys=False))

    # --- process ----------------------------------------------------------------------------

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _orphans(self) -> list[int]:
        """Synapse processes of this data directory still running (left by a bot that was
        killed before it could stop them): the pids our files name, if they still run Synapse
        with our config."""
        found = []
        for name in ("synapse.pid", "homeserver.pid"):
            try:
                pid = int((self.dir / name).read_text().strip())
            except (OSError, ValueError):
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue  # gone (or not Linux: nothing to read)
            if str(self.config_path).encode() in cmdline and pid not in found:
                found.append(pid)
        return found

    async def stop_orphans(self, grace: float = 20.0) -> int:
        """Stop a homeserver a crashed bot left (SIGTERM, then SIGKILL after ``grace``), so
        that the new one can bind its ports. Returns how many were stopped."""
        orphans = self._orphans()
        found = len(orphans)
        for pid in orphans:
            log.warning("stopping Synapse pid %s left running by an earlier bot", pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while orphans and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            orphans = [p for p in orphans if Path(f"/proc/{p}").exists() and not _zombie(p)]
        for pid in orphans:
            log.warning("Synapse pid %s did not stop within %.0f s; killing it", pid, grace)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while orphans and time.monotonic() < deadline:  # its port is free once it is gone
            await asyncio.sleep(0.1)
            orphans = [p for p in orphans if Path(f"/proc/{p}").exists() and not _zombie(p)]
        return found

    async def _port_taken(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 2)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def start(self, timeout: float = 90.0) -> None:
        self.write_config()
        await self.stop_orphans()
        if await self._port_taken():
            raise EmbeddedHomeserverError(
                f"port {self.port} on {self.host} is in use by another program: stop it, or "
                "choose another homeserver.port"
            )
        stale_pid = self.dir / "homeserver.pid"
        stale_pid.unlink(missing_ok=True)
        stderr = open(self.dir / "stderr.log", "ab")
        # Its own session (our Ctrl-C is handled by us, then passed on cleanly), and yet our
        # child for good: it gets SIGTERM when the bot dies, however it dies.
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.homeserver.child",
            str(os.getpid()),
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "-c",
            str(self.config_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,
        )
        stderr.close()
        (self.dir / "synapse.pid").write_text(f"{self.process.pid}\n")  # for operators
        log.info(
            "starting Synapse (pid %s) for %s on %s", self.process.pid, self.server_name, self.url
        )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.returncode is not None:
                    raise EmbeddedHomeserverError(
                        f"Synapse exited during start-up (code {self.process.returncode}); "
                        f"see {self.log_path}:\n{self._diagnostics()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(
                        self.url + "/_matrix/client/versions",
                        timeout=aiohttp.ClientTimeout(total=2),
                    ) as resp:
                        if resp.status == 200:
                            break
                if time.monotonic() > deadline:
                    await self.stop()
                    raise EmbeddedHomeserverError(
                        f"Synapse did not answer on {self.url} within {timeout:.0f} s; "
                        f"see {self.log_path}"
                    )
                await asyncio.sleep(0.2)
        log.info("Synapse ready on %s", self.url)

    def _diagnostics(self) -> str:
        err = self.dir / "stderr.log"
        text = err.read_text(errors="replace")[-3000:] if err.exists() else ""
        return (text.strip() + "\n" + self.log_tail()).strip()

    async def wait_crashed(self) -> str:
        """Return (with a description) only if Synapse exits while we did not ask it to."""
        assert self.process is not None
        code = await self.process.wait()
        if self._stopping:
            await asyncio.Event().wait()  # a requested stop is not a crash: never return
        return f"Synapse stopped unexpectedly (exit code {code}):\n{self._diagnostics()}"

    async def watch(self) -> None:
        """A loop of the bot's: it ends (and the bot with it) if Synapse dies unasked."""
        reason = await self.wait_crashed()
        log.critical("%s", reason)
        raise HomeserverDied(reason)

    async def stop(self, grace: float = 20.0) -> None:
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        self._stopping = True
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            log.warning("Synapse did not stop within %.0f s; killing it", grace)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        (self.dir / "synapse.pid").unlink(missing_ok=True)
        log.info("Synapse stopped")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


_FAST = {"per_second": 1000, "burst_count": 1000}

# Rate limits raised for tests and benchmarks on loopback (never for a real deployment).
RELAXED_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _FAST,
    "rc_registration": _FAST,
    "rc_admin_redaction": _FAST,
    "rc_login": {"address": _FAST, "account": _FAST, "failed_attempts": _FAST},
    "rc_joins": {"local": _FAST, "remote": _FAST},
    "rc_joins_per_room": _FAST,
    "rc_invites": {"per_room": _FAST, "per_user": _FAST, "per_issuer": _FAST},
    "rc_key_requests": _FAST,
    "rc_room_creation": _FAST,
    "rc_profile": _FAST,
    "rc_3pid_validation": _FAST,
    "rc_presence": {"per_user": _FAST},
    "rc_delayed_event_mgmt": _FAST,
    "rc_reports": _FAST,
    "rc_user_directory": _FAST,
}
