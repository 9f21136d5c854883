"""Configuration: loaded once from YAML, validated into frozen typed objects.

Each setting is declared once, on its dataclass field: ``setting(default, doc, …)`` holds its
default, one line saying what it does, how it is checked, and whether a running bot applies a
change (``restart``). The parser derives reading, checks and the refusal of unknown keys from
these declarations; nested structures (the network, provisioning rules, federation, feeds, the
hooks' secrets) have dedicated readers, and cross-field rules are applied after reading.

Every error names the key path and what was expected, e.g.
``homeserver.url: expected an http(s) URL, got 'localhost'``.
Secrets may come from environment variables instead of the file (see ``ENV_*``).
"""

from __future__ import annotations

import builtins
import dataclasses
import ipaddress
import os
import re
import types
import typing
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

import holidays
import yaml

from bot.durations import parse_duration
from bot.territories.model import (
    ALIAS_RE,
    ID_RE,
    MAX_NAME,
    MAX_TOPIC,
    MAX_WELCOME,
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

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ROOM_REF_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}(\.[a-z0-9][a-z0-9-]{0,47})?$")
ENV_ACCESS_TOKEN = "AGORA_ACCESS_TOKEN"
ENV_PASSWORD = "AGORA_BOT_PASSWORD"
ENV_MODULE_SECRET = "AGORA_MODULE_SECRET"
PRIVILEGES = ("module", "admin")
# Where systemd's LoadCredential= puts the service's secrets: a relative *_file is read there.
ENV_CREDENTIALS = "CREDENTIALS_DIRECTORY"

LOCALES = ("fr", "en")
PROFESSION_IDS = tuple(p.id for p in DEFAULT_PROFESSIONS)
USER_ID_RE = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")
LOCALPART_RE = re.compile(r"^[a-z0-9._=\-/+]+$")
SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
CONTACT_RE = re.compile(r"^(?:[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+|https://[^\s<>\"]+)$")
# Characters neither alphanumeric nor spaces (\w is the alphanumerics and _).
PREFIX_RE = re.compile(r"^(?:[^\w\s]|_){1,3}\Z")

REQUIRED: Any = dataclasses.MISSING  # a setting without a default: its key must be given
T = TypeVar("T", bound="DataclassInstance")  # a settings class


class ConfigError(ValueError):
    """A configuration value is missing or wrong; ``str()`` names the key path."""

    def __init__(self, path: str, expected: str, got: Any = ...):
        self.path = path
        self.expected = expected
        msg = f"{path}: expected {expected}"
        if got is not ...:
            msg += f", got {got!r}"
        super().__init__(msg)


def setting(
    default: Any,
    doc: str,
    *,
    kind: str | None = None,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | None = None,
    pattern: re.Pattern[str] | None = None,
    what: str | None = None,
    key: str | None = None,
    restart: bool = False,
    secret: bool = False,
) -> Any:
    """A dataclass field that is a setting: its default (``REQUIRED``: none) and one line of
    documentation, then how it is read and checked.

    ``kind`` follows from the field's type (bool, int, float: a number, str, dict: a mapping, a
    dataclass: a section) unless given: ``duration``, ``url``, ``user_ids``, ``hosts``,
    ``networks``, ``subset`` (a list of some of ``choices``). ``lo``/``hi`` bound numbers,
    ``choices``/``pattern``/``what`` check strings, ``key`` is the YAML key when it is not the
    field's name. ``restart``: a running bot applies a change only when it starts again.
    ``secret``: kept out of ``repr`` (and so out of logs).
    """
    meta = {
        "doc": doc,
        "kind": kind,
        "lo": lo,
        "hi": hi,
        "choices": choices,
        "pattern": pattern,
        "what": what,
        "key": key,
        "restart": restart,
    }
    meta = {name: value for name, value in meta.items() if value is not None}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)


# --- the settings, section by section -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FederationListener:
    """The embedded homeserver's federation listener (TLS), for regions that federate."""

    port: int = setting(REQUIRED, "the port peer homeservers reach this one at", lo=1, hi=65535)
    bind: str = setting("127.0.0.1", "the address it listens on")
    certificate: str | None = setting(
        None, "PEM certificate chain; none: a self-signed one is made (local trials)"
    )
    private_key: str | None = setting(None, "the certificate's PEM private key")
    verify_certificates: bool = setting(
        True, "false only among local trials whose certificates are self-signed"
    )
    allow_loopback: bool = setting(
        False, "peers on 127.0.0.0/8, which Synapse refuses by default (local trials)"
    )


