"""Configuration: defaults from the example file, and errors that name the key path."""

from pathlib import Path

import pytest
import yaml

from bot.config import ENV_PASSWORD, ConfigError, load_config, parse_config

EXAMPLE = yaml.safe_load(Path("config.example.yaml").read_text())


def with_change(path: str, value):
    data = yaml.safe_load(Path("config.example.yaml").read_text())
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
    config = parse_config(data, env={ENV_PASSWORD: "s3cret"})
    assert config.homeserver.password == "s3cret"
    assert "s3cret" not in repr(config)  # secrets never end up in logs


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
