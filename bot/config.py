"""Configuration: loaded once from YAML, validated into frozen typed objects.

Every error names the key path and what was expected, e.g.
``homeserver.url: expected an http(s) URL, got 'localhost'``.
Secrets may come from environment variables instead of the file (see ``ENV_*``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from bot.homeserver.embedded import FederationListener
from bot.territories.model import (
    ALIAS_RE,
    ID_RE,
    MAX_NAME,
    MAX_TOPIC,
    ROOM_ID_RE,
    ROOM_KINDS,
    FederationConfig,
    Network,
    RoomSpec,
    SharedRoomDecl,
    Territory,
)
from bot.territories.model import server_of as server_of_user
from bot.vetting.form import DEFAULT_PROFESSIONS
from bot.vetting.provisioning import ProvisioningConfig, Rule, rule_problems

ROOM_REF_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}(\.[a-z0-9][a-z0-9-]{0,47})?$")
ENV_ACCESS_TOKEN = "AGORA_ACCESS_TOKEN"
ENV_PASSWORD = "AGORA_BOT_PASSWORD"

LOCALES = ("fr", "en")
USER_ID_RE = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")
LOCALPART_RE = re.compile(r"^[a-z0-9._=\-/+]+$")
SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$")


class ConfigError(ValueError):
    """A configuration value is missing or wrong; ``str()`` names the key path."""

    def __init__(self, path: str, expected: str, got: Any = ...):
        self.path = path
        self.expected = expected
        msg = f"{path}: expected {expected}"
        if got is not ...:
            msg += f", got {got!r}"
        super().__init__(msg)


@dataclass(frozen=True)
class HomeserverConfig:
    embedded: bool
    url: str
    server_name: str
    access_token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    # Extra Synapse settings merged into the generated homeserver.yaml (embedded only).
    synapse: dict[str, Any] = field(default_factory=dict)
    # The address people's clients use (shown on the join status page); default: url.
    public_url: str = ""
    # Embedded only: the TLS listener other regions' homeservers reach (none: no federation).
    federation: FederationListener | None = None
    # How often one request is tried again (backing off) before the work that made it is
    # itself retried later (a job, a recorded event, the next sync).
    retries: int = 6

    @property
    def port(self) -> int:
        parsed = urlparse(self.url)
        return parsed.port or (443 if parsed.scheme == "https" else 80)

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"


@dataclass(frozen=True)
class BotConfig:
    localpart: str
    display_name: str
    device_name: str


@dataclass(frozen=True)
class WebConfig:
    host: str
    port: int
    # /healthz answers 503 when the last successful sync is older than this (the sync's
    # long poll waits half of it at most).
    healthy_sync_age: float
    # The address people reach the web server at (status links, the join form's links).
    public_url: str = ""
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks); the client
    # address of any other peer is the peer's own.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandsConfig:
    prefix: str


@dataclass(frozen=True)
class VettingConfig:
    approvals_required: int = 2
    one_rejection_rejects: bool = True
    # An animator's `!admit` of someone not yet vetted counts as one approval (off: it is
    # shown on the card, and the admins' approvals alone count).
    animator_endorsement_counts: bool = False
    provisioning: ProvisioningConfig = field(default_factory=ProvisioningConfig)
    # A web request whose email is not confirmed within this is forgotten.
    email_confirmation_expires: float = 48 * 3600.0


@dataclass(frozen=True)
class SecurityConfig:
    # privileged: admins', animators' and managers' commands and reactions count only from
    # devices cross-signed by their pinned identity, and only such devices of admins receive
    # the control room's keys. off: any device of theirs.
    verified_devices: str = "privileged"


@dataclass(frozen=True)
class JobsConfig:
    # Durable jobs (and recorded events) whose failure retrying may cure (the homeserver away,
    # 5xx, 429) are retried for as long as it takes, waiting at most this long between tries.
    max_backoff: float = 300.0
    # Other failures (a 4xx answer, a bug) give up after this many tries, and are reported.
    max_attempts: int = 8
    # Finished jobs and handled events are forgotten after this long (seconds).
    keep_done: float = 7 * 86400.0


@dataclass(frozen=True)
class PrivacyConfig:
    # Seconds the text of a handled command or direct message is kept (for an inquiry, say);
    # 0: only its id and outcome stay once it is handled.
    keep_command_text: float = 0.0


@dataclass(frozen=True)
class ModerationConfig:
    # A ban rule whose sweep would remove more people than this waits for an admin's !confirm.
    max_sweep: int = 10


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = ""  # the From address
    timeout: float = 30.0


@dataclass(frozen=True)
class FeedSpec:
    url: str
    territory: str
    rooms: tuple[str, ...] = ("announcements",)  # room kinds of the territory, or room keys
    every: float = 1800.0
    filter: str | None = None
    public: bool = False


@dataclass(frozen=True)
class NewsConfig:
    feeds: tuple[FeedSpec, ...] = ()
    first_posts: int = 3  # a new subscription posts at most the newest N entries
    fetch_timeout: float = 20.0
    max_feed_bytes: int = 1_000_000
    max_redirects: int = 3
    # Hosts a feed may be fetched from although they are not public (an intranet's feeds);
    # every other loopback, private, link-local or multicast address is refused.
    allowed_feed_hosts: tuple[str, ...] = ()
    parse_time_limit: float = 10.0  # seconds a worker may spend reading one feed
    max_backoff: float = 6 * 3600.0
    pace_per_second: float = 20.0  # posts per second across rooms, at most
    remind_after: float = 2 * 3600.0  # alerts: one reminder to who has not acknowledged
    hook_secrets: dict[str, str] = field(default_factory=dict, repr=False)  # news, alert
    hook_max_age: float = 300.0  # a signed request older (or newer) than this is refused


@dataclass(frozen=True)
class Config:
    homeserver: HomeserverConfig
    bot: BotConfig
    admins: tuple[str, ...]
    locale: str
    commands: CommandsConfig
    web: WebConfig
    network: Network = field(default_factory=Network)
    federation: FederationConfig = field(default_factory=FederationConfig)
    vetting: VettingConfig = field(default_factory=VettingConfig)
    news: NewsConfig = field(default_factory=NewsConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    moderation: ModerationConfig = field(default_factory=ModerationConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    # None: mails (email confirmations) are written as .eml files in the data directory.
    smtp: SmtpConfig | None = None
    source: Path | None = None

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot.localpart}:{self.homeserver.server_name}"


# --- small typed readers; each one knows its path -------------------------------------------


class _Section:
    """A mapping being read, with its key path, refusing unknown keys at the end."""

    def __init__(self, data: Any, path: str):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(path or "(top level)", "a mapping", data)
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: Any = ...) -> Any:
        self.seen.add(key)
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise ConfigError(self._p(key), "a value (the key is required)")
            return default
        return self.data[key]

    def str(
        self,
        key: str,
        default: Any = ...,
        pattern: re.Pattern[str] | None = None,
        what: str = "a string",
    ) -> Any:
        value = self.raw(key, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self._p(key), what, value)
        if pattern is not None and not pattern.match(value):
            raise ConfigError(self._p(key), what, value)
        return value

    def bool(self, key: str, default: Any = ...) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise ConfigError(self._p(key), "true or false", value)
        return value

    def int(self, key: str, default: Any = ..., lo: int = 0, hi: int = 2**31) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(self._p(key), f"a whole number from {lo} to {hi}", value)
        return value

    def number(self, key: str, default: Any = ..., lo: float = 0.0) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
            raise ConfigError(self._p(key), f"a number ≥ {lo}", value)
        return float(value)

    def choice(self, key: str, choices: tuple[str, ...], default: Any = ...) -> str:
        if default is ... and self.data.get(key) is None:
            raise ConfigError(self._p(key), "one of " + ", ".join(choices) + " (required)")
        value = self.raw(key, default)
        if value not in choices:
            raise ConfigError(self._p(key), "one of " + ", ".join(choices), value)
        return value

    def section(self, key: str) -> _Section:
        return _Section(self.raw(key, {}), self._p(key))

    def done(self, known_elsewhere: tuple[str, ...] = ()) -> None:
        unknown = set(self.data) - self.seen - set(known_elsewhere)
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(self._p(key), "no such key (unknown setting; check its spelling)")


def _url(section: _Section, key: str, default: Any = ...) -> str:
    value = section.str(key, default, what="an http(s) URL")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(section._p(key), "an http(s) URL such as http://127.0.0.1:8008", value)
    return value.rstrip("/")


def parse_config(
    data: Any, source: Path | None = None, env: dict[str, str] | None = None
) -> Config:
    env = dict(os.environ) if env is None else env
    top = _Section(data, "")

    hs = top.section("homeserver")
    embedded = hs.bool("embedded", True)
    url = _url(hs, "url", "http://127.0.0.1:8008")
    server_name = hs.str(
        "server_name",
        pattern=SERVER_NAME_RE,
        what="a server name such as example.org or localhost:8008",
    )
    synapse_extra = hs.raw("synapse", {})
    if not isinstance(synapse_extra, dict):
        raise ConfigError(hs._p("synapse"), "a mapping of Synapse settings", synapse_extra)
    access_token = env.get(ENV_ACCESS_TOKEN) or hs.str("access_token", None)
    password = env.get(ENV_PASSWORD) or hs.str("password", None)
    password_file = hs.str("password_file", None)
    if password_file and not password:
        try:
            password = Path(password_file).expanduser().read_text().strip() or None
        except OSError as exc:
            raise ConfigError(hs._p("password_file"), "a readable file", password_file) from exc
    if embedded:
        host = urlparse(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(
                hs._p("url"),
                "a loopback URL (http://127.0.0.1:PORT) when homeserver.embedded is true",
                url,
            )
    elif not access_token and not password:
        raise ConfigError(
            hs._p("access_token"),
            f"an access token or homeserver.password (or the {ENV_ACCESS_TOKEN} "
            f"/ {ENV_PASSWORD} environment variables) when homeserver.embedded "
            "is false",
        )
    public_url = _url(hs, "public_url", url)
    retries = hs.int("retries", 6, 0, 20)
    listener = None
    if hs.data.get("federation") is not None:
        f = hs.section("federation")
        listener = FederationListener(
            port=f.int("port", lo=1, hi=65535),
            bind=f.str("bind", "127.0.0.1"),
            certificate=f.str("certificate", None),
            private_key=f.str("private_key", None),
            verify_certificates=f.bool("verify_certificates", True),
            allow_loopback=f.bool("allow_loopback", False),
        )
        f.done()
        if not embedded:
            raise ConfigError(f.path, "nothing when homeserver.embedded is false")
    hs.done()
    homeserver = HomeserverConfig(
        federation=listener,
        public_url=public_url,
        embedded=embedded,
        url=url,
        server_name=server_name,
        access_token=access_token,
        password=password,
        synapse=dict(synapse_extra),
        retries=retries,
    )

    b = top.section("bot")
    bot = BotConfig(
        localpart=b.str(
            "localpart",
            "agora",
            pattern=LOCALPART_RE,
            what="a Matrix localpart (lower-case letters, digits, ._=-/+)",
        ),
        display_name=b.str("display_name", "Agora"),
        device_name=b.str("device_name", "Agora bot"),
    )
    b.done()

    admins_raw = top.raw("admins", [])
    if not isinstance(admins_raw, list):
        raise ConfigError("admins", "a list of Matrix user ids", admins_raw)
    admins: list[str] = []
    for i, admin in enumerate(admins_raw):
        if not isinstance(admin, str) or not USER_ID_RE.match(admin):
            raise ConfigError(f"admins[{i}]", "a Matrix user id such as @alice:example.org", admin)
        if admin not in admins:
            admins.append(admin)

    locale = top.choice("locale", LOCALES, "fr")

    c = top.section("commands")
    prefix = c.str("prefix", "!")
    if len(prefix) > 3 or any(ch.isspace() or ch.isalnum() for ch in prefix):
        raise ConfigError("commands.prefix", "1 to 3 punctuation characters such as !", prefix)
    c.done()

    w = top.section("web")
    web = WebConfig(
        host=w.str("host", "127.0.0.1"),
        port=w.int("port", 8080, 0, 65535),
        healthy_sync_age=w.number("healthy_sync_age", 30.0, lo=2.0),
        public_url="",
        trusted_proxies=_proxies(w),
    )
    web = dataclasses.replace(
        web, public_url=_url(w, "public_url", f"http://{web.host}:{web.port}")
    )
    w.done()

    network = _network(top.section("network"))
    federation = _federation(top.section("federation"), server_name)
    _check_sharing(network, federation, server_name)

    v = top.section("vetting")
    explicit_quorum = v.data.get("approvals_required") is not None
    # The default quorum is 2, or fewer when there are fewer admins (a quorum above the number
    # of admins could never be reached); an explicit value is taken as asked, and checked.
    vetting = VettingConfig(
        approvals_required=v.int("approvals_required", min(2, max(1, len(admins))), 1, 20),
        one_rejection_rejects=v.bool("one_rejection_rejects", True),
        animator_endorsement_counts=v.bool("animator_endorsement_counts", False),
        provisioning=_provisioning(v.section("provisioning"), network),
        email_confirmation_expires=_duration(v, "email_confirmation_expires", 48 * 3600.0),
    )
    v.done(known_elsewhere=("professions",))

    news = _news(top, network, env)
    sec = top.section("security")
    security = SecurityConfig(
        verified_devices=sec.choice("verified_devices", ("privileged", "off"), "privileged")
    )
    sec.done()
    mod = top.section("moderation")
    moderation = ModerationConfig(max_sweep=mod.int("max_sweep", 10, 0, 100_000))
    mod.done()
    j = top.section("jobs")
    jobs = JobsConfig(
        max_backoff=_duration(j, "max_backoff", 300.0),
        max_attempts=j.int("max_attempts", 8, 1, 1000),
        keep_done=_duration(j, "keep_done", 7 * 86400.0),
    )
    j.done()
    pv = top.section("privacy")
    keep_text = pv.raw("keep_command_text", 0)
    privacy = PrivacyConfig(
        keep_command_text=0.0 if keep_text in (0, "0") else _duration(pv, "keep_command_text", 0)
    )
    pv.done()
    smtp = _smtp(top, env)
    top.done()

    cfg = Config(
        homeserver=homeserver,
        bot=bot,
        admins=tuple(admins),
        locale=locale,
        commands=CommandsConfig(prefix=prefix),
        web=web,
        network=network,
        federation=federation,
        vetting=vetting,
        news=news,
        security=security,
        moderation=moderation,
        jobs=jobs,
        privacy=privacy,
        smtp=smtp,
        source=source,
    )
    if explicit_quorum and vetting.approvals_required > max(1, len(cfg.admins)):
        raise ConfigError(
            "vetting.approvals_required",
            f"at most the number of admins ({len(cfg.admins)})",
            vetting.approvals_required,
        )
    if cfg.bot_user_id in cfg.admins:
        raise ConfigError("admins", "people, not the bot itself", cfg.bot_user_id)
    return cfg


def _list(section: _Section, key: str) -> list[tuple[Any, str]]:
    value = section.raw(key, [])
    if not isinstance(value, list):
        raise ConfigError(section._p(key), "a list", value)
    return [(item, f"{section._p(key)}[{i}]") for i, item in enumerate(value)]


def _user_list(section: _Section, key: str) -> tuple[str, ...]:
    out = []
    for item, path in _list(section, key):
        if not isinstance(item, str) or not USER_ID_RE.match(item):
            raise ConfigError(path, "a Matrix user id such as @alice:example.org", item)
        out.append(item)
    return tuple(dict.fromkeys(out))


def _text(section: _Section, key: str, limit: int, default: Any = ...) -> Any:
    value = section.str(key, default)
    if isinstance(value, str) and (
        len(value) > limit or any(ord(c) < 32 for c in value if c not in "\n\t")
    ):
        raise ConfigError(
            section._p(key), f"at most {limit} characters, no control characters", value[:40] + "…"
        )
    return value


def _servers(section: _Section, key: str, inherited: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A list of server names, after those inherited from the territory above."""
    out = list(inherited)
    for item, path in _list(section, key):
        if not isinstance(item, str) or not SERVER_NAME_RE.match(item):
            raise ConfigError(path, "a server name such as matrix.ars-occitanie.example", item)
        out.append(item)
    return tuple(dict.fromkeys(out))