@dataclass(frozen=True, kw_only=True)
class HomeserverConfig:
    embedded: bool = setting(
        True, "start an embedded Synapse (true) or connect to an existing homeserver", restart=True
    )
    url: str = setting(
        "http://127.0.0.1:8008",
        "the client-server URL; embedded: a loopback one, whose port is Synapse's",
        kind="url",
        restart=True,
    )
    server_name: str = setting(
        REQUIRED,
        "the Matrix server name: user ids end with it",
        pattern=SERVER_NAME_RE,
        what="a server name such as example.org or localhost:8008",
        restart=True,
    )
    access_token: str | None = setting(
        None, f"embedded: false only; or {ENV_ACCESS_TOKEN}", restart=True, secret=True
    )
    password: str | None = setting(
        None, f"embedded: false only; or {ENV_PASSWORD}; to log in again", restart=True, secret=True
    )
    password_file: str | None = setting(
        None,
        "a file holding the password instead (relative: in $CREDENTIALS_DIRECTORY, systemd's "
        "LoadCredential=, else beside the config file)",
        restart=True,
    )
    access_token_file: str | None = setting(
        None, "a file holding the access token instead (relative: as password_file)", restart=True
    )
    privileges: str = setting(
        "module",
        "how the bot does what an ordinary user cannot (registration tokens, force-join, "
        "deactivation, its rate limits): module (Agora's Synapse module, behind a shared "
        "secret) or admin (Synapse's admin API: a server-admin bot, whose token could reset any "
        "password; deploy/README.md)",
        choices=PRIVILEGES,
        restart=True,
    )
    module_secret: str | None = setting(
        None,
        f"embedded: false, privileges: module: the module's shared secret (prefer "
        f"module_secret_file, or {ENV_MODULE_SECRET}); embedded: made and kept by Agora",
        restart=True,
        secret=True,
    )
    module_secret_file: str | None = setting(
        None,
        "a file holding the module's secret instead (relative: as password_file)",
        restart=True,
    )
    synapse: dict[str, Any] = setting(
        {},
        "extra Synapse settings merged into the generated homeserver.yaml (embedded only)",
        what="a mapping of Synapse settings",
        restart=True,
    )
    public_url: str = setting(
        "", "the address people's clients use, shown to web applicants; none: url", kind="url"
    )
    federation: FederationListener | None = setting(
        None, "embedded only: the TLS listener of peer regions (none: no federation)", restart=True
    )
    sync_pause_after_joins: float = setting(
        0.3,
        "after a sync that brought people joining or leaving and no command, wait this long "
        "(seconds) before the next: a burst of joins comes in a few syncs, not one each, and "
        "the homeserver serves fewer syncs and key queries; a command waits that long at most "
        "meanwhile (0: never wait)",
        lo=0.0,
        hi=5.0,
    )
    retries: int = setting(
        6,
        "how often one request is tried again before the work that made it is retried later",
        lo=0,
        hi=20,
        restart=True,
    )

    @property
    def port(self) -> int:
        parsed = urlparse(self.url)
        return parsed.port or (443 if parsed.scheme == "https" else 80)

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"


@dataclass(frozen=True, kw_only=True)
class BotConfig:
    localpart: str = setting(
        "agora",
        "the bot is @<localpart>:<server_name>",
        pattern=LOCALPART_RE,
        what="a Matrix localpart (lower-case letters, digits, ._=-/+)",
        restart=True,
    )
    display_name: str = setting("Agora", "the bot's display name, set when it starts", restart=True)
    device_name: str = setting(
        "Agora bot", "the name of the bot's device, given when it logs in", restart=True
    )


@dataclass(frozen=True, kw_only=True)
class CommandsConfig:
    prefix: str = setting(
        "!",
        "what a command starts with",
        pattern=PREFIX_RE,
        what="1 to 3 punctuation characters such as !",
    )
    reaction_delay: float = setting(
        0.5,
        "the ✅ or ❌ on a command waits until no command came in its room for this long "
        "(seconds; 5 s at most in all): commands typed back to back are not held up by the "
        "reactions to the ones before (0: at once)",
        lo=0.0,
        hi=5.0,
    )


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    host: str = setting("127.0.0.1", "the address of the bot's HTTP server", restart=True)
    port: int = setting(8080, "its port (0: a free one)", lo=0, hi=65535, restart=True)
    # The server keeps the value it started with (the sync's long poll follows a reload).
    healthy_sync_age: float = setting(
        30.0,
        "/healthz answers 503 when the last sync is older (seconds; the long poll waits half)",
        lo=2.0,
        restart=True,
    )
    public_url: str = setting(
        "", "the address people reach the web server at (links); none: http://host:port", kind="url"
    )
    trusted_proxies: tuple[str, ...] = setting(
        (), "reverse proxies whose X-Forwarded-For names the client", kind="networks"
    )
    metrics_port: int | None = setting(
        None,
        "serve /metrics on a listener of its own at this port (0: a free one), and no longer "
        "on web.port; none: on web.port",
        hi=65535,
        restart=True,
    )
    metrics_host: str = setting(
        "127.0.0.1", "the address of that listener (loopback unless told)", restart=True
    )


@dataclass(frozen=True, kw_only=True)
class VettingConfig:
    approvals_required: int = setting(
        2,
        "distinct admins whose approval admits someone (default: at most the admins)",
        lo=1,
        hi=20,
    )
    one_rejection_rejects: bool = setting(
        True, "one admin's rejection closes a request (false: as many as approvals)"
    )
    animator_endorsement_counts: bool = setting(
        False, "an animator's !admit of someone not yet vetted counts as one approval"
    )
    email_confirmation_expires: float = setting(
        48 * 3600.0,
        "a web request whose email is not confirmed within this is forgotten",
        kind="duration",
    )
    professions: tuple[str, ...] = setting(
        PROFESSION_IDS,
        "the professions (built-in ids) people may choose when they ask to join",
        kind="subset",
        choices=PROFESSION_IDS,
    )
    directory_check: str = setting(
        "show",
        "each request's RPPS number looked up in the loaded national directory, its verdict "
        "on the card (off: not consulted; require: a request it does not bear out refused at "
        "once, admins may still admit it with !approve <n> --sans-annuaire <reason>)",
        choices=("off", "show", "require"),
    )
    contact: str | None = setting(
        None,
        "how applicants whose request is refused reach the admins: an email address or an "
        "https:// page; none: the admins' Matrix IDs",
        pattern=CONTACT_RE,
        what="an email address or an https:// address",
    )
    provisioning: ProvisioningConfig = field(default_factory=ProvisioningConfig)


@dataclass(frozen=True, kw_only=True)
class SecurityConfig:
    verified_devices: str = setting(
        "privileged",
        "privileged: admins', animators' and managers' acts count from cross-signed devices only",
        choices=("privileged", "off"),
    )


@dataclass(frozen=True, kw_only=True)
class JobsConfig:
    max_backoff: float = setting(
        300.0, "failures retrying may cure are retried at most this far apart", kind="duration"
    )
    max_attempts: int = setting(
        8, "other failures are tried this many times, then reported", lo=1, hi=1000
    )
    keep_done: float = setting(
        7 * 86400.0, "finished jobs and handled events are forgotten after this", kind="duration"
    )


