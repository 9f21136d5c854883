"""Configuration: defaults from the example file, and errors that name the key path."""

import dataclasses
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.config import (
    ENV_MODULE_SECRET,
    ENV_PASSWORD,
    REQUIRED,
    Config,
    ConfigError,
    changes_needing_restart,
    load_config,
    parse_config,
)

EXAMPLE = yaml.safe_load(Path("config.example.yaml").read_text())


def with_change(path: str, value, data=None):
    """The example's data (or ``data``), with the value at ``path`` replaced."""
    data = yaml.safe_load(
        Path("config.example.yaml").read_text() if data is None else yaml.dump(data)
    )
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_example_config_loads_with_documented_defaults():
    config = load_config("config.example.yaml", env={})
    assert config.homeserver.embedded is True
    assert config.homeserver.url == "http://127.0.0.1:8008"
    assert config.bot_user_id == "@agora:localhost"
    assert config.locale == "fr"
    assert config.commands.prefix == "!"
    assert config.web.port == 8080
    assert config.admins == ("@admin:localhost", "@admin2:localhost")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("homeserver.embedded", "yes", "homeserver.embedded: expected true or false"),
        ("homeserver.url", "localhost:8008", "homeserver.url: expected an http(s) URL"),
        ("homeserver.url", "http://10.0.0.5:8008", "homeserver.url: expected a loopback URL"),
        ("homeserver.server_name", "bad name!", "homeserver.server_name: expected a server name"),
        ("admins.1", "admin2", "admins[1]: expected a Matrix user id"),
        ("locale", "de", "locale: expected one of fr, en"),
        ("web.port", 70000, "web.port: expected a whole number from 0 to 65535"),
        ("commands.prefix", "go", "commands.prefix: expected 1 to 3 punctuation characters"),
        ("bot.localpart", "Agora Bot", "bot.localpart: expected a Matrix localpart"),
        ("homeserver.synapse", [1], "homeserver.synapse: expected a mapping"),
        ("web.colour", "blue", "web.colour: expected no such key"),
    ],
)
def test_bad_values_are_named_by_key_path(path, value, message):
    with pytest.raises(ConfigError) as err:
        parse_config(with_change(path, value), env={})
    assert str(err.value).startswith(message)


def test_missing_server_name_is_required():
    data = with_change("homeserver.server_name", None)
    with pytest.raises(ConfigError, match=r"^homeserver.server_name: expected a value"):
        parse_config(data, env={})


def test_external_homeserver_needs_a_secret_which_may_come_from_the_environment():
    data = with_change("homeserver.embedded", False)
    data["homeserver"]["url"] = "https://matrix.ars-sud.example"
    with pytest.raises(ConfigError, match=r"homeserver\.access_token: expected an access token"):
        parse_config(data, env={})
    config = parse_config(data, env={ENV_PASSWORD: "s3cret", ENV_MODULE_SECRET: "m" * 32})
    assert config.homeserver.password == "s3cret"
    assert "s3cret" not in repr(config)  # secrets never end up in logs
    assert "m" * 32 not in repr(config)


def test_the_bot_cannot_be_its_own_admin():
    data = with_change("admins.0", "@agora:localhost")
    with pytest.raises(ConfigError, match=r"^admins: expected people"):
        parse_config(data, env={})


def test_yaml_syntax_error_gives_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("homeserver:\n  url: [\n")
    with pytest.raises(ConfigError, match="expected valid YAML at line"):
        load_config(path, env={})


def test_vetting_quorum_defaults_to_two_and_cannot_exceed_the_admins():
    assert load_config("config.example.yaml", env={}).vetting.approvals_required == 2
    one_admin = with_change("admins", ["@admin:localhost"])
    assert parse_config(one_admin, env={}).vetting.approvals_required == 1
    one_admin["vetting"] = {"approvals_required": 3}
    with pytest.raises(
        ConfigError,
        match=r"^vetting\.approvals_required: expected at most the "
        r"number of admins \(1\), got 3",
    ):
        parse_config(one_admin, env={})


# --- the example file and the declarations agree ---------------------------------------------