def _room(data: Any, path: str, territory_id: str, shared: tuple[str, ...] = ()) -> RoomSpec:
    r = _Section(data, path)
    room_id = r.str("id", pattern=ID_RE, what="an id of lower-case letters, digits and -")
    kind = r.choice("kind", ROOM_KINDS)
    visibility = None
    if kind == "group":
        visibility = r.choice("visibility", ("open", "private"))
    manager = None
    if kind == "managerial":
        manager = r.str("manager", pattern=USER_ID_RE, what="the manager's Matrix user id")
    adopt_room = r.str("room", None, pattern=ROOM_ID_RE, what="a room id such as !abc:server")
    adopt_alias = r.str("alias", None, pattern=ALIAS_RE, what="a room alias such as #x:server")
    if adopt_room and adopt_alias:
        raise ConfigError(r._p("alias"), "either room or alias to adopt, not both")
    spec = RoomSpec(
        id=room_id,
        name=_text(r, "name", MAX_NAME),
        kind=kind,
        topic=_text(r, "topic", MAX_TOPIC, ""),
        visibility=visibility,
        manager=manager,
        adopt_room=adopt_room,
        adopt_alias=adopt_alias,
        shared_with=_servers(r, "shared_with", shared),
    )
    r.done()
    return spec


def _territory(data: Any, path: str, seen: set[str], inherited: tuple[str, ...] = ()) -> Territory:
    t = _Section(data, path)
    tid = t.str("id", pattern=ID_RE, what="an id of lower-case letters, digits and -")
    if tid in seen:
        raise ConfigError(t._p("id"), "an id used by no other territory", tid)
    seen.add(tid)
    shared = _servers(t, "shared_with", inherited)
    rooms = []
    room_ids: set[str] = set()
    for item, rpath in _list(t, "rooms"):
        room = _room(item, rpath, tid, shared)
        if room.id in room_ids:
            raise ConfigError(
                f"{rpath}.id", "an id used by no other room of this territory", room.id
            )
        room_ids.add(room.id)
        rooms.append(room)
    children = tuple(
        _territory(item, cpath, seen, shared) for item, cpath in _list(t, "territories")
    )
    territory = Territory(
        shared_with=shared,
        id=tid,
        name=_text(t, "name", MAX_NAME),
        topic=_text(t, "topic", MAX_TOPIC, ""),
        animators=_user_list(t, "animators"),
        rooms=tuple(rooms),
        territories=children,
    )
    t.done()
    return territory


