"""``agora-bot doctor``: what the homeserver offers that Agora needs, checked from outside the
bot, and what to fix, in the operator's language (``locale``). Exit 1 if something must be
fixed, 0 otherwise (warnings included).

Checked, in order (a check that needs what an earlier one lacked is skipped):
the homeserver answers (its Matrix versions, and Synapse's version); which privileges the bot
runs with (``homeserver.privileges``: Agora's Synapse module, or the admin API, a warning);
the bot logs in (its saved session, its token, or its password: a device made for the check is
logged out after it); it is a server admin in admin mode, and is not one in module mode (a
warning: an older bot made as one keeps working); Agora's Synapse module answers, and in module
mode answers the bot's secret and serves this bot; registration takes tokens only; the bot is
exempt from rate limits; the peer regions' bots are reachable over federation; the
certificates of the https addresses (and of the embedded federation listener) are valid and
not about to expire.

Read-only: nothing is changed on the homeserver (but the check's own device, removed again).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp

from bot.config import Config, ConfigError
from bot.homeserver.module_protocol import (
    API_PATH,
    MODULE_NAME,
    PROBE_PATH,
    REGISTRATION_TOKEN,
    SECRET_HEADER,
)
from bot.homeserver.privileges import describe, embedded_module_secret
from bot.i18n import t
from bot.matrix.gateway import path_part
from bot.matrix.login import saved_session

OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "✅", WARN: "⚠️ ", FAIL: "❌"}
MIN_SYNAPSE = (1, 120)  # the oldest Synapse the tests run against (pyproject's embedded extra)
MIN_MATRIX = (1, 2)  # registration tokens (MSC3231) are stable from v1.2
SOON = 21  # days: a certificate expiring sooner is a warning
TIMEOUT = 15.0
DOCTOR_DEVICE = "AGORA_DOCTOR"


@dataclass
class Finding:
    level: str
    text: str
    fix: str = ""


class Unreachable(Exception):
    """No HTTP answer at all (connection refused, DNS, TLS, timeout)."""


class Checkup:
    def __init__(self, config: Config, data_dir: Path, http: aiohttp.ClientSession):
        self.config = config
        self.data_dir = data_dir
        self.http = http
        self.url = config.homeserver.url
        self.user = config.bot_user_id
        self.loc = config.locale
        self.findings: list[Finding] = []
        self.token: str | None = None
        self.own_device = False  # logged in for the check: logged out after it
        self.module_mode = config.homeserver.privileges == "module"
        self.module_status: dict[str, Any] | None = None  # what the module said of the bot

    def ok(self, text: str) -> None:
        self.findings.append(Finding(OK, text))

    def warn(self, text: str, fix: str = "") -> None:
        self.findings.append(Finding(WARN, text, fix))

    def fail(self, text: str, fix: str = "") -> None:
        self.findings.append(Finding(FAIL, text, fix))

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        base: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON body or {}) of one request, with the bot's token when there is one."""
        headers = ({"Authorization": f"Bearer {self.token}"} if self.token else {}) | (
            headers or {}
        )
        try:
            async with self.http.request(
                method,
                (base or self.url) + path,
                json=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT),
            ) as resp:
                try:
                    data = await resp.json(content_type=None)
                except (json.JSONDecodeError, UnicodeDecodeError, aiohttp.ContentTypeError):
                    data = {}
                return resp.status, data if isinstance(data, dict) else {}
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Unreachable(str(exc) or type(exc).__name__) from None

    # --- the checks -------------------------------------------------------------------------

    async def run(self) -> None:
        if not await self.reachable():
            return
        self.privileges()
        if await self.log_in():
            try:
                admin = await self.admin()
                await self.module()
                await self.registration()
                await self.rate_limits(admin)
                await self.federation()
            finally:
                await self.log_out()
        else:
            await self.module()
            await self.registration()
        await self.certificates()

    async def reachable(self) -> bool:
        loc = self.loc
        try:
            status, data = await self.call("GET", "/_matrix/client/versions")
        except Unreachable as exc:
            fix = (
                t("doctor.reachable.fix_embedded", loc)
                if self.config.homeserver.embedded
                else t("doctor.reachable.fix", loc)
            )
            self.fail(t("doctor.reachable.fail", loc, url=self.url, error=exc), fix)
            return False
        versions = [v for v in data.get("versions", []) if isinstance(v, str)]
        if status != 200 or not versions:
            self.fail(
                t("doctor.reachable.fail", loc, url=self.url, error=f"HTTP {status}"),
                t("doctor.reachable.fix", loc),
            )
            return False
        spoken = sorted(_version(v) for v in versions if v.startswith("v1."))
        newest = ".".join(map(str, spoken[-1])) if spoken else versions[-1]
        try:
            status, data = await self.call("GET", "/_synapse/admin/v1/server_version")
        except Unreachable:
            status, data = 0, {}
        software = str(data.get("server_version", "")).split(" ")[0]
        if status != 200 or not software:
            self.fail(
                t("doctor.software.not_synapse", loc, url=self.url),
                t("doctor.software.fix", loc),
            )
        elif _version(software) < MIN_SYNAPSE:
            minimum = ".".join(map(str, MIN_SYNAPSE))
            self.fail(
                t("doctor.software.old", loc, version=software, minimum=minimum),
                t("doctor.software.upgrade", loc),
            )
        if not spoken or spoken[-1] < MIN_MATRIX:
            self.fail(
                t("doctor.versions.old", loc, versions=", ".join(versions)),
                t("doctor.software.upgrade", loc),
            )
        else:
            self.ok(t("doctor.reachable.ok", loc, software=f"Synapse {software}", matrix=newest))
        return True

    def privileges(self) -> None:
        """Which privileges the bot runs with: admin ones are a warning."""
        if self.module_mode:
            self.ok(describe(self.config))
        else:
            self.warn(describe(self.config), t("doctor.privileges.admin_fix", self.loc))

    async def log_in(self) -> bool:
        loc, hs = self.loc, self.config.homeserver
        session_path = self.data_dir / "bot-session.json"
        session = saved_session(session_path)
        password = hs.password
        if password is None and hs.embedded:
            with_file = self.data_dir / "synapse" / "bot-password"
            password = with_file.read_text().strip() if with_file.exists() else None
        if session is not None:
            self.token, how = session.access_token, t("doctor.login.how.session", loc)
        elif hs.access_token:
            self.token, how = hs.access_token, t("doctor.login.how.token", loc)
        elif password:
            how = t("doctor.login.how.password", loc)
            status, data = await self.call(
                "POST",
                "/_matrix/client/v3/login",
                {
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": self.user},
                    "password": password,
                    "device_id": DOCTOR_DEVICE,
                    "initial_device_display_name": "Agora doctor",
                },
            )
            if status != 200 or "access_token" not in data:
                self.fail(
                    t("doctor.login.refused", loc, how=how, error=_error(status, data)),
                    t("doctor.login.fix", loc, path=session_path),
                )
                return False
            self.token, self.own_device = data["access_token"], True
        else:
            self.fail(
                t("doctor.login.none", loc, path=session_path), t("doctor.login.none_fix", loc)
            )
            return False
        status, data = await self.call("GET", "/_matrix/client/v3/account/whoami")
        if status != 200:
            self.token = None
            self.fail(
                t("doctor.login.refused", loc, how=how, error=_error(status, data)),
                t("doctor.login.fix", loc, path=session_path),
            )
            return False
        found = data.get("user_id")
        if found != self.user:
            self.fail(
                t("doctor.login.other_user", loc, found=found, user=self.user),
                t("doctor.login.other_user_fix", loc),
            )
            return False
        self.ok(t("doctor.login.ok", loc, user=found, how=how, device=data.get("device_id", "?")))
        return True

    async def log_out(self) -> None:
        if self.own_device:
            try:
                await self.call("POST", "/_matrix/client/v3/logout", {})
            except Unreachable:
                pass
        self.token = None

    async def admin(self) -> bool:
        """Whether the bot is a server admin: needed in admin mode, needless (a warning) in
        module mode, where the admin API refuses a bot that is not one."""
        loc = self.loc
        status, data = await self.call(
            "GET", f"/_synapse/admin/v1/users/{path_part(self.user)}/admin"
        )
        admin = status == 200 and data.get("admin") is True
        if self.module_mode:
            if admin:
                self.warn(
                    t("doctor.admin.needless", loc),
                    t(
                        "doctor.admin.needless_fix",
                        loc,
                        url=self.url,
                        user=path_part(self.user),
                        body='{"admin": false}',
                    ),
                )
            else:
                self.ok(t("doctor.admin.not_admin", loc))
            return admin
        if admin:
            self.ok(t("doctor.admin.ok", loc))
            return True
        self.fail(
            t("doctor.admin.no", loc),
            t(
                "doctor.admin.fix",
                loc,
                url=self.url,
                user=path_part(self.user),
                body='{"admin": true}',
            ),
        )
        return False

    async def module(self) -> None:
        """The module is loaded (its probe answers); in module mode, it takes the bot's secret
        and serves this bot."""
        loc = self.loc
        try:
            status, data = await self.call("GET", PROBE_PATH)
        except Unreachable:
            status, data = 0, {}
        if status != 200 or data.get("module") != MODULE_NAME:
            self.fail(t("doctor.module.no", loc, path=PROBE_PATH), t("doctor.module.fix", loc))
            return
        if not self.module_mode:
            self.ok(t("doctor.module.ok", loc))
            return
        try:
            secret = self.module_secret()
        except ConfigError as exc:
            self.fail(
                t("doctor.module.no_secret", loc, error=exc), t("doctor.module.no_secret_fix", loc)
            )
            return
        try:
            status, data = await self.call(
                "POST",
                f"{API_PATH}/status",
                {"bot": self.user},
                headers={SECRET_HEADER: secret},
            )
        except Unreachable as exc:
            status, data = 0, {"error": str(exc)}
        if status == 200 and data.get("bot") is True:
            self.module_status = data
            self.ok(t("doctor.module.secret_ok", loc, version=data.get("version", "?")))
        elif status == 200:
            self.fail(
                t("doctor.module.other_bot", loc, user=self.user),
                t("doctor.module.other_bot_fix", loc, user=self.user),
            )
        elif status == 401:
            self.fail(t("doctor.module.secret_refused", loc), t("doctor.module.secret_fix", loc))
        else:
            self.fail(
                t("doctor.module.old", loc, error=_error(status, data)),
                t("doctor.module.fix", loc),
            )

    def module_secret(self) -> str:
        """The secret the bot gives the module (an embedded homeserver's own, or the config's)."""
        hs = self.config.homeserver
        if hs.embedded:
            return embedded_module_secret(self.data_dir)
        assert hs.module_secret is not None, "the config requires it in module mode"
        return hs.module_secret

    async def registration(self) -> None:
        """An empty registration asks the homeserver which ways in it offers (nothing is
        registered: no step of any flow is completed)."""
        loc = self.loc
        token, self.token = self.token, None  # as an applicant asks, without the bot's token
        try:
            status, data = await self.call("POST", "/_matrix/client/v3/register", {})
        finally:
            self.token = token
        flows = [f.get("stages", []) for f in data.get("flows", []) if isinstance(f, dict)]
        if status == 401 and flows and all(REGISTRATION_TOKEN in stages for stages in flows):
            self.ok(t("doctor.registration.ok", loc))
        elif status == 401 and flows:
            self.fail(t("doctor.registration.open", loc), t("doctor.registration.open_fix", loc))
        else:
            self.fail(
                t("doctor.registration.closed", loc, error=_error(status, data)),
                t("doctor.registration.closed_fix", loc),
            )

    async def rate_limits(self, admin: bool) -> None:
        loc = self.loc
        if self.module_mode:
            if self.module_status is None:
                self.warn(t("doctor.ratelimit.unknown_module", loc))
            elif self.module_status.get("exempt") is True:
                self.ok(t("doctor.ratelimit.ok", loc))
            else:
                self.fail(t("doctor.ratelimit.no", loc), t("doctor.ratelimit.module_fix", loc))
            return
        if not admin:
            self.warn(t("doctor.ratelimit.unknown", loc))
            return
        status, data = await self.call(
            "GET", f"/_synapse/admin/v1/users/{path_part(self.user)}/override_ratelimit"
        )
        if status == 200 and data.get("messages_per_second") == 0 and data.get("burst_count") == 0:
            self.ok(t("doctor.ratelimit.ok", loc))
        else:
            self.fail(
                t("doctor.ratelimit.no", loc),
                t(
                    "doctor.ratelimit.fix",
                    loc,
                    url=self.url,
                    user=path_part(self.user),
                    body='{"messages_per_second": 0, "burst_count": 0}',
                ),
            )

    async def federation(self) -> None:
        """Each peer region's bot, looked up through this homeserver: it asks the peer's
        server over federation (a profile is not cached for a user no room is shared with)."""
        loc = self.loc
        listener = self.config.homeserver.federation
        if listener is not None and not listener.verify_certificates:
            self.warn(t("doctor.federation.unverified", loc), t("doctor.federation.verify", loc))
        for bot in self.config.federation.peer_bots:
            server = bot.split(":", 1)[1]
            try:
                status, data = await self.call(
                    "GET", f"/_matrix/client/v3/profile/{path_part(bot)}"
                )
            except Unreachable as exc:
                status, data = 0, {"error": str(exc)}
            if status == 200:
                self.ok(t("doctor.federation.ok", loc, server=server, bot=bot))
            elif status == 404 and data.get("errcode") == "M_NOT_FOUND":
                self.warn(
                    t("doctor.federation.no_bot", loc, server=server, bot=bot),
                    t("doctor.federation.no_bot_fix", loc),
                )
            else:
                self.fail(
                    t("doctor.federation.fail", loc, server=server, error=_error(status, data)),
                    t("doctor.federation.fix", loc, server=server),
                )

    async def certificates(self) -> None:
        loc, hs, now = self.loc, self.config.homeserver, datetime.datetime.now(datetime.UTC)
        seen: set[tuple[str, int]] = set()
        for url in (hs.url, hs.public_url, self.config.web.public_url):
            parsed = urlparse(url or "")
            if parsed.scheme != "https" or not parsed.hostname:
                continue
            place = (parsed.hostname, parsed.port or 443)
            if place in seen:
                continue
            seen.add(place)
            where = f"{place[0]}:{place[1]}"
            try:
                expires = await certificate_expiry(*place)
            except ssl.SSLCertVerificationError as exc:
                self.fail(
                    t("doctor.tls.invalid", loc, where=where, error=exc.verify_message or exc),
                    t("doctor.tls.invalid_fix", loc),
                )
                continue
            except (OSError, TimeoutError) as exc:
                error = str(exc) or type(exc).__name__
                self.warn(t("doctor.tls.unreachable", loc, where=where, error=error))
                continue
            self._expiry(where, expires, now)
        listener = hs.federation
        if hs.embedded and listener is not None and listener.certificate:
            self._certificate_file(Path(listener.certificate), now)

    def _certificate_file(self, path: Path, now: datetime.datetime) -> None:
        from cryptography import x509

        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as exc:
            self.fail(
                t("doctor.tls.invalid", self.loc, where=path, error=exc),
                t("doctor.tls.invalid_fix", self.loc),
            )
            return
        self._expiry(str(path), cert.not_valid_after_utc, now)

    def _expiry(self, where: str, expires: datetime.datetime, now: datetime.datetime) -> None:
        loc = self.loc
        days = (expires - now).days
        date = expires.strftime("%d/%m/%Y" if loc == "fr" else "%Y-%m-%d")
        if expires <= now:
            self.fail(
                t("doctor.tls.expired", loc, where=where, date=date),
                t("doctor.tls.renew", loc),
            )
        elif days < SOON:
            self.warn(
                t("doctor.tls.soon", loc, where=where, date=date, days=days),
                t("doctor.tls.renew", loc),
            )
        else:
            self.ok(t("doctor.tls.ok", loc, where=where, date=date, days=days))