@dataclass(frozen=True, kw_only=True)
class PrivacyConfig:
    keep_command_text: float = setting(
        0.0,
        "how long a handled command's text is kept (0: only its id and outcome)",
        kind="duration",
    )


@dataclass(frozen=True, kw_only=True)
class ModerationConfig:
    max_sweep: int = setting(
        10, "a ban rule removing more people than this waits for an admin's !confirm", hi=100_000
    )


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    host: str = setting(REQUIRED, "the mail server", what="the mail server's host name")
    port: int = setting(587, "its port (default with security: tls: 465)", lo=1, hi=65535)
    security: str = setting(
        "starttls", "how the connection is secured", choices=("starttls", "tls", "none")
    )
    username: str | None = setting(None, "the login, when the server asks for one")
    password: str | None = setting(None, "its password (prefer password_env)", secret=True)
    password_env: str | None = setting(None, "the environment variable holding the password")
    password_file: str | None = setting(
        None, "a file holding the password (relative: as homeserver.password_file)"
    )
    sender: str = setting(
        REQUIRED,
        "the From address",
        key="from",
        pattern=EMAIL_RE,
        what="the From address, such as agora@ars.example",
    )
    timeout: float = setting(30.0, "a mail not handed over within this fails", kind="duration")


@dataclass(frozen=True, kw_only=True)
class FeedSpec:
    url: str = setting(REQUIRED, "the feed (RSS, Atom or JSON Feed)", kind="url")
    territory: str = setting(
        REQUIRED, "the territory it is relayed into", pattern=ID_RE, what="a territory id"
    )
    rooms: tuple[str, ...] = setting(
        ("announcements",), "room kinds of the territory, or room keys"
    )
    every: float = setting(1800.0, "how often it is fetched (at least a minute)", kind="duration")
    filter: str | None = setting(None, "only entries whose title or text contains this word")
    public: bool = setting(False, "also on the public page /news/<territory>")


@dataclass(frozen=True, kw_only=True)
class NewsConfig:
    first_posts: int = setting(
        3, "a new subscription posts at most the newest N entries", lo=0, hi=50
    )
    fetch_timeout: float = setting(
        20.0, "a feed that does not answer within this fails (and backs off)", kind="duration"
    )
    max_feed_bytes: int = setting(
        1_000_000, "a bigger feed is refused as it streams", lo=10_000, hi=50_000_000
    )
    max_redirects: int = setting(3, "redirects followed, each checked like the first", hi=10)
    allowed_feed_hosts: tuple[str, ...] = setting(
        (), "hosts feeds may be fetched from although they are not public", kind="hosts"
    )
    parse_time_limit: float = setting(
        10.0, "seconds a worker may spend reading one feed", kind="duration"
    )
    max_backoff: float = setting(
        6 * 3600.0, "a failing feed is retried further apart each time, up to this", kind="duration"
    )
    pace_per_second: float = setting(20.0, "posts per second across rooms, at most", lo=0.1)


@dataclass(frozen=True, kw_only=True)
class AlertsConfig:
    remind_after: float = setting(
        2 * 3600.0, "one reminder to the members who have not acknowledged", kind="duration"
    )


@dataclass(frozen=True, kw_only=True)
class DirectoryConfig:
    url: str = setting(
        "",
        "where the bot downloads the national directory's extraction (.txt or .zip) from, "
        "with conditional requests (none: loaded by hand with agora-bot import-directory)",
        kind="url",
    )
    refresh: float = setting(86400.0, "how often the download is tried again", kind="duration")
    max_bytes: int = setting(
        3_000_000_000, "a bigger download is refused as it streams", lo=1_000, hi=20_000_000_000
    )
    timeout: float = setting(3600.0, "a download that takes longer fails", kind="duration")
    allowed_hosts: tuple[str, ...] = setting(
        (), "hosts it may be downloaded from although they are not public", kind="hosts"
    )


@dataclass(frozen=True, kw_only=True)
class HooksConfig:
    max_age: float = setting(
        300.0, "a signed request older (or newer) than this is refused", kind="duration"
    )
    news: str | None = setting(None, "POST /hooks/news's secret (none: off)", secret=True)
    alert: str | None = setting(None, "POST /hooks/alert's secret (none: off)", secret=True)

    def secret(self, hook: str) -> str | None:
        """The secret of ``/hooks/<hook>``; none: that hook is off."""
        return {"news": self.news, "alert": self.alert}.get(hook)


HHMM_RE = re.compile(r"^([01]\d|2[0-4]):[0-5]\d$")
ROSTER_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")


@dataclass(frozen=True, kw_only=True)
class RosterRole:
    id: str = setting(
        REQUIRED,
        "a role on duty, as roster files name it",
        pattern=ID_RE,
        what="an id (a-z, 0-9, -)",
    )
    fr: str = setting(REQUIRED, "its name in French")
    en: str = setting(REQUIRED, "its name in English")


@dataclass(frozen=True, kw_only=True)
class SlotTemplateSpec:
    territory: str = setting(
        REQUIRED, "the territory (with an oncall room) whose roster it makes", pattern=ID_RE,
        what="a territory id",
    )  # fmt: skip
    days: tuple[str, ...] = setting(
        REQUIRED,
        "mon … sun, holiday (on a public holiday only the holiday templates make slots)",
        kind="subset",
        choices=ROSTER_DAYS,
    )
    start: str = setting(REQUIRED, "when the slot starts, HH:MM", pattern=HHMM_RE, what="HH:MM")
    end: str = setting(
        REQUIRED, "when it ends, HH:MM (24:00: midnight; before the start: the next day)",
        pattern=HHMM_RE, what="HH:MM",
    )  # fmt: skip
    role: str = setting(REQUIRED, "one of rosters.roles", pattern=ID_RE, what="a role id")


DEFAULT_ROSTER_ROLES = (
    RosterRole(id="poste", fr="effecteur posté", en="posted doctor"),
    RosterRole(id="mobile", fr="effecteur mobile", en="mobile doctor"),
    RosterRole(id="regulation", fr="régulation", en="call regulation"),
)