def _network(section: _Section) -> Network:
    seen: set[str] = set()
    territories = tuple(
        _territory(item, path, seen) for item, path in _list(section, "territories")
    )
    section.done()
    return Network(territories)


def _str_list(section: _Section, key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    out = []
    for item, path in _list(section, key):
        if not isinstance(item, str) or not pattern.match(item):
            raise ConfigError(path, what, item)
        out.append(item)
    return tuple(dict.fromkeys(out))


def _provisioning(section: _Section, network: Network) -> ProvisioningConfig:
    force_join = section.bool("force_join", False)
    rules = []
    for item, path in _list(section, "rules"):
        r = _Section(item, path)
        rooms = _str_list(r, "rooms", ROOM_REF_RE, "a room kind or a room key (territory.room)")
        if not rooms:
            raise ConfigError(r._p("rooms"), "at least one room kind or room key")
        rules.append(
            Rule(
                rooms=rooms,
                professions=_str_list(r, "professions", ID_RE, "a profession id"),
                territories=_str_list(r, "territories", ID_RE, "a territory id"),
                users=_user_list(r, "users"),
            )
        )
        r.done()
    section.done()
    config = (
        ProvisioningConfig(force_join=force_join, rules=tuple(rules))
        if section.data.get("rules") is not None
        else ProvisioningConfig(force_join=force_join)
    )
    problems = rule_problems(config.rules, network, {p.id for p in DEFAULT_PROFESSIONS}, ROOM_KINDS)
    if problems:
        where, expected, value = problems[0]
        raise ConfigError(section._p("rules") + where, expected, value)
    return config


def _duration(section: _Section, key: str, default: float) -> float:
    from bot.durations import parse_duration

    value = section.raw(key, default)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    try:
        return parse_duration(str(value))
    except ValueError:
        raise ConfigError(section._p(key), "a duration such as 90s, 15m, 2h or 1d", value) from None


def _news(top: _Section, network: Network, env: dict[str, str]) -> NewsConfig:
    n = top.section("news")
    a = top.section("alerts")
    h = top.section("hooks")
    known = {t.id: t for t, _ in network.walk()}
    feeds = []
    for item, path in _list(top, "feeds"):
        f = _Section(item, path)
        url = _url(f, "url")
        territory = f.str("territory", pattern=ID_RE, what="a territory id")
        if territory not in known:
            raise ConfigError(f._p("territory"), "a declared territory id", territory)
        rooms = _str_list(f, "rooms", ROOM_REF_RE, "a room kind or a room key") or (
            "announcements",
        )
        for j, ref in enumerate(rooms):
            if "." in ref:
                tid, _, rid = ref.partition(".")
                if tid not in known or rid not in {r.id for r in known[tid].rooms}:
                    raise ConfigError(f"{f._p('rooms')}[{j}]", "a declared room key", ref)
            elif ref not in ROOM_KINDS:
                raise ConfigError(f"{f._p('rooms')}[{j}]", "a room kind or key", ref)
        keyword = f.str("filter", None)
        feeds.append(
            FeedSpec(
                url=url,
                territory=territory,
                rooms=rooms,
                every=max(60.0, _duration(f, "every", 1800.0)),
                filter=keyword,
                public=f.bool("public", False),
            )
        )
        f.done()
    secrets_: dict[str, str] = {}
    for name in ("news", "alert"):
        s = h.section(name)
        secret = env.get(s.str("secret_env", "")) if s.data.get("secret_env") else None
        secret = secret or s.str("secret", None)
        if s.data and not secret:
            raise ConfigError(
                s._p("secret"), "a secret of at least 32 characters (or secret_env naming one)"
            )
        if secret:
            if len(secret) < 32:
                raise ConfigError(s._p("secret"), "at least 32 characters", "…")
            secrets_[name] = secret
        s.done()
    config = NewsConfig(
        feeds=tuple(feeds),
        first_posts=n.int("first_posts", 3, 0, 50),
        fetch_timeout=_duration(n, "fetch_timeout", 20.0),
        max_feed_bytes=n.int("max_feed_bytes", 1_000_000, 10_000, 50_000_000),
        max_redirects=n.int("max_redirects", 3, 0, 10),
        allowed_feed_hosts=_hosts(n, "allowed_feed_hosts"),
        parse_time_limit=_duration(n, "parse_time_limit", 10.0),
        max_backoff=_duration(n, "max_backoff", 6 * 3600.0),
        pace_per_second=n.number("pace_per_second", 20.0, lo=0.1),
        remind_after=_duration(a, "remind_after", 2 * 3600.0),
        hook_secrets=secrets_,
        hook_max_age=_duration(h, "max_age", 300.0),
    )
    n.done()
    a.done()
    h.done()
    return config


EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _smtp(top: _Section, env: dict[str, str]) -> SmtpConfig | None:
    if top.data.get("smtp") is None:
        top.seen.add("smtp")
        return None
    m = top.section("smtp")
    security = m.choice("security", ("starttls", "tls", "none"), "starttls")
    password = env.get(m.str("password_env", "")) if m.data.get("password_env") else None
    config = SmtpConfig(
        host=m.str("host", what="the mail server's host name"),
        port=m.int("port", 465 if security == "tls" else 587, 1, 65535),
        security=security,
        username=m.str("username", None),
        password=password or m.str("password", None),
        sender=m.str("from", pattern=EMAIL_RE, what="the From address, such as agora@ars.example"),
        timeout=_duration(m, "timeout", 30.0),
    )
    if m.data.get("password_env") and not password:
        raise ConfigError(m._p("password_env"), "the name of a set environment variable")
    m.done()
    return config


def _federation(section: _Section, server_name: str) -> FederationConfig:
    servers = _servers(section, "allowed_servers")
    trusted = []
    for item, path in _list(section, "trusted_policy_rooms"):
        if not isinstance(item, str) or not (ROOM_ID_RE.match(item) or ALIAS_RE.match(item)):
            raise ConfigError(path, "a room id (!x:server) or alias (#x:server)", item)
        trusted.append(item)
    peers = _user_list(section, "peer_bots")
    shared = []
    for item, path in _list(section, "shared_rooms"):
        s = _Section(item, path)
        shared.append(
            SharedRoomDecl(
                room=s.str(
                    "room",
                    pattern=re.compile(f"{ALIAS_RE.pattern}|{ROOM_ID_RE.pattern}"),
                    what="the shared room's alias (#x:server) or id (!x:server)",
                ),
                professions=_str_list(s, "professions", ID_RE, "a profession id"),
                territories=_str_list(s, "territories", ID_RE, "a territory id"),
                users=_user_list(s, "users"),
            )
        )
        s.done()
    section.done()
    for i, ref in enumerate(trusted):
        # A list's rules count only when its region's bot set them: that bot must be known.
        server = ref.split(":", 1)[1] if ":" in ref else ""
        known = any(server_of_user(b) == server for b in peers) if server else len(peers) == 1
        if not known:
            raise ConfigError(
                f"federation.trusted_policy_rooms[{i}]",
                f"a list whose region's bot (of {server})"
                if server
                else "a list named by its "
                "alias (#x:server) when several peer bots are listed, or one peer bot"
                + (" is in federation.peer_bots (only that bot's rules count)" if server else ""),
                ref,
            )
    return FederationConfig(
        allowed_servers=servers,
        trusted_policy_rooms=tuple(dict.fromkeys(trusted)),
        peer_bots=peers,
        shared_rooms=tuple(shared),
    )


def _check_sharing(network: Network, federation: FederationConfig, own: str) -> None:
    """Every server a room is shared with is an allowed peer with a known bot (the owning bot
    invites it); shared rooms' declarations name real professions and territories."""
    professions = {p.id for p in DEFAULT_PROFESSIONS}

    def check(servers: tuple[str, ...], path: str) -> None:
        for server in servers:
            if server == own:
                raise ConfigError(path, "peer servers (not this region's own)", server)
            if server not in federation.allowed_servers:
                raise ConfigError(path, "servers listed in federation.allowed_servers", server)
            if federation.peer_bot_for(server) is None:
                raise ConfigError(path, f"a bot of {server} listed in federation.peer_bots", server)

    def visit(t: Territory, path: str) -> None:
        check(t.shared_with, f"{path}.shared_with")
        for j, room in enumerate(t.rooms):
            check(room.shared_with, f"{path}.rooms[{j}].shared_with")
        for j, child in enumerate(t.territories):
            visit(child, f"{path}.territories[{j}]")

    for i, top in enumerate(network.territories):
        visit(top, f"network.territories[{i}]")
    known = {t.id for t, _ in network.walk()}
    for i, decl in enumerate(federation.shared_rooms):
        for j, p in enumerate(decl.professions):
            if p not in professions:
                raise ConfigError(
                    f"federation.shared_rooms[{i}].professions[{j}]",
                    "one of " + ", ".join(sorted(professions)),
                    p,
                )
        for j, tid in enumerate(decl.territories):
            if tid not in known:
                raise ConfigError(
                    f"federation.shared_rooms[{i}].territories[{j}]", "a declared territory id", tid
                )


def _proxies(section: _Section) -> tuple[str, ...]:
    value = section.raw("trusted_proxies", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(section._p("trusted_proxies"), "a list of addresses or networks", value)
    try:
        for v in value:
            ipaddress.ip_network(v.strip(), strict=False)
    except ValueError as exc:
        raise ConfigError(
            section._p("trusted_proxies"),
            "addresses or networks such as 127.0.0.1, 10.0.0.0/8",
            value,
        ) from exc
    return tuple(value)


def _hosts(section: _Section, key: str) -> tuple[str, ...]:
    value = section.raw(key, [])
    if not isinstance(value, list) or not all(
        isinstance(h, str) and h and "/" not in h and " " not in h for h in value
    ):
        raise ConfigError(section._p(key), "a list of host names or addresses", value)
    return tuple(h.lower().strip("[]") for h in value)


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"a readable file ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), f"valid YAML{where}") from exc
    return parse_config(data, source=path, env=env)