async def certificate_expiry(
    host: str, port: int, *, cafile: str | None = None, timeout: float = TIMEOUT
) -> datetime.datetime:
    """When the certificate ``host:port`` presents expires, once verified as a client would
    (raises ``ssl.SSLCertVerificationError`` when it is not valid, ``OSError`` when nothing
    answers)."""
    context = ssl.create_default_context(cafile=cafile)
    _, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=context, server_hostname=host), timeout
    )
    try:
        cert = writer.get_extra_info("peercert")
    finally:
        writer.close()
    seconds = ssl.cert_time_to_seconds(cert["notAfter"])
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def _version(text: str) -> tuple[int, ...]:
    """``v1.12`` → (1, 12); ``1.163.2 (b=…)`` → (1, 163, 2)."""
    return tuple(int(n) for n in re.findall(r"\d+", text.split(" ")[0])[:3])


def _error(status: int, data: dict[str, Any]) -> str:
    """``HTTP 403 M_FORBIDDEN: Federation denied with x.`` (or what the connection said)."""
    if not status:
        return str(data.get("error"))
    code, said = data.get("errcode"), data.get("error")
    return (
        f"HTTP {status}" + (f" {code}" if code else "") + (f": {said.rstrip('.')}" if said else "")
    )


def report(checkup: Checkup) -> tuple[str, int]:
    """The findings as the operator reads them, and the exit code."""
    loc = checkup.loc
    lines = [t("doctor.title", loc, user=checkup.user, url=checkup.url)]
    for f in checkup.findings:
        lines.append(f"{MARKS[f.level]} {f.text}")
        if f.fix:
            lines.append(f"   → {f.fix}")
    failed = sum(f.level == FAIL for f in checkup.findings)
    warned = sum(f.level == WARN for f in checkup.findings)
    lines.append("")
    lines.append(t("doctor.result.fail", loc, n=failed) if failed else t("doctor.result.ok", loc))
    if warned:
        lines.append(t("doctor.result.warn", loc, n=warned))
    return "\n".join(lines), 1 if failed else 0


async def doctor(config: Config, data_dir: Path) -> int:
    async with aiohttp.ClientSession() as http:
        checkup = Checkup(config, data_dir, http)
        await checkup.run()
    text, code = report(checkup)
    print(text)
    sys.stdout.flush()
    return code
