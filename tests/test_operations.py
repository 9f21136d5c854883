"""What an operator runs and watches, against the tests' real Synapse: the metrics a scrape
finds after some activity, the bot under systemd (`agora-bot run` telling a notification
socket it is ready and alive, its secrets from $CREDENTIALS_DIRECTORY, its log in JSON), and
`agora-bot doctor` saying what to fix, then that all is well."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from agora_synapse.module import VERSION as MODULE_VERSION
from bot.news.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.version import version
from tests.conftest import (
    agora_cli,
    bot_config,
    free_port,
    module_secret,
    register,
    server_admin_call,
)
from tests.test_territories import eventually, seated_member

pytestmark = pytest.mark.integration

HOOK_SECRET = "ops-" + "k" * 40


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(port: int) -> dict[tuple[str, tuple], float]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        assert resp.status == 200
        return samples(await resp.text())


async def test_a_scrape_after_some_activity_finds_every_series_with_sensible_values(
    person, start_bot
):
    sfx = secrets.token_hex(3)
    dead_feed = f"http://127.0.0.1:{free_port()}/flux.xml"  # nothing listens there
    agora, admin, member, ids = await seated_member(
        person,
        start_bot,
        sfx,
        web={"port": 0, "metrics_port": 0},
        hooks={"news": {"secret": HOOK_SECRET}},
        feeds=[{"url": dead_feed, "territory": f"vaucluse-{sfx}"}],
    )
    _, reaction = await admin.command(agora.control.room_id, "!ping")
    assert reaction == "✅"
    # Someone unvetted invited into a managed room: enforcement takes them out.
    outsider = await person("exterieur")
    community = ids[f"vaucluse-{sfx}.communaute"]
    await member.client.room_invite(community, outsider.user_id)

    async def removed():
        return (await agora.gateway.members(community)).get(outsider.user_id) not in (
            "join",
            "invite",
        )

    await eventually(removed, "the outsider's removal")
    base = f"http://127.0.0.1:{agora.web.port}"
    async with aiohttp.ClientSession() as http:
        body = json.dumps({"territory": f"vaucluse-{sfx}", "text": "Réunion ARS"}).encode()
        stamp = str(int(time.time()))
        signed = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(HOOK_SECRET, stamp, body)}
        async with http.post(base + "/hooks/news", data=body, headers=signed) as resp:
            assert resp.status == 202
        forged = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign("x" * 40, stamp, body)}
        async with http.post(base + "/hooks/news", data=body, headers=forged) as resp:
            assert resp.status == 401
        async with http.post(base + "/join", data={"nom": "X"}) as resp:
            assert resp.status == 403  # no CSRF cookie: refused, nothing read
        async with http.get(base + "/metrics") as resp:
            assert resp.status == 404  # on its own listener, not beside the public pages

    async def settled():
        found = await scrape(agora.web.metrics_port)
        done = found[("agora_jobs", (("state", "done"),))]
        failures = sum(
            v for (name, _), v in found.items() if name == "agora_feed_fetch_failures_total"
        )
        backlog = found[("agora_inbox_backlog", ())]
        return found if done >= 1 and failures and backlog == 0 else None

    found = await eventually(settled, "the news delivered and the feed tried", timeout=60)
    now = time.time()
    builds = [labels for (name, labels), v in found.items() if name == "agora_build_info"]
    assert len(builds) == 1 and ("version", version()) in builds[0]
    assert now - 60 < found[("agora_last_sync_timestamp_seconds", ())] <= now + 1
    assert 0 <= found[("agora_sync_lag_seconds", ())] < 60
    assert found[("agora_commands_total", (("outcome", "ok"),))] >= 1
    for state in ("waiting", "retrying", "failed", "done", "cancelled"):
        assert found[("agora_jobs", (("state", state),))] >= 0
    assert found[("agora_jobs", (("state", "failed"),))] == 0
    assert found[("agora_enforcement_removals_total", (("reason", "not_allowed"),))] >= 1
    assert found[("agora_enforcement_removals_total", (("reason", "banned"),))] == 0
    hooks = {
        labels: v for (name, labels), v in found.items() if name == "agora_webhook_requests_total"
    }
    assert hooks == {
        (("hook", "news"), ("result", "accepted")): 1,
        (("hook", "news"), ("result", "refused")): 1,
    }
    forms = {
        labels: v for (name, labels), v in found.items() if name == "agora_web_form_posts_total"
    }
    assert forms == {(("form", "join"), ("result", "refused_csrf")): 1}


# --- the bot under systemd --------------------------------------------------------------------


async def test_under_systemd_the_bot_says_ready_feeds_the_watchdog_and_says_it_stops(
    synapse, tmp_path: Path
):
    user_id, password = await register(synapse, "agora")
    credentials = tmp_path / "credentials"  # what LoadCredential= makes
    credentials.mkdir()
    (credentials / "bot-password").write_text(password + "\n")
    config = bot_config(synapse, user_id[1:].split(":")[0], password, [])
    del config["homeserver"]["password"]
    config["homeserver"]["password_file"] = "bot-password"
    web_port = free_port()
    config["web"] = {"port": web_port}
    config["log_format"] = "json"
    config_path = tmp_path / "agora.yaml"
    config_path.write_text(yaml.safe_dump(config))

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.setblocking(False)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config_path),
        "--data-dir",
        str(tmp_path / "data"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ
        | {
            "NOTIFY_SOCKET": str(tmp_path / "notify"),
            "WATCHDOG_USEC": "1000000",  # WatchdogSec=1: WATCHDOG=1 every half second
            "CREDENTIALS_DIRECTORY": str(credentials),
        },
    )
    stderr = bytearray()

    async def drain() -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(65536):
            stderr.extend(chunk)

    draining = asyncio.create_task(drain())
    loop = asyncio.get_running_loop()

    async def message() -> list[str]:
        data = await asyncio.wait_for(loop.sock_recv(notify, 4096), 120)
        return data.decode().split("\n")

    try:
        received: list[list[str]] = []
        while not any("READY=1" in m for m in received):
            received.append(await message())
            assert proc.returncode is None, stderr.decode()[-5000:]
        ready = next(m for m in received if "READY=1" in m)
        assert any(line.startswith("STATUS=running as " + user_id) for line in ready)
        # Ready means served: synced, and the web server answers healthy.
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{web_port}/healthz") as resp,
        ):
            assert resp.status == 200
        pings, started = 0, loop.time()
        while pings < 3:
            pings += (await message()) == ["WATCHDOG=1"]
        assert loop.time() - started < 5
        proc.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in (last := await message()):
            assert last == ["WATCHDOG=1"], last
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await draining
        notify.close()
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    assert lines, stderr.decode()[-5000:]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert any(line["message"].startswith("Agora ") and "running as" in line["message"]
               for line in lines)  # fmt: skip


# --- agora-bot doctor -------------------------------------------------------------------------


async def test_doctor_says_what_to_fix_then_that_all_is_in_place(synapse, tmp_path: Path):
    """Module mode (the default): the bot is no server admin, the module answers its secret;
    what is left to fix is said, then that all is in place."""
    user_id, password = await register(synapse, "agora")
    localpart = user_id[1:].split(":")[0]
    config = bot_config(synapse, localpart, password, [])
    config["federation"] = {"peer_bots": ["@agora:region-voisine.invalid"]}
    path = tmp_path / "agora.yaml"
    path.write_text(yaml.safe_dump(config))
    args = ("doctor", "--config", str(path), "--data-dir", str(tmp_path / "data"))

    first = await agora_cli(*args)
    print(first.stdout)  # shown when the test fails
    assert first.returncode == 1, first.stdout + first.stderr
    out = first.stdout
    assert "✅ Serveur joignable : Synapse" in out
    assert "✅ Privilèges : le module Synapse d'Agora" in out
    assert f"✅ Le bot se connecte : {user_id}" in out
    assert "✅ Le bot n'est pas administrateur du serveur" in out
    assert f"✅ Le module Synapse d'Agora (version {MODULE_VERSION}) répond au secret du bot" in out
    assert "✅ Inscription sur jeton seulement." in out
    assert "❌ Le bot est soumis aux limites de débit" in out
    assert "❌ Fédération avec region-voisine.invalid : injoignable" in out
    assert "Points à corriger : 2." in out

    # A secret that is not the module's: refused, and said.
    wrong = dict(config, homeserver=dict(config["homeserver"], module_secret="w" * 40))
    path.write_text(yaml.safe_dump(wrong))
    refused = await agora_cli(*args)
    assert "❌ Le module Synapse d'Agora refuse le secret du bot" in refused.stdout
    assert "module_secret_file" in refused.stdout  # how to fix it

    # What the bot asks at its start on an embedded homeserver: its rate limits lifted.
    async with aiohttp.ClientSession() as http:
        async with http.post(
            synapse.url + "/_synapse/client/agora/v1/ratelimit/exempt",
            json={"bot": user_id},
            headers={"X-Agora-Secret": module_secret(synapse)},
        ) as resp:
            assert resp.status == 200
    config["federation"] = {}
    config["locale"] = "en"
    path.write_text(yaml.safe_dump(config))
    third = await agora_cli(*args)
    print(third.stdout)
    assert third.returncode == 0, third.stdout
    assert "✅ The bot is not a server admin: the admin API refuses it." in third.stdout
    assert "✅ The bot is exempt from rate limits." in third.stdout
    assert "Everything Agora needs is in place." in third.stdout
    assert "Warnings" not in third.stdout
    # It logged in with the password for its checks, and left no device of its own behind
    # (the one registration made stays).
    status, devices = await server_admin_call(
        synapse, "GET", f"/_synapse/admin/v2/users/{user_id}/devices"
    )
    assert status == 200
    assert "AGORA_DOCTOR" not in {d["device_id"] for d in devices["devices"]}
    assert len(devices["devices"]) == 1


async def test_doctor_warns_of_admin_privileges_and_of_an_admin_bot_in_module_mode(
    synapse, tmp_path: Path
):
    user_id, password = await register(synapse, "agora")
    localpart = user_id[1:].split(":")[0]
    config = bot_config(synapse, localpart, password, [], privileges="admin", locale="en")
    path = tmp_path / "agora.yaml"
    path.write_text(yaml.safe_dump(config))
    args = ("doctor", "--config", str(path), "--data-dir", str(tmp_path / "data"))
    checked = await agora_cli("check-config", "--config", str(path))
    assert "Privileges: Synapse's admin API" in checked.stdout

    first = await agora_cli(*args)
    print(first.stdout)
    assert first.returncode == 1
    assert "⚠️  Privileges: Synapse's admin API" in first.stdout
    assert "could reset any password" in first.stdout
    assert "❌ The bot is not a server admin" in first.stdout
    assert "/_synapse/admin/v2/users/" in first.stdout  # how to fix it

    # The operator makes it one (and exempts it): admin mode is in place, with its warning.
    for method, where, body in (
        ("PUT", f"/_synapse/admin/v2/users/{user_id}", {"admin": True}),
        (
            "POST",
            f"/_synapse/admin/v1/users/{user_id}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
        ),
    ):
        status, _ = await server_admin_call(synapse, method, where, body)
        assert status == 200
    second = await agora_cli(*args)
    print(second.stdout)
    assert second.returncode == 0, second.stdout
    assert "✅ The bot is a server admin." in second.stdout
    assert "✅ The bot is exempt from rate limits." in second.stdout
    assert "Warnings: 1." in second.stdout

    # Back to module mode with that admin bot (an older embedded bot's case): it works, and
    # the doctor says the right is needless.
    module = bot_config(synapse, localpart, password, [], locale="en")
    path.write_text(yaml.safe_dump(module))
    third = await agora_cli(*args)
    print(third.stdout)
    assert third.returncode == 0, third.stdout
    assert "⚠️  The bot is a server admin, which module mode does not need" in third.stdout
    assert '{"admin": false}' in third.stdout  # how to take it back
    checked = await agora_cli("check-config", "--config", str(path))
    assert "Privileges: Agora's Synapse module" in checked.stdout