@dataclass(frozen=True, kw_only=True)
class RostersConfig:
    timezone: str = setting(
        "Europe/Paris", "the region's time zone: rosters' times and the dates people type"
    )
    country: str = setting("FR", "whose public holidays the templates' `holiday` means")
    morning_post: str = setting(
        "07:30", "when the day's roster is posted in the on-call rooms (HH:MM)", pattern=HHMM_RE,
        what="HH:MM",
    )  # fmt: skip
    warn_before: float = setting(
        72 * 3600.0, "a slot still unfilled this far ahead is announced (again at 24 h)",
        kind="duration",
    )  # fmt: skip
    remind_before: float = setting(
        24 * 3600.0, "the member on duty is reminded in a direct chat this far ahead",
        kind="duration",
    )  # fmt: skip
    swaps_need_coordinator: bool = setting(
        True, "a swap or a slot taken counts only once the territory's coordinator approves"
    )
    roles: tuple[RosterRole, ...] = DEFAULT_ROSTER_ROLES
    templates: tuple[SlotTemplateSpec, ...] = ()

    def role(self, role_id: str) -> RosterRole | None:
        return next((r for r in self.roles if r.id == role_id), None)


@dataclass(frozen=True, kw_only=True)
class PollsConfig:
    default_duration: float = setting(
        3 * 86400.0, "how long a poll stays open when `!vote` names no end", kind="duration"
    )
    max_duration: float = setting(90 * 86400.0, "the furthest a poll's end may be", kind="duration")
    room_kinds: tuple[str, ...] = setting(
        ("community", "oncall", "replacements", "group", "managerial"),
        "the kinds of a territory's rooms a poll for the territory goes to (members cannot "
        "answer in announcements rooms)",
        kind="subset",
        choices=ROOM_KINDS,
    )
    settle: float = setting(
        30.0,
        "after a poll ends, how long responses sent before its end may still arrive (over "
        "federation) before the result is counted",
        kind="duration",
    )


@dataclass(frozen=True, kw_only=True)
class WorkshopsConfig:
    default_duration: float = setting(
        2 * 3600.0, "how long a workshop lasts when `--durée` is not given", kind="duration"
    )
    first_reminder: float = setting(
        7 * 86400.0, "those registered are reminded in a direct chat this far ahead",
        kind="duration",
    )  # fmt: skip
    last_reminder: float = setting(86400.0, "and again this far ahead", kind="duration")
    report_window: float = setting(
        14 * 86400.0, "files posted in a workshop's report thread are pinned for this long after "
        "it ends", kind="duration",
    )  # fmt: skip
    pin_every: float = setting(
        600.0, "how often the report thread is read for new files to pin", kind="duration"
    )


@dataclass(frozen=True, kw_only=True)
class SurveysConfig:
    min_group: int = setting(
        5, "a group of fewer respondents is never shown on its own in results (merged into "
        "\"other\", left out if that is still smaller)", lo=2, hi=1000,
    )  # fmt: skip
    remind_before: float = setting(
        48 * 3600.0, "those who have not finished a survey are reminded this long before it "
        "closes", kind="duration",
    )  # fmt: skip
    pace_per_second: float = setting(
        10.0, "surveys sent to direct chats per second, at most", lo=0.1
    )


@dataclass(frozen=True, kw_only=True)
class EvolutionsConfig:
    weight: str = setting(
        "region",
        "how the boards of the shared rooms this region owns rank requests: region (each "
        "region one voice: the share of its voters on the board who back a request, summed "
        "over regions) or users (one point per voter)",
        choices=("region", "users"),
    )
    page_size: int = setting(10, "requests shown per page of !evolutions", lo=1, hi=50)


@dataclass(frozen=True, kw_only=True)
class DocumentsConfig:
    results: int = setting(10, "files one !docs answer lists (it says how many more)", lo=1, hi=50)


