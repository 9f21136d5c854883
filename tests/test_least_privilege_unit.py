"""Agora's Synapse module without a homeserver: what it checks (its config, the secret, tokens,
users, which rooms the bot manages), that it agrees with the bot's copy of its protocol, that
its pure part needs neither Synapse nor the bot; and which privileges the bot's config picks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agora_synapse import protocol
from agora_synapse.protocol import ModuleConfig, Refused, parse_config
from bot.homeserver import module_protocol

SECRET = "s" * 40


def test_the_bot_speaks_the_modules_protocol():
    for name in (
        "MODULE_NAME",
        "PROBE_PATH",
        "API_PATH",
        "SECRET_HEADER",
        "TOKEN_PROVIDER",
        "REGISTRATION_TOKEN",
    ):
        assert getattr(module_protocol, name) == getattr(protocol, name), name
    token = "agora-12-AbC_d~e.f"
    assert module_protocol.token_id(token) == protocol.token_id(token)
    assert protocol.token_id(token).startswith("sha256:") and token not in protocol.token_id(token)


def test_the_modules_pure_part_imports_neither_synapse_nor_twisted_nor_the_bot():
    code = (
        "import sys, agora_synapse, agora_synapse.protocol; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'synapse', 'twisted', 'bot'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert done.stdout.strip() == "[]"


def test_the_secret_is_compared_whole_and_nothing_matches_without_one():
    assert protocol.secret_matches(SECRET, SECRET)
    assert not protocol.secret_matches(SECRET[:-1], SECRET)
    assert not protocol.secret_matches(SECRET + "x", SECRET)
    assert not protocol.secret_matches(None, SECRET)
    assert not protocol.secret_matches("", None)
    assert not protocol.secret_matches(SECRET, None)


def test_the_config_takes_a_secret_or_a_file_and_the_bot(tmp_path: Path):
    file = tmp_path / "secret"
    file.write_text(SECRET + "\n")
    config = parse_config({"secret_path": str(file), "bot_user": "@agora:example.org"})
    assert (config.secret, config.bot_user) == (SECRET, "@agora:example.org")
    assert parse_config(None) == ModuleConfig()  # older homeserver.yaml files: records only
    bad = [
        ({"secret": "short", "bot_user": "@agora:example.org"}, "at least 32"),
        ({"secret": SECRET}, "bot_user"),
        ({"secret": SECRET, "secret_path": str(file), "bot_user": "@a:b"}, "not both"),
        ({"secret_path": str(tmp_path / "none"), "bot_user": "@a:b"}, "cannot read"),
        ({"secret": SECRET, "bot_user": "agora"}, "user id"),
        ({"secret": SECRET, "bot_user_pattern": "("}, "regular expression"),
        ({"secret": SECRET, "bot": "@agora:example.org"}, "unknown"),
    ]
    for raw, said in bad:
        with pytest.raises(ValueError, match=said):
            parse_config(raw)
    with pytest.raises(ValueError, match="this homeserver"):
        protocol.check_local_bot(config, "elsewhere.example")
    protocol.check_local_bot(config, "example.org")


def test_a_request_acts_for_a_bot_the_module_serves_only():
    one = ModuleConfig(SECRET, "@agora:example.org")
    assert one.acting_bot(None) == "@agora:example.org"
    assert one.acting_bot("@agora:example.org") == "@agora:example.org"
    with pytest.raises(Refused) as refused:
        one.acting_bot("@mallory:example.org")
    assert refused.value.status == 403
    many = parse_config({"secret": SECRET, "bot_user_pattern": r"@agora-[0-9a-f]{6}:.+"})
    assert many.is_bot("@agora-0a1b2c:localhost") and not many.is_bot("@agora-0a1b2c3:localhost")
    assert not many.is_bot("@x@agora-0a1b2c:localhost")  # the whole id, not a part of it
    with pytest.raises(Refused) as missing:
        many.acting_bot(None)  # which of them: the request must say
    assert missing.value.status == 400


def test_tokens_users_and_rooms_are_checked_before_anything_is_done():
    now = 1_000_000_000_000
    assert protocol.registration_token({"token": "agora-7-xY_z"}) == "agora-7-xY_z"
    assert protocol.expiry({"expiry_time": now + 14 * 86_400_000}, now) == now + 14 * 86_400_000
    refusals = [
        lambda: protocol.registration_token({"token": "a/b"}),
        lambda: protocol.registration_token({"token": "x" * 65}),
        lambda: protocol.registration_token({}),
        lambda: protocol.expiry({"expiry_time": now - 1}, now),  # already over
        lambda: protocol.expiry({"expiry_time": now + protocol.MAX_TOKEN_LIFE_MS + 1}, now),
        lambda: protocol.expiry({"expiry_time": True}, now),
        lambda: protocol.tokens({"tokens": ["ok"] * (protocol.MAX_LOOKUP + 1)}),
        lambda: protocol.room_id({"room_id": "#alias:example.org"}),
        lambda: protocol.local_user({"user_id": "nobody"}, "user_id", "example.org"),
    ]
    for refusal in refusals:
        with pytest.raises(Refused) as refused:
            refusal()
        assert refused.value.status == 400
    with pytest.raises(Refused) as remote:
        protocol.local_user({"user_id": "@eve:elsewhere.example"}, "user_id", "example.org")
    assert (remote.value.status, remote.value.errcode) == (403, "M_FORBIDDEN")
    assert protocol.local_user({"user_id": "@ana:example.org"}, "user_id", "example.org")


def test_the_bot_manages_a_room_it_is_in_with_the_power_to_invite_and_kick():
    levels = {"invite": 50, "kick": 75}
    assert protocol.manages(True, 100, levels)
    assert protocol.manages(True, 75, levels)
    assert not protocol.manages(True, 60, levels)  # may invite, may not kick
    assert not protocol.manages(False, 100, levels)  # not in the room
    assert protocol.manages(True, 50, {})  # the spec's defaults: invite 0, kick 50
    assert not protocol.manages(True, 0, None)
    assert not protocol.manages(True, 49, {"kick": "fifty"})  # unreadable: the default


def test_the_config_picks_the_privileges_and_where_their_secret_is(tmp_path: Path):
    from bot.config import parse_config as agora_config
    from bot.homeserver.admin import AdminPrivileges
    from bot.homeserver.module_client import ModulePrivileges
    from bot.homeserver.privileges import embedded_module_secret, privileges_for

    external = {
        "homeserver": {
            "embedded": False,
            "url": "https://matrix.example.org",
            "server_name": "example.org",
            "password": "pw",
            "module_secret": SECRET,
        }
    }
    module = privileges_for(agora_config(external, env={}), None, tmp_path)
    assert isinstance(module, ModulePrivileges) and module._secret() == SECRET
    external["homeserver"] |= {"privileges": "admin", "module_secret": None}
    admin = privileges_for(agora_config(external, env={}), None, tmp_path)
    assert isinstance(admin, AdminPrivileges)
    embedded = agora_config({"homeserver": {"server_name": "localhost"}}, env={})
    made = privileges_for(embedded, None, tmp_path)
    (tmp_path / "synapse").mkdir()
    (tmp_path / "synapse" / "secrets.json").write_text(json.dumps({"agora_module_secret": "e"}))
    assert made._secret() == "e" == embedded_module_secret(tmp_path)  # read when first used


def test_an_embedded_homeserver_gets_the_module_with_a_secret_kept_in_its_secrets(tmp_path: Path):
    from bot.homeserver.embedded import EmbeddedSynapse

    older = tmp_path / "synapse"
    older.mkdir()
    kept = {
        n: f"old-{n}" for n in ("registration_shared_secret", "macaroon_secret_key", "form_secret")
    }
    (older / "secrets.json").write_text(json.dumps(kept))  # a data directory from before
    hs = EmbeddedSynapse(tmp_path, "localhost", 8008, bot_user="@agora:localhost")
    secrets = hs.secrets()
    assert {k: secrets[k] for k in kept} == kept and len(secrets["agora_module_secret"]) >= 32
    assert hs.secrets() == secrets  # made once
    (module,) = hs.homeserver_config()["modules"]
    assert module == {
        "module": "agora_synapse.AgoraModule",
        "config": {"secret": secrets["agora_module_secret"], "bot_user": "@agora:localhost"},
    }
    assert parse_config(module["config"]).bot_user == "@agora:localhost"  # as Synapse reads it
    assert EmbeddedSynapse(tmp_path, "localhost", 8008).module_config() == {}  # records only


def test_the_deprecated_name_still_loads_the_module_as_older_homeserver_yaml_files_give_it():
    """As Synapse loads it (in a process of its own: Synapse and Twisted stay out of the
    tests')."""
    code = (
        "from agora_synapse.module import AgoraModule\n"
        "from bot.homeserver.registration_link import RegistrationLink\n"
        "from agora_synapse.protocol import ModuleConfig\n"
        "assert RegistrationLink is AgoraModule\n"
        "assert RegistrationLink.parse_config({}) == ModuleConfig()  # records only\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, cwd=Path.cwd()
    )
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_module_states_the_version_its_package_has():
    import tomllib

    from agora_synapse.module import VERSION

    pyproject = Path(__file__).resolve().parents[1] / "agora_synapse" / "pyproject.toml"
    assert tomllib.loads(pyproject.read_text())["project"]["version"] == VERSION
