"""The foundation, end to end against a real Synapse with real E2EE clients."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json

from tests.conftest import free_port
from tests.people import Person
from tests.test_territories import eventually

pytestmark = pytest.mark.integration


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _signed_by(obj: dict, user_id: str, public_key: str) -> bool:
    """Checked with signedjson (Synapse's own library), not with Agora's code."""
    verify_key = decode_verify_key_bytes(f"ed25519:{public_key}", _unb64(public_key))
    try:
        verify_signed_json(obj, user_id, verify_key)
    except SignatureVerifyException:
        return False
    return True


async def _wait_file(
    path: Path, key: str, proc: asyncio.subprocess.Process, timeout: float = 90
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise AssertionError(f"agora-bot exited early with code {proc.returncode}")
        if path.exists():
            data = json.loads(path.read_text())
            if data.get(key):
                return data
        await asyncio.sleep(0.3)
    raise AssertionError(f"{path} never got {key}")


async def _agora_run(
    tmp_path: Path, hs_port: int, web_port: int, *, new_session: bool = False, **override
) -> tuple[asyncio.subprocess.Process, Path]:
    """`agora-bot run` on the example config (its ports moved), as `make run` starts it
    (``new_session``: in a process group of its own, as a supervisor starts it)."""
    config = yaml.safe_load(Path("config.example.yaml").read_text())
    config["homeserver"]["url"] = f"http://127.0.0.1:{hs_port}"
    config["web"]["port"] = web_port
    config.update(override)
    config_path = tmp_path / "agora.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    data_dir = tmp_path / "data"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config_path),
        "--data-dir",
        str(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=new_session,
    )
    return proc, data_dir


async def test_run_starts_embedded_homeserver_writes_credentials_and_encrypted_control_room(
    tmp_path: Path,
):
    """What `make run` does, from a fresh data directory, as a separate process."""
    hs_port, web_port = free_port(), free_port()
    proc, data_dir = await _agora_run(tmp_path, hs_port, web_port)
    admin = None
    try:
        creds = await _wait_file(data_dir / "credentials.json", "control_room_id", proc)
        assert oct((data_dir / "credentials.json").stat().st_mode & 0o777) == "0o600"
        assert creds["bot_user_id"] == "@agora:localhost"
        assert creds["homeserver_url"] == f"http://127.0.0.1:{hs_port}"
        # Admins, and the animators (the on-call coordinator too) and manager the example
        # network names, got accounts.
        assert set(creds["users"]) == {
            "@admin:localhost",
            "@admin2:localhost",
            "@directrice:localhost",
            "@animatrice.vaucluse:localhost",
            "@animateur.cpts:localhost",
            "@coordination.pdsa84:localhost",
        }
        assert creds["registration_shared_secret"]

        admin = await Person.login(
            creds["homeserver_url"],
            "@admin:localhost",
            creds["users"]["@admin:localhost"],
            tmp_path / "admin",
        )
        room_id = creds["control_room_id"]
        await admin.accept_invite(room_id)
        state = {
            (e["type"], e.get("state_key")): e["content"]
            for e in (await admin.client.room_get_state(room_id)).events
        }
        assert state[("m.room.encryption", "")]["algorithm"] == "m.megolm.v1.aes-sha2"
        assert state[("m.room.join_rules", "")]["join_rule"] == "invite"
        assert state[("m.room.power_levels", "")]["users"]["@admin:localhost"] == 100
        assert state[("m.room.power_levels", "")]["users"]["@admin2:localhost"] == 100

        reply, reaction = await admin.command(room_id, "!ping")
        assert reply.encrypted and reply.body.startswith("pong")
        assert reaction == "✅"

        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{web_port}/healthz") as resp,
        ):
            assert resp.status == 200

        # A new data directory's bot is an ordinary user: the admin API refuses its token
        # (what it needs goes through Agora's Synapse module, its secret kept by the homeserver).
        token = json.loads((data_dir / "bot-session.json").read_text())["access_token"]
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{hs_port}/_synapse/admin/v2/users",
                headers={"Authorization": f"Bearer {token}"},
            ) as resp,
        ):
            assert resp.status == 403
        secrets_file = json.loads((data_dir / "synapse" / "secrets.json").read_text())
        assert len(secrets_file["agora_module_secret"]) >= 32

        # The example network is applied by the running bot: `plan` beside it ends up empty.
        deadline = time.monotonic() + 120
        while True:
            plan = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "plan",
                "--config",
                str(data_dir.parent / "agora.yaml"),
                "--data-dir",
                str(data_dir),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await plan.communicate()
            if plan.returncode == 0 and "Rien à faire" in out.decode():
                break
            assert time.monotonic() < deadline, (out + err).decode()
            await asyncio.sleep(2)
    finally:
        if admin:
            await admin.close()
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 60)
        output = (await proc.stdout.read()).decode()
        print(output[-20000:])  # shown when the test fails
    assert code == 0, output
    assert "Synapse stopped" in output
    with pytest.raises(OSError):  # the embedded homeserver went down with the bot
        _, writer = await asyncio.open_connection("127.0.0.1", hs_port)
        writer.close()


async def test_crashed_embedded_synapse_is_reported_and_stops_the_bot(tmp_path: Path):
    proc, data_dir = await _agora_run(
        tmp_path, free_port(), free_port(), network={}, vetting={}, rosters={}
    )
    try:
        await _wait_file(data_dir / "credentials.json", "control_room_id", proc)
        pid = int((data_dir / "synapse" / "synapse.pid").read_text())
        os.kill(pid, signal.SIGKILL)  # Synapse dies under the bot
        code = await asyncio.wait_for(proc.wait(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    output = (await proc.stdout.read()).decode()
    assert code == 1
    assert "Synapse stopped unexpectedly (exit code -9)" in output


async def test_admin_ping_in_control_room_is_answered_encrypted(network):
    reply, reaction = await network.admin.command(network.control, "!ping")
    assert reply.encrypted
    assert reply.body.startswith("pong")
    assert reply.event.sender == network.bot.gateway.user_id
    assert reaction == "✅"


async def test_admin_status_shows_device_fingerprint_and_cross_signing(network):
    reply, reaction = await network.admin.command(network.control, "!status")
    assert reaction == "✅"
    assert network.bot.gateway.device_id in reply.body
    ed25519 = network.bot.client.olm.account.identity_keys["ed25519"]
    assert ed25519[:4] in reply.body
    assert "appareil signé par l'identité du bot" in reply.body
    assert "commandes traitées" in reply.body


async def test_non_admin_status_in_dm_is_refused(network, person):
    nurse = await person("infirmiere")
    dm = await nurse.dm(network.bot.gateway.user_id)
    reply, reaction = await nurse.command(dm, "!status")
    assert reply.encrypted
    assert "réservée aux administrateurs" in reply.body
    assert network.bot.gateway.device_id not in reply.body  # nothing revealed
    assert reaction == "❌"

    async def audited() -> bool:  # written just after the ❌ went out
        return any(
            e["actor"] == nurse.user_id and e["action"] == "status" and e["outcome"] == "refused"
            for e in await network.bot.store.audit_entries()
        )

    await eventually(audited, "the refusal audited")


async def test_member_ping_in_dm_is_answered(network, person):
    nurse = await person("infirmiere")
    dm = await nurse.dm(network.bot.gateway.user_id)
    reply, reaction = await nurse.command(dm, "!ping")
    assert reply.body.startswith("pong") and reaction == "✅"


async def test_an_outsider_invited_into_the_control_room_is_removed_and_reads_nothing(
    network, person
):
    intruder = await person("intrus")
    await network.admin.client.room_invite(network.control, intruder.user_id)
    note = await network.admin.wait_for(
        lambda: [
            s
            for s in network.admin.seen
            if s.room_id == network.control and intruder.user_id in s.body and "retiré" in s.body
        ],
        "the note that the outsider was removed",
    )
    assert "n'est pas administrateur" in note[0].body

    async def out() -> bool:
        members = await network.bot.gateway.members(network.control)
        return members.get(intruder.user_id) not in ("join", "invite")

    await eventually(out, "the outsider out of the control room")


async def test_unencrypted_command_in_control_room_is_ignored_and_noted_once(network):
    """An admin command must come end-to-end encrypted, even from an admin: an unencrypted one
    is not acted on (no answer, no reaction), and the room is told once."""
    client = network.admin.client

    async def plain(body: str) -> str:
        path = (
            f"/_matrix/client/v3/rooms/{network.control}/send/m.room.message/plain-{time.time_ns()}"
        )
        resp = await client.send(
            "PUT",
            path,
            json.dumps({"msgtype": "m.text", "body": body}),
            {"Authorization": f"Bearer {client.access_token}", "Content-Type": "application/json"},
        )
        return (await resp.json())["event_id"]

    first = await plain("!status")
    second = await plain("!requests")
    await network.admin.wait_for(
        lambda: [s for s in network.admin.seen if "non chiffrés" in s.body], "the note"
    )
    answer, _ = await network.admin.command(network.control, "!ping")  # after both, in order
    assert answer.body.startswith("pong")
    notes = [s for s in network.admin.seen if "non chiffrés" in s.body]
    assert len(notes) == 1 and network.admin.user_id in notes[0].body
    for event_id in (first, second):
        assert not network.admin.replies_to(event_id)
        assert not network.admin.reactions_to(event_id)
    audit = await network.bot.store.audit_entries()
    assert sum(1 for a in audit if a["detail"] == "unencrypted") == 2


async def test_unknown_command_suggests_the_closest(network):
    reply, reaction = await network.admin.command(network.control, "!pign")
    assert "Commande inconnue : !pign" in reply.body
    assert "Vouliez-vous dire !ping" in reply.body
    assert reaction == "❌"


async def test_help_is_generated_from_the_registry(network):
    reply, _ = await network.admin.command(network.control, "!help")
    for usage in ("!ping", "!help [commande]", "!status"):
        assert usage in reply.body
    # What an admin may do in the control room, grouped, usages as code, examples given.
    assert reply.body.startswith("Ce que vous pouvez faire ici (salon de contrôle)")
    assert "\nAdministrateurs\n" in reply.body and "\nPour tous les membres\n" in reply.body
    html = reply.content["formatted_body"]
    assert "<strong>Administrateurs</strong>" in html and "<code>!status</code>" in html
    assert "ex. <code>!approve 12</code>" in html
    detail, reaction = await network.admin.command(network.control, "!help status")
    assert "Réservée à : administrateurs" in detail.body and reaction == "✅"
    bad, reaction = await network.admin.command(network.control, "!help nimportequoi")
    assert "n'est pas une commande connue" in bad.body
    assert "Usage : !help [commande]" in bad.body and reaction == "❌"


@pytest.mark.topologies
async def test_restart_neither_replays_nor_misses_commands(person, start_bot, tmp_path):
    admin = await person("admin")
    first = await start_bot([admin.user_id])
    account, data_dir = first.account, first.data_dir
    control = first.control.room_id
    device = first.gateway.device_id
    await admin.accept_invite(control)
    before, _ = await admin.command(control, "!ping")

    await first.stop()
    while_down = [await admin.say(control, "!ping"), await admin.say(control, "!help ping")]

    second = await start_bot([admin.user_id], account=account, data_dir=data_dir)
    assert second.gateway.device_id == device  # same device, no new login
    assert second.control.room_id == control
    for event_id in while_down:
        await admin.reply_to(event_id)
    # A command after them proves the bot went past them; then count.
    await admin.command(control, "!ping")
    for event_id in while_down:
        assert len(admin.replies_to(event_id)) == 1
    assert len(admin.replies_to(before.reply_to)) == 1  # not answered again
    assert len(admin.undecryptable) == 0


async def test_a_direct_chat_opened_just_before_a_crash_is_kept_not_opened_again(person, start_bot):
    from bot.matrix.direct import DM_MARK

    admin, nurse = await person("admin"), await person("infirmiere")
    first = await start_bot([admin.user_id])
    # What DirectChats.room_for does, cut short before the room is recorded.
    made = await first.gateway.raw(
        "POST",
        "/_matrix/client/v3/createRoom",
        {
            "preset": "trusted_private_chat",
            "is_direct": True,
            "invite": [nurse.user_id],
            "initial_state": [
                {"type": DM_MARK, "state_key": "", "content": {"for": nurse.user_id}}
            ],
        },
    )
    stray = await first.gateway.raw(
        "POST", "/_matrix/client/v3/createRoom", {"preset": "private_chat"}
    )
    await first.stop()
    second = await start_bot([admin.user_id], account=first.account, data_dir=first.data_dir)
    assert await second.store.dm_with(nurse.user_id) == made["room_id"]
    assert await second.core.direct.room_for(nurse.user_id) == made["room_id"]
    # Any other room it is in but does not serve is still left.
    members = await second.gateway.members(stray["room_id"])
    assert members.get(second.gateway.user_id) == "leave"


async def test_someone_invited_before_a_restart_reads_what_the_bot_says_after_it(person, start_bot):
    """The sync brings members lazily (with the events they send), so the restarted bot's
    view of a direct chat does not hold the person it invited before the restart until it
    reads the room's members; it must before sharing the room key, or they could not read."""
    from bot.matrix.content import notice

    admin, nurse = await person("admin"), await person("infirmiere")
    first = await start_bot([admin.user_id])
    room = await first.core.direct.room_for(nurse.user_id)
    await first.stop()

    second = await start_bot([admin.user_id], account=first.account, data_dir=first.data_dir)
    event_id = await second.gateway.send(room, notice("Bonjour après le redémarrage"))
    await nurse.accept_invite(room)
    seen = await nurse.wait_for(
        lambda: [s for s in nurse.seen if s.event_id == event_id], "the bot's message"
    )
    assert seen[0].encrypted and seen[0].body == "Bonjour après le redémarrage"
    assert not nurse.undecryptable
    assert second.gateway.synced_members(room) == {
        second.gateway.user_id: "join",
        nurse.user_id: "join",
    }


async def test_bot_device_is_signed_by_its_self_signing_key(network, person):
    observer = await person("observateur")
    user_id, device_id = network.bot.gateway.user_id, network.bot.gateway.device_id
    resp = await observer.client.send(
        "POST",
        "/_matrix/client/v3/keys/query",
        json.dumps({"device_keys": {user_id: []}}),
        {
            "Authorization": f"Bearer {observer.client.access_token}",
            "Content-Type": "application/json",
        },
    )
    keys = await resp.json()
    master = keys["master_keys"][user_id]
    ssk = keys["self_signing_keys"][user_id]
    device = keys["device_keys"][user_id][device_id]
    master_pub = next(iter(master["keys"].values()))
    ssk_pub = next(iter(ssk["keys"].values()))
    assert ssk["usage"] == ["self_signing"]
    assert _signed_by(ssk, user_id, master_pub)
    assert _signed_by(device, user_id, ssk_pub)
    key_file = network.bot.data_dir / "cross-signing.json"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


async def test_restart_keeps_cross_signing_identity(person, start_bot):
    admin = await person("admin")
    first = await start_bot([admin.user_id])
    master_before = (await first.gateway.query_keys([first.gateway.user_id]))["master_keys"]
    account, data_dir = first.account, first.data_dir
    await first.stop()
    second = await start_bot([admin.user_id], account=account, data_dir=data_dir)
    keys = await second.gateway.query_keys([second.gateway.user_id])
    assert keys["master_keys"] == master_before
    assert (await second.runtime.status_info())["cross_signed"]


async def test_admin_who_leaves_the_control_room_is_invited_again(network):
    await network.admin.client.room_leave(network.control)
    network.admin.invites.discard(network.control)
    await network.admin.accept_invite(network.control)


async def test_bot_declines_invites_to_rooms_that_are_not_direct_chats(network):
    admin = network.admin
    resp = await admin.client.room_create(
        name="Salon quelconque", invite=[network.bot.gateway.user_id]
    )
    room_id = resp.room_id

    async def bot_membership() -> str | None:
        state = await admin.client.room_get_state_event(
            room_id, "m.room.member", network.bot.gateway.user_id
        )
        return state.content.get("membership")

    deadline = time.monotonic() + 20
    while await bot_membership() != "leave":
        assert time.monotonic() < deadline, "the bot did not decline the invite"
        await asyncio.sleep(0.2)


async def test_healthz_and_metrics_answer(network):
    await network.admin.command(network.control, "!ping")
    base = f"http://127.0.0.1:{network.bot.web.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/healthz") as resp:
            assert resp.status == 200
            body = await resp.json()
            assert body["status"] == "ok" and body["last_sync_seconds_ago"] < 120
        # The ✅ is the last the admin sees; the command's bookkeeping (audit, counters)
        # follows it.
        deadline = time.monotonic() + 10
        while True:
            async with http.get(base + "/metrics") as resp:
                assert resp.status == 200
                text = await resp.text()
            if 'agora_commands_total{outcome="ok"}' in text or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    assert 'agora_commands_total{outcome="ok"}' in text
    assert "agora_sync_lag_seconds" in text
    assert "agora_matrix_request_errors_total" in text or "agora_matrix_request_errors" in text


async def test_healthz_is_503_when_sync_is_stale(network, monkeypatch):
    # As if the homeserver were gone: the last sync long ago, and none coming meanwhile (the
    # real outage is the fault tests' SIGSTOP).
    monkeypatch.setattr(network.bot.metrics, "mark_synced", lambda: None)
    network.bot.metrics.last_sync = time.time() - 10_000
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{network.bot.web.port}/healthz") as resp,
    ):
        assert resp.status == 503
        assert (await resp.json())["status"] == "unhealthy"


def test_check_config_names_the_bad_key(tmp_path: Path):
    bad = yaml.safe_load(Path("config.example.yaml").read_text())
    bad["admins"][1] = "admin2@localhost"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(path)],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": "."},
    )
    assert result.returncode == 2
    assert "admins[1]: expected a Matrix user id" in result.stderr
    good = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "config.example.yaml"],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr


def test_run_refuses_a_bad_config_before_starting_anything(tmp_path: Path):
    import subprocess

    path = tmp_path / "bad.yaml"
    path.write_text("homeserver:\n  server_name: localhost\n  embedded: maybe\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(path),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "homeserver.embedded: expected true or false" in result.stderr
    assert not (tmp_path / "data").exists()