@dataclass(frozen=True, kw_only=True)
class Config:
    homeserver: HomeserverConfig
    bot: BotConfig = field(default_factory=BotConfig)
    admins: tuple[str, ...] = setting(
        (),
        "the administrators: they vet requests in the control room",
        kind="user_ids",
        what="a list of Matrix user ids",
    )
    locale: str = setting("fr", "the language of the bot's answers", choices=LOCALES)
    log_format: str = setting(
        "text",
        "the log on stderr: text, or json (one object a line: time, level, logger, message, "
        "exception)",
        choices=("text", "json"),
        restart=True,
    )
    logging: dict[str, Any] = setting(
        {},
        "a logging.config.dictConfig mapping (version: 1) used instead of log_format; "
        "--log-level still sets the root level",
        what="a logging.config.dictConfig mapping",
        restart=True,
    )
    commands: CommandsConfig = field(default_factory=CommandsConfig)
    web: WebConfig = field(default_factory=WebConfig)
    network: Network = field(default_factory=Network)
    federation: FederationConfig = field(default_factory=FederationConfig)
    vetting: VettingConfig = field(default_factory=VettingConfig)
    news: NewsConfig = field(default_factory=NewsConfig)
    feeds: tuple[FeedSpec, ...] = ()
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)
    directory: DirectoryConfig = field(default_factory=DirectoryConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    moderation: ModerationConfig = field(default_factory=ModerationConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    rosters: RostersConfig = field(default_factory=RostersConfig)
    polls: PollsConfig = field(default_factory=PollsConfig)
    evolutions: EvolutionsConfig = field(default_factory=EvolutionsConfig)
    documents: DocumentsConfig = field(default_factory=DocumentsConfig)
    workshops: WorkshopsConfig = field(default_factory=WorkshopsConfig)
    surveys: SurveysConfig = field(default_factory=SurveysConfig)
    # The mailer is made when the bot starts. None: mails are written as .eml files.
    smtp: SmtpConfig | None = field(default=None, metadata={"restart": True})
    source: Path | None = None

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot.localpart}:{self.homeserver.server_name}"

    @property
    def admin_contact(self) -> str:
        """How an applicant reaches the admins: ``vetting.contact``, else their Matrix IDs."""
        return self.vetting.contact or ", ".join(self.admins) or "—"


def changes_needing_restart(old: Config, new: Config) -> list[str]:
    """The key paths (``web.port``, ``smtp.host``, ``smtp`` when it comes or goes) whose values
    differ from ``old`` to ``new`` and that a running bot applies only when it starts again:
    those their field declares ``restart`` (or a section's field does, for all its keys)."""
    return _restart_changes(old, new, new, "", False)


def _restart_changes(old: Any, new: Any, config: Config, path: str, inherited: bool) -> list[str]:
    out = []
    for f in dataclasses.fields(new):
        before, after = getattr(old, f.name), getattr(new, f.name)
        if before == after:
            continue
        key = f"{path}.{f.metadata.get('key', f.name)}".lstrip(".")
        # A callable decides from the new config (say, only with an embedded homeserver).
        flag = f.metadata.get("restart", False)
        restart = inherited or (flag(config) if callable(flag) else flag)
        if dataclasses.is_dataclass(after) and type(before) is type(after):
            out += _restart_changes(before, after, config, key, restart)
        elif restart:
            out.append(key)
    return out


# --- reading: a section, its values' checks, and dataclasses read as they declare -----------------

Check = Callable[[Any, str, Mapping[str, Any]], Any]


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

    def read(self, key: str, check: Check, meta: Mapping[str, Any], default: Any = ...) -> Any:
        """The value at ``key`` as ``check`` accepts it, or ``default`` (trusted) when absent."""
        if self.data.get(key) is None:
            return self.raw(key, default)
        self.seen.add(key)
        return check(self.data[key], self._p(key), meta)

    def str(
        self,
        key: str,
        default: Any = ...,
        pattern: re.Pattern[str] | None = None,
        what: str = "a string",
    ) -> Any:
        return self.read(key, _str, {"pattern": pattern, "what": what}, default)

    # builtins.str from here on: in this class's body, ``str`` is the method above.
    def choice(
        self, key: builtins.str, choices: tuple[builtins.str, ...], default: Any = ...
    ) -> builtins.str:
        if default is ... and self.data.get(key) is None:
            raise ConfigError(self._p(key), "one of " + ", ".join(choices) + " (required)")
        return self.read(key, _choice, {"choices": choices}, default)

    def section(self, key: builtins.str) -> _Section:
        return _Section(self.raw(key, {}), self._p(key))

    def done(self) -> None:
        unknown = set(self.data) - self.seen
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(self._p(key), "no such key (unknown setting; check its spelling)")


def _bool(value: Any, path: str, meta: Mapping[str, Any]) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, "true or false", value)
    return value


def _int(value: Any, path: str, meta: Mapping[str, Any]) -> int:
    lo, hi = meta.get("lo", 0), meta.get("hi", 2**31)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(path, f"a whole number from {lo} to {hi}", value)
    return value