# Structures with their own readers, documented in the example by examples rather than defaults.
DEDICATED = {
    "network", "federation", "vetting.provisioning", "feeds", "source", "rosters.roles",
    "rosters.templates",
}  # fmt: skip
# Shown in the example file, but not as a key of their own.
UNDOCUMENTED = {"smtp.password": "named beside password_env, which the file recommends"}
# Values the example file shows that are examples, not defaults (it says so beside them).
EXAMPLES = {"admins"}


def _section_class(hint: typing.Any) -> type | None:
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    found = [a for a in args if dataclasses.is_dataclass(a)]
    return found[0] if found else None


def settings(cls: type = Config, path: str = "", attrs: str = "") -> Iterator[tuple]:
    """(key path, attribute path, field) of every setting of the sections bot/config.py
    declares, and (key path, None, field) of any field that is neither a setting nor a section."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key, attr = path + f.metadata.get("key", f.name), attrs + f.name
        section = _section_class(hints[f.name])
        if key in DEDICATED:
            continue
        if section is not None and section.__module__ == "bot.config":
            yield from settings(section, key + ".", attr + ".")
        else:
            yield key, attr if f.metadata.get("doc") else None, f


def documented_keys(text: str) -> set[str]:
    """Every key path the example shows, commented out (`# key: …`) or not."""
    paths, stack = set(), []
    for line in text.splitlines():
        m = re.match(r"^( *)(# *)?([a-z_]+):", line)
        if not m:
            continue
        # A commented key sits two columns right of where it would be, after "# ".
        indent = len(m.group(1)) + (len(m.group(2)) - 2 if m.group(2) else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(3)))
        paths.add(".".join(key for _, key in stack))
    return paths


def default_of(f: dataclasses.Field) -> typing.Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def attribute(config: Config, attrs: str) -> typing.Any:
    for name in attrs.split("."):
        config = getattr(config, name)
    return config


def test_every_setting_is_declared_with_its_documentation():
    undeclared = [key for key, attrs, f in settings() if not attrs or "\n" in f.metadata["doc"]]
    assert not undeclared, "declare these with setting(default, one-line doc, …) in bot/config.py"


def test_every_setting_is_in_the_example_file():
    shown = documented_keys(Path("config.example.yaml").read_text())
    missing = [key for key, _, _ in settings() if key not in shown and key not in UNDOCUMENTED]
    assert not missing, "config.example.yaml does not show these settings"


def test_the_values_the_example_file_shows_are_the_declared_defaults():
    config = load_config("config.example.yaml", env={})
    checked = 0
    for key, attrs, f in settings():
        node = EXAMPLE
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None or key in EXAMPLES or default_of(f) is REQUIRED:
            continue
        assert attribute(config, attrs) == default_of(f), key
        checked += 1
    assert checked > 30  # the file shows the defaults of most settings


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("alerts.remind", "2h", "alerts.remind: expected no such key"),
        ("hooks.maxage", "5m", "hooks.maxage: expected no such key"),
        ("hooks.news", {"secret": "x" * 40, "token": 1}, "hooks.news.token: expected no such key"),
        ("vetting.profession", ["medecin"], "vetting.profession: expected no such key"),
        (
            "homeserver.federation",
            {"port": 8448, "tls": 1},
            "homeserver.federation.tls: expected no",
        ),
        ("jobs.keep_done", "a week", "jobs.keep_done: expected a duration such as 90s"),
        ("alerts.remind_after", -5, "alerts.remind_after: expected a duration"),
        ("news.pace_per_second", 0, "news.pace_per_second: expected a number ≥ 0.1"),
        ("security.verified_devices", "some", "security.verified_devices: expected one of"),
        ("web.trusted_proxies", ["a proxy"], "web.trusted_proxies: expected addresses or networks"),
        (
            "vetting.professions",
            ["medecin", "astronaute"],
            "vetting.professions[1]: expected one of",
        ),
        ("vetting.professions", [], "vetting.professions: expected at least one profession id"),
    ],
)
def test_settings_are_read_and_checked_as_declared(path, value, message):
    with pytest.raises(ConfigError) as err:
        parse_config(with_change(path, value), env={})
    assert str(err.value).startswith(message)


def test_durations_may_be_written_with_units():
    data = with_change("jobs.keep_done", "2h")
    data["alerts"] = {"remind_after": "30s"}
    config = parse_config(data, env={})
    assert (config.jobs.keep_done, config.alerts.remind_after) == (7200.0, 30.0)
    kept = parse_config(with_change("privacy.keep_command_text", 0), env={})
    assert kept.privacy.keep_command_text == 0.0


def test_rules_and_shared_rooms_name_only_the_regions_professions():
    data = with_change("vetting.professions", ["infirmier"])
    with pytest.raises(
        ConfigError,
        match=r"^vetting\.provisioning\.rules\[1\]\.professions\[0\]: expected one of infirmier, "
        r"got 'medecin'",
    ):
        parse_config(data, env={})
    data = with_change("vetting.professions", ["medecin"])
    data["federation"]["shared_rooms"] = [
        {"room": "#club:peer.example", "professions": ["sage-femme"]}
    ]
    with pytest.raises(ConfigError, match=r"^federation\.shared_rooms\[0\]\.professions\[0\]"):
        parse_config(data, env={})
    assert parse_config(
        with_change("vetting.professions", ["medecin"]), env={}
    ).vetting.professions == ("medecin",)


def test_a_secret_in_the_environment_wins_over_the_file():
    data = with_change("homeserver.embedded", False)
    data["homeserver"].update(
        url="https://matrix.ars-sud.example", password="in-the-file", module_secret="f" * 32
    )
    assert parse_config(data, env={ENV_PASSWORD: "from-env"}).homeserver.password == "from-env"
    env = {ENV_MODULE_SECRET: "e" * 32}
    assert parse_config(data, env=env).homeserver.module_secret == "e" * 32
    data["hooks"]["news"] = {"secret_env": "HOOK_NEWS", "secret": "w" * 32}
    config = parse_config(data, env={"HOOK_NEWS": "e" * 32})
    assert (config.hooks.secret("news"), config.hooks.secret("alert")) == ("e" * 32, None)
    assert "e" * 32 not in repr(config)


def test_secret_files_are_read_from_systemds_credentials_directory(tmp_path: Path):
    """Under systemd's LoadCredential=, a relative *_file names a file of
    $CREDENTIALS_DIRECTORY; elsewhere (an operator's `agora-bot plan`), one beside the config."""
    creds, etc = tmp_path / "credentials", tmp_path / "etc"
    creds.mkdir()
    etc.mkdir()
    for where, tag in ((creds, "c"), (etc, "e")):
        (where / "bot-password").write_text(f"{tag}-password\n")
        (where / "access-token").write_text(f"{tag}-token")
        (where / "smtp-password").write_text(f"{tag}-smtp")
        (where / "hook-alert").write_text(tag * 40)
        (where / "module-secret").write_text(tag * 32 + "\n")
    data = with_change("homeserver.embedded", False)
    data["homeserver"].update(
        url="https://matrix.ars-sud.example",
        password_file="bot-password",
        access_token_file="access-token",
        module_secret_file="module-secret",
    )
    data["hooks"]["alert"] = {"secret_file": "hook-alert"}
    data["smtp"] = {"host": "smtp.example", "from": "agora@example.org"}
    data["smtp"]["password_file"] = "smtp-password"
    given = parse_config(data, source=etc / "agora.yaml", env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert (given.homeserver.password, given.homeserver.access_token) == ("c-password", "c-token")
    assert given.homeserver.module_secret == "c" * 32
    assert (given.smtp.password, given.hooks.alert) == ("c-smtp", "c" * 40)
    beside = parse_config(data, source=etc / "agora.yaml", env={})
    assert (beside.homeserver.password, beside.smtp.password) == ("e-password", "e-smtp")
    data["homeserver"]["password_file"] = str(creds / "bot-password")  # absolute: as it is
    assert parse_config(data, source=etc / "agora.yaml", env={}).homeserver.password == (
        "c-password"
    )
    data["homeserver"]["password_file"] = "missing"
    with pytest.raises(ConfigError, match=r"^homeserver\.password_file: expected a readable"):
        parse_config(data, source=etc / "agora.yaml", env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert "c-password" not in repr(given) and "c-smtp" not in repr(given)


# --- what a running bot applies, and what waits for a restart --------------------------------


def restart_after(*changes: tuple[str, typing.Any], embedded: bool = True) -> list[str]:
    base = with_change("homeserver.embedded", embedded)
    if not embedded:
        base["homeserver"].update(
            url="https://matrix.ars-sud.example", password="pw", module_secret="m" * 32
        )
    data = base
    for path, value in changes:
        data = with_change(path, value, data)
    return changes_needing_restart(parse_config(base, env={}), parse_config(data, env={}))


def test_nothing_changed_needs_no_restart():
    config = load_config("config.example.yaml", env={})
    assert changes_needing_restart(config, config) == []


def test_what_a_running_bot_applies_needs_no_restart():
    assert (
        restart_after(
            ("commands.prefix", "?"),
            ("jobs.max_backoff", "1m"),
            ("privacy.keep_command_text", "1d"),
            ("news.pace_per_second", 5),
            ("alerts.remind_after", "1h"),
            ("vetting.approvals_required", 1),
            ("homeserver.public_url", "https://matrix.ars-sud.example"),
            ("web.public_url", "https://agora.ars-sud.example"),
            ("admins", ["@admin:localhost"]),
            ("locale", "en"),
            ("network.territories.0.name", "Région Sud-Est"),
        )
        == []
    )


def test_what_is_read_at_start_is_named_by_its_key_path():
    assert restart_after(
        ("web.port", 8081),
        ("bot.display_name", "Agora Sud"),
        ("homeserver.retries", 3),
        ("commands.prefix", "?"),
    ) == ["homeserver.retries", "bot.display_name", "web.port"]
    assert restart_after(("homeserver.federation", {"port": 8448})) == ["homeserver.federation"]
    smtp = {"host": "smtp.example", "from": "agora@ars.example"}
    assert restart_after(("smtp", smtp)) == ["smtp"]
    base = with_change("smtp", smtp)
    moved = with_change("smtp.from", "agora@ars-sud.example", base)
    assert changes_needing_restart(parse_config(base, env={}), parse_config(moved, env={})) == [
        "smtp.from"
    ]


def test_federation_peers_need_a_restart_only_with_the_embedded_homeserver():
    peers = ("federation.allowed_servers", ["matrix.ars-occitanie.example"])
    assert restart_after(peers) == ["federation.allowed_servers"]
    assert restart_after(peers, embedded=False) == []


# --- the bot's privileges on its homeserver ----------------------------------------------------


def test_module_privileges_are_the_default_and_need_the_modules_secret_on_an_external_server():
    assert parse_config(EXAMPLE, env={}).homeserver.privileges == "module"  # embedded: its own
    data = with_change("homeserver.embedded", False)
    data["homeserver"].update(url="https://matrix.ars-sud.example", password="pw")
    with pytest.raises(ConfigError, match=r"^homeserver\.module_secret_file: expected the shared"):
        parse_config(data, env={})
    with pytest.raises(ConfigError, match=r"^homeserver\.module_secret: expected at least 32"):
        parse_config(data, env={ENV_MODULE_SECRET: "short"})
    data["homeserver"]["privileges"] = "admin"  # the admin API: no secret
    assert parse_config(data, env={}).homeserver.privileges == "admin"
    data["homeserver"]["module_secret"] = "m" * 32
    with pytest.raises(ConfigError, match=r"^homeserver\.module_secret: expected nothing when"):
        parse_config(data, env={})
    data["homeserver"]["privileges"] = "root"
    with pytest.raises(ConfigError, match=r"^homeserver\.privileges: expected one of module"):
        parse_config(data, env={})


def test_an_embedded_homeserver_makes_the_modules_secret_itself():
    data = with_change("homeserver.module_secret_file", "module-secret")
    with pytest.raises(ConfigError, match=r"^homeserver\.module_secret_file: expected nothing"):
        parse_config(data, env={})