def _number(value: Any, path: str, meta: Mapping[str, Any]) -> float:
    lo = meta.get("lo", 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
        raise ConfigError(path, f"a number ≥ {lo}", value)
    return float(value)


def _duration(value: Any, path: str, meta: Mapping[str, Any]) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    try:
        return parse_duration(str(value))
    except ValueError:
        raise ConfigError(path, "a duration such as 90s, 15m, 2h or 1d", value) from None


def _str(value: Any, path: str, meta: Mapping[str, Any]) -> str:
    pattern = meta.get("pattern")
    if (
        not isinstance(value, str)
        or not value.strip()
        or (pattern is not None and not pattern.match(value))
    ):
        raise ConfigError(path, meta.get("what", "a string"), value)
    return value


def _choice(value: Any, path: str, meta: Mapping[str, Any]) -> str:
    if value not in meta["choices"]:
        raise ConfigError(path, "one of " + ", ".join(meta["choices"]), value)
    return value


def _url(value: Any, path: str, meta: Mapping[str, Any]) -> str:
    _str(value, path, {"what": "an http(s) URL"})
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(path, "an http(s) URL such as http://127.0.0.1:8008", value)
    return value.rstrip("/")


def _mapping(value: Any, path: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(path, meta.get("what", "a mapping"), value)
    return dict(value)


def _items(value: Any, path: str, what: str = "a list") -> list[tuple[Any, str]]:
    if not isinstance(value, list):
        raise ConfigError(path, what, value)
    return [(item, f"{path}[{i}]") for i, item in enumerate(value)]


def _user_ids(value: Any, path: str, meta: Mapping[str, Any]) -> tuple[str, ...]:
    out = []
    for item, item_path in _items(value, path, meta.get("what", "a list")):
        if not isinstance(item, str) or not USER_ID_RE.match(item):
            raise ConfigError(item_path, "a Matrix user id such as @alice:example.org", item)
        out.append(item)
    return tuple(dict.fromkeys(out))


def _subset(value: Any, path: str, meta: Mapping[str, Any]) -> tuple[str, ...]:
    for item, item_path in _items(value, path):
        if item not in meta["choices"]:
            raise ConfigError(item_path, "one of " + ", ".join(meta["choices"]), item)
    return tuple(dict.fromkeys(value))


def _networks(value: Any, path: str, meta: Mapping[str, Any]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(path, "a list of addresses or networks", value)
    try:
        for v in value:
            ipaddress.ip_network(v.strip(), strict=False)
    except ValueError as exc:
        raise ConfigError(
            path, "addresses or networks such as 127.0.0.1, 10.0.0.0/8", value
        ) from exc
    return tuple(value)


def _hosts(value: Any, path: str, meta: Mapping[str, Any]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(h, str) and h and "/" not in h and " " not in h for h in value
    ):
        raise ConfigError(path, "a list of host names or addresses", value)
    return tuple(h.lower().strip("[]") for h in value)


_CHECKS: dict[str, Check] = {
    "bool": _bool,
    "int": _int,
    "number": _number,
    "duration": _duration,
    "str": _str,
    "choice": _choice,
    "url": _url,
    "mapping": _mapping,
    "user_ids": _user_ids,
    "subset": _subset,
    "networks": _networks,
    "hosts": _hosts,
}
_KIND_OF_TYPE: dict[Any, str] = {
    bool: "bool",
    int: "int",
    float: "number",
    str: "str",
    dict: "mapping",
}


def _read(cls: type[T], s: _Section, **given: Any) -> T:
    """``cls`` read from ``s`` as its fields declare, but for ``given`` ones (made by a
    dedicated reader); a key no field declares is refused."""
    hints = typing.get_type_hints(cls)
    values = dict(given)
    for f in dataclasses.fields(cls):
        if f.name not in given:
            values[f.name] = _read_field(s, f, hints[f.name])
    s.done()
    return cls(**values)


def _read_field(s: _Section, f: dataclasses.Field[Any], hint: Any) -> Any:
    key = f.metadata.get("key", f.name)
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        default = ...
    # `X | None`: X is what is read (None is the default of an optional section or value).
    (base,) = (
        [t for t in typing.get_args(hint) if t is not type(None)]
        if isinstance(hint, types.UnionType)
        else [hint]
    )
    if isinstance(base, type) and dataclasses.is_dataclass(base):
        if default is None and s.data.get(key) is None:
            return s.raw(key, None)
        return _read(base, s.section(key))
    kind = f.metadata.get("kind") or (
        "choice" if "choices" in f.metadata else _KIND_OF_TYPE.get(typing.get_origin(base) or base)
    )
    if kind is None:
        raise TypeError(f"{f.name}: say how a {hint} is read (setting(…, kind=…))")
    return s.read(key, _CHECKS[kind], f.metadata, default)


# --- the whole file -------------------------------------------------------------------------------


def parse_config(
    data: Any, source: Path | None = None, env: Mapping[str, str] | None = None
) -> Config:
    env = dict(os.environ) if env is None else env
    top = _Section(data, "")
    homeserver = _homeserver(top.section("homeserver"), env, source)
    network = _network(top.section("network"))
    federation = _federation(top.section("federation"))
    v = top.section("vetting")
    explicit_quorum = v.data.get("approvals_required") is not None
    vetting = _vetting(v, network)
    _check_sharing(network, federation, homeserver.server_name, vetting.professions)
    config = _read(
        Config,
        top,
        homeserver=homeserver,
        web=_web(top.section("web")),
        network=network,
        federation=federation,
        vetting=vetting,
        feeds=_feeds(top, network),
        rosters=_rosters(top.section("rosters"), network),
        hooks=_hooks(top.section("hooks"), env, source),
        smtp=_smtp(top, env, source),
        logging=_logging(top),
        source=source,
    )
    # The default quorum is 2, or fewer when there are fewer admins (a quorum above the number
    # of admins could never be reached); an explicit value is taken as asked, and checked.
    most = max(1, len(config.admins))
    if not explicit_quorum:
        quorum = min(vetting.approvals_required, most)
        config = dataclasses.replace(
            config, vetting=dataclasses.replace(vetting, approvals_required=quorum)
        )
    elif vetting.approvals_required > most:
        raise ConfigError(
            "vetting.approvals_required",
            f"at most the number of admins ({len(config.admins)})",
            vetting.approvals_required,
        )
    if config.bot_user_id in config.admins:
        raise ConfigError("admins", "people, not the bot itself", config.bot_user_id)
    return config


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"a readable file ({exc.strerror})") from exc
    try:
        # libyaml's loader when PyYAML has it (its wheels do): ten times faster on a large
        # network (3,000 members' region: 0.1 s → 0.01 s), the same safe subset.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), f"valid YAML{where}") from exc
    return parse_config(data, source=path, env=env)


# --- sections with rules across their keys --------------------------------------------------------


def secret_path(name: str, env: Mapping[str, str], source: Path | None) -> Path:
    """Where a ``*_file`` setting's secret is: an absolute path as it is; a relative one in
    ``$CREDENTIALS_DIRECTORY`` (systemd's ``LoadCredential=``) when the service has one, else
    beside the config file (so that an operator's ``agora-bot plan`` finds it too)."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return path
    if env.get(ENV_CREDENTIALS):
        return Path(env[ENV_CREDENTIALS]) / path
    return (source.parent if source is not None else Path.cwd()) / path


def _secret_file(
    section: _Section, key: str, env: Mapping[str, str], source: Path | None
) -> str | None:
    """The secret in the file ``key`` names (none when the key is not given)."""
    name = section.data.get(key)
    if name is None:
        return None
    path = secret_path(str(name), env, source)
    try:
        return path.read_text().strip() or None
    except OSError as exc:
        raise ConfigError(section._p(key), "a readable file", str(path)) from exc


def _homeserver(hs: _Section, env: Mapping[str, str], source: Path | None) -> HomeserverConfig:
    h = _read(HomeserverConfig, hs)
    access_token = env.get(ENV_ACCESS_TOKEN) or h.access_token
    password = env.get(ENV_PASSWORD) or h.password
    if not access_token:
        access_token = _secret_file(hs, "access_token_file", env, source)
    if not password:
        password = _secret_file(hs, "password_file", env, source)
    if h.embedded:
        if urlparse(h.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(
                hs._p("url"),
                "a loopback URL (http://127.0.0.1:PORT) when homeserver.embedded is true",
                h.url,
            )
    elif not access_token and not password:
        raise ConfigError(
            hs._p("access_token"),
            f"an access token or homeserver.password (or the {ENV_ACCESS_TOKEN} "
            f"/ {ENV_PASSWORD} environment variables) when homeserver.embedded "
            "is false",
        )
    elif h.federation is not None:
        raise ConfigError(hs._p("federation"), "nothing when homeserver.embedded is false")
    module_secret = _module_secret(hs, h, env, source)
    return dataclasses.replace(
        h,
        access_token=access_token,
        password=password,
        module_secret=module_secret,
        public_url=h.public_url or h.url,
    )


def _module_secret(
    hs: _Section, h: HomeserverConfig, env: Mapping[str, str], source: Path | None
) -> str | None:
    """The shared secret of Agora's Synapse module: from the environment, the file, or the
    YAML; an embedded homeserver's is Agora's own (none here), and admin privileges need none."""
    given = [k for k in ("module_secret", "module_secret_file") if hs.data.get(k) is not None]
    if h.embedded or h.privileges != "module":
        if given:
            raise ConfigError(
                hs._p(given[0]),
                "nothing when homeserver.embedded is true (its module's secret is made and kept "
                "in <data-dir>/synapse/secrets.json)"
                if h.embedded
                else "nothing when homeserver.privileges is admin",
            )
        return None
    secret = (
        env.get(ENV_MODULE_SECRET)
        or _secret_file(hs, "module_secret_file", env, source)
        or h.module_secret
    )
    if not secret:
        raise ConfigError(
            hs._p("module_secret_file"),
            "the shared secret of Agora's Synapse module (a file, or the "
            f"{ENV_MODULE_SECRET} environment variable) when homeserver.privileges is module "
            "(the default); or homeserver.privileges: admin (deploy/README.md)",
        )
    if len(secret) < 32:
        raise ConfigError(hs._p("module_secret"), "at least 32 characters", "…")
    return secret


def _logging(top: _Section) -> dict[str, Any]:
    """A dictConfig mapping as Python reads it (its own checks run when it is applied)."""
    mapping = top.read("logging", _mapping, {"what": "a logging.config.dictConfig mapping"}, {})
    if mapping and mapping.get("version") != 1:
        raise ConfigError("logging.version", "1 (a logging.config.dictConfig mapping)",
                          mapping.get("version"))  # fmt: skip
    return mapping


def _web(w: _Section) -> WebConfig:
    web = _read(WebConfig, w)
    if web.public_url:
        return web
    return dataclasses.replace(web, public_url=f"http://{web.host}:{web.port}")


def _vetting(v: _Section, network: Network) -> VettingConfig:
    p = v.section("provisioning")
    vetting = _read(VettingConfig, v, provisioning=_provisioning(p))
    if not vetting.professions:
        raise ConfigError(v._p("professions"), "at least one profession id")
    problems = rule_problems(
        vetting.provisioning.rules, network, set(vetting.professions), ROOM_KINDS
    )
    if problems:
        where, expected, value = problems[0]
        raise ConfigError(p._p("rules") + where, expected, value)
    return vetting


def _smtp(top: _Section, env: Mapping[str, str], source: Path | None) -> SmtpConfig | None:
    if top.raw("smtp", None) is None:
        return None
    m = top.section("smtp")
    smtp = _read(SmtpConfig, m)
    if smtp.password_file:
        smtp = dataclasses.replace(smtp, password=_secret_file(m, "password_file", env, source))
    if smtp.password_env:
        password = env.get(smtp.password_env)
        if not password:
            raise ConfigError(m._p("password_env"), "the name of a set environment variable")
        smtp = dataclasses.replace(smtp, password=password)
    if m.data.get("port") is None and smtp.security == "tls":
        smtp = dataclasses.replace(smtp, port=465)
    return smtp


def _hooks(h: _Section, env: Mapping[str, str], source: Path | None) -> HooksConfig:
    return _read(
        HooksConfig,
        h,
        news=_hook_secret(h.section("news"), env, source),
        alert=_hook_secret(h.section("alert"), env, source),
    )


def _hook_secret(s: _Section, env: Mapping[str, str], source: Path | None) -> str | None:
    """A webhook's secret: from the environment variable ``secret_env`` names, the file
    ``secret_file`` names (relative: as homeserver.password_file), or ``secret``."""
    name = s.str("secret_env", None)
    s.str("secret_file", None)
    written = s.str("secret", None)
    secret = (
        (env.get(name) if name else None) or _secret_file(s, "secret_file", env, source) or written
    )
    if s.data and not secret:
        raise ConfigError(
            s._p("secret"),
            "a secret of at least 32 characters (or secret_env or secret_file naming one)",
        )
    if secret and len(secret) < 32:
        raise ConfigError(s._p("secret"), "at least 32 characters", "…")
    s.done()
    return secret


def _rosters(r: _Section, network: Network) -> RostersConfig:
    """The roles and the slot templates, each template on a declared territory that has an
    oncall room, naming a declared role; the time zone and the holidays' country known."""
    roles = tuple(_read(RosterRole, _Section(item, path)) for item, path in _list(r, "roles"))
    if r.data.get("roles") is None:
        roles = RostersConfig().roles
    ids = [x.id for x in roles]
    for i, role_id in enumerate(ids):
        if role_id in ids[:i]:
            raise ConfigError(f"{r._p('roles')}[{i}].id", "an id not used before", role_id)
    oncall = {t.id for t, _ in network.walk() if any(x.kind == "oncall" for x in t.rooms)}
    templates = []
    for item, path in _list(r, "templates"):
        spec = _read(SlotTemplateSpec, _Section(item, path))
        if spec.territory not in oncall:
            raise ConfigError(
                f"{path}.territory", "a declared territory with an oncall room", spec.territory
            )
        if spec.role not in ids:
            raise ConfigError(f"{path}.role", "one of " + ", ".join(ids), spec.role)
        if spec.start == spec.end:
            raise ConfigError(f"{path}.end", "another time than the start", spec.end)
        templates.append(spec)
    config = _read(RostersConfig, r, roles=roles, templates=tuple(templates))
    try:
        zoneinfo.ZoneInfo(config.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            r._p("timezone"), "a time zone such as Europe/Paris", config.timezone
        ) from None
    try:
        holidays.country_holidays(config.country)
    except NotImplementedError:
        raise ConfigError(r._p("country"), "a country code such as FR", config.country) from None
    return config


def _feeds(top: _Section, network: Network) -> tuple[FeedSpec, ...]:
    known = {t.id: t for t, _ in network.walk()}
    feeds = []
    for item, path in _list(top, "feeds"):
        f = _Section(item, path)
        rooms = _str_list(f, "rooms", ROOM_REF_RE, "a room kind or a room key") or FeedSpec.rooms
        for j, ref in enumerate(rooms):
            if "." in ref:
                tid, _, rid = ref.partition(".")
                if tid not in known or rid not in {r.id for r in known[tid].rooms}:
                    raise ConfigError(f"{f._p('rooms')}[{j}]", "a declared room key", ref)
            elif ref not in ROOM_KINDS:
                raise ConfigError(f"{f._p('rooms')}[{j}]", "a room kind or key", ref)
        spec = _read(FeedSpec, f, rooms=rooms)
        if spec.territory not in known:
            raise ConfigError(f._p("territory"), "a declared territory id", spec.territory)
        feeds.append(dataclasses.replace(spec, every=max(60.0, spec.every)))
    return tuple(feeds)


# --- nested structures: lists of mappings, each with its own reader -------------------------------


def _list(section: _Section, key: str) -> list[tuple[Any, str]]:
    return _items(section.raw(key, []), section._p(key))


def _user_list(section: _Section, key: str) -> tuple[str, ...]:
    return section.read(key, _user_ids, {}, ())


DEPARTMENT_RE = re.compile(r"^(?:\d{2}|2[AB]|97\d)$")
COMMUNE_RE = re.compile(r"^[^\x00-\x1f<>]{1,80}$")


def _departments(section: _Section) -> tuple[str, ...]:
    """Department codes, written as strings or numbers (``84``, ``"2A"``, ``974``)."""
    out = []
    for item, path in _list(section, "departments"):
        code = f"{item:02d}" if isinstance(item, int) and not isinstance(item, bool) else item
        if not isinstance(code, str) or not DEPARTMENT_RE.match(code.upper()):
            raise ConfigError(path, "a department code such as 84, 2A or 974", item)
        out.append(code.upper())
    return tuple(dict.fromkeys(out))


def _str_list(section: _Section, key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    out = []
    for item, path in _list(section, key):
        if not isinstance(item, str) or not pattern.match(item):
            raise ConfigError(path, what, item)
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
        topic=_text(r, "topic", MAX_TOPIC, RoomSpec.topic),
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
        topic=_text(t, "topic", MAX_TOPIC, Territory.topic),
        animators=_user_list(t, "animators"),
        rooms=tuple(rooms),
        territories=children,
        welcome=_text(t, "welcome", MAX_WELCOME, Territory.welcome).strip(),
        departments=_departments(t),
        communes=_str_list(t, "communes", COMMUNE_RE, "a commune's name"),
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


def _provisioning(section: _Section) -> ProvisioningConfig:
    rules = tuple(_rule(item, path) for item, path in _list(section, "rules"))
    if section.data.get("rules") is None:  # absent: the default rule; empty: none
        rules = ProvisioningConfig().rules
    return _read(ProvisioningConfig, section, rules=rules)


def _rule(data: Any, path: str) -> Rule:
    r = _Section(data, path)
    rooms = _str_list(r, "rooms", ROOM_REF_RE, "a room kind or a room key (territory.room)")
    if not rooms:
        raise ConfigError(r._p("rooms"), "at least one room kind or room key")
    rule = Rule(
        rooms=rooms,
        professions=_str_list(r, "professions", ID_RE, "a profession id"),
        territories=_str_list(r, "territories", ID_RE, "a territory id"),
        users=_user_list(r, "users"),
    )
    r.done()
    return rule


def _federation(section: _Section) -> FederationConfig:
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


def _check_sharing(
    network: Network, federation: FederationConfig, own: str, professions: tuple[str, ...]
) -> None:
    """Every server a room is shared with is an allowed peer with a known bot (the owning bot
    invites it); shared rooms' declarations name the region's professions and territories."""

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


# --- the reference people read (README), generated from the declarations -----------------------


def settings_reference() -> str:
    """Every declared setting as a Markdown table: key, default, what it does (and whether a
    change waits for a restart). The README's table is this, pasted (a test keeps it so)."""
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    for path, f in _declared(Config, ""):
        meaning = f.metadata["doc"] + (" (restart)" if f.metadata.get("restart") is True else "")
        lines.append(f"| `{path}` | {_shown(f)} | {meaning} |")
    return "\n".join(lines)


def _declared(
    cls: type[DataclassInstance], prefix: str, within: frozenset[type] = frozenset()
) -> Iterator[tuple[str, dataclasses.Field[Any]]]:
    """(key path, field) of each documented setting, sections and lists of them followed
    (a structure that holds itself, the territories' tree, once)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.metadata.get('key', f.name)}"
        if f.metadata.get("doc"):
            yield path, f
            continue
        inner = [a for a in typing.get_args(hints[f.name]) if a is not type(None)]
        listed = typing.get_origin(hints[f.name]) is tuple
        section = inner[0] if (listed or len(inner) == 1) and inner else hints[f.name]
        if (
            isinstance(section, type)
            and dataclasses.is_dataclass(section)
            and section not in within
        ):
            yield from _declared(section, f"{path}[]." if listed else f"{path}.", within | {cls})


def _shown(f: dataclasses.Field[Any]) -> str:
    default: Any = (
        f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    )
    if default is REQUIRED:
        return "— (required)"
    if default is None or default == "":
        return "—"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if f.metadata.get("kind") == "duration":
        return f"`{_duration_text(float(default))}`"
    if isinstance(default, tuple | list):
        return "`[" + ", ".join(str(v) for v in default) + "]`"
    if isinstance(default, float) and default.is_integer():
        return f"`{int(default)}`"
    return f"`{default}`"


def _duration_text(seconds: float) -> str:
    if seconds == 0:
        return "0"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
