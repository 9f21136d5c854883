"""A backup taken while the bot runs, put back into a fresh data directory: the bot carries on
as the same device with the same cross-signing identity, the people's clients read its new
messages, nothing it had done is done again, and the job it had pending runs, once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import tarfile
import time

import aiohttp
import pytest

from tests.conftest import agora_cli, free_port
from tests.people import Person
from tests.test_foundation import _agora_run, _wait_file
from tests.test_news import later
from tests.test_territories import eventually, seated_member, tree

pytestmark = pytest.mark.integration


async def count(agora, sql: str, *params) -> int:
    async with agora.store.db.execute(sql, params) as cur:
        return (await cur.fetchone())[0]


async def bot_events(agora, room_id: str) -> int:
    """The bot's messages in a room, as the homeserver has them."""
    data = await agora.gateway.raw(
        "GET", f"/_matrix/client/v3/rooms/{room_id}/messages", query={"dir": "b", "limit": "100"}
    )
    return len(
        [
            e
            for e in data["chunk"]
            if e["sender"] == agora.gateway.user_id and e["type"] == "m.room.encrypted"
        ]
    )


async def test_a_bot_restored_from_a_backup_taken_while_it_ran_carries_on(
    person, start_bot, tmp_path
):
    sfx = secrets.token_hex(3)
    first, admin, member, ids = await seated_member(person, start_bot, sfx)
    control, community = first.control.room_id, ids[f"vaucluse-{sfx}.communaute"]
    bot, device = first.gateway.user_id, first.gateway.device_id

    # Its work before the backup: a command answered, an alert broadcast whose reminder to
    # those who have not acknowledged it is a job due in two hours.
    pong, _ = await admin.command(control, "!ping")
    answer, reaction = await admin.command(control, f"!alert vaucluse-{sfx} Canicule : niveau 3")
    assert reaction == "✅", answer.body
    number = int(answer.body.split("#")[1].split()[0])

    def alerts_seen() -> list:
        return [s for s in member.seen if s.room_id == community and "Canicule" in s.body]

    await member.wait_for(alerts_seen, "the alert")

    async def delivered() -> bool:
        sql = "SELECT COUNT(*) FROM deliveries WHERE message = ? AND event_id IS NULL"
        return await count(first, sql, f"alert:{number}") == 0

    await eventually(delivered, "the broadcast's end")
    posted = {room: await bot_events(first, room) for room in ids.values()}
    identity = first.client.olm.account.identity_keys["ed25519"]
    master = (await first.gateway.query_keys([bot]))["master_keys"][bot]

    archive = tmp_path / "agora.tar.gz"
    made = await agora_cli("backup", "--data-dir", str(first.data_dir), "--output", str(archive))
    assert made.returncode == 0, made.stderr
    assert "agora.db: " in made.stdout and "(copied online)" in made.stdout
    assert archive.stat().st_mode & 0o777 == 0o600
    refused = await agora_cli("restore", str(archive), "--data-dir", str(first.data_dir), "--force")
    assert refused.returncode == 1 and "is running on" in refused.stderr
    await first.stop()

    fresh = tmp_path / "restored"
    put = await agora_cli("restore", str(archive), "--data-dir", str(fresh))
    assert put.returncode == 0, put.stderr
    again = await start_bot(
        [admin.user_id], account=first.account, data_dir=fresh, network=tree(sfx)
    )
    assert again.data_dir == fresh.resolve()

    # The same device and identity: nothing for anyone to verify again.
    assert again.gateway.device_id == device
    assert again.client.olm.account.identity_keys["ed25519"] == identity
    assert (await again.gateway.query_keys([bot]))["master_keys"][bot] == master
    assert (await again.runtime.status_info())["cross_signed"]
    known = admin.client.device_store.active_user_devices(bot)
    assert [(d.id, d.ed25519) for d in known] == [(device, identity)]

    # Its new messages are read in the encrypted control room.
    after, reaction = await admin.command(control, "!ping")
    assert after.encrypted and reaction == "✅"
    assert admin.undecryptable == [] and member.undecryptable == []

    # Nothing it had done is done again: the answers, the alert, its broadcast.
    assert len(admin.replies_to(pong.reply_to)) == 1
    assert len(admin.replies_to(answer.reply_to)) == 1
    assert await count(again, "SELECT COUNT(*) FROM alerts") == 1
    assert await count(again, "SELECT COUNT(*) FROM audit WHERE action = 'alert.post'") == 1
    assert {room: await bot_events(again, room) for room in ids.values()} == posted
    assert len(alerts_seen()) == 1

    # The reminder still due: it runs when its time comes, once.
    later(again, 3 * 3600)
    dm = await member.accept_direct_chat(bot)
    reminder = await member.wait_for(
        lambda: [s for s in member.seen if f"Rappel — alerte #{number}" in s.body],
        "the reminder",
    )
    assert reminder[0].encrypted

    async def reminded() -> bool:
        sql = "SELECT COUNT(*) FROM audit WHERE action = 'alert.remind'"
        return await count(again, sql) == 1

    await eventually(reminded, "the reminder's job done")
    await member.command(dm, "!ping")  # the bot went past anything the job could send again
    assert len([s for s in member.seen if "Rappel — alerte" in s.body]) == 1
    sql = "SELECT status, COUNT(*) FROM jobs WHERE kind = 'alerts.remind' GROUP BY status"
    async with again.store.db.execute(sql) as cur:
        assert [tuple(r) for r in await cur.fetchall()] == [("done", 1)]


async def one_time_keys(agora) -> int:
    """How many of the bot's one-time keys the homeserver holds for others to take."""
    counts = await agora.gateway.raw("POST", "/_matrix/client/v3/keys/upload", {})
    return counts["one_time_key_counts"].get("signed_curve25519", 0)


async def test_a_bot_restored_from_an_older_backup_moves_past_the_keys_it_handed_out_since(
    person, start_bot, tmp_path
):
    """Between the backup and the loss, people wrote to the bot for the first time: each of
    their devices took one of its one-time keys, which it replaced with new ones the
    restored account never made, numbered as the restored one numbers its next. It still
    replaces the keys it hands out, and newcomers still write to it."""
    admin = await person("admin")
    first = await start_bot([admin.user_id])
    control, bot = first.control.room_id, first.gateway.user_id
    await admin.accept_invite(control)
    await admin.command(control, "!ping")
    archive = tmp_path / "agora.tar.gz"
    made = await agora_cli("backup", "--data-dir", str(first.data_dir), "--output", str(archive))
    assert made.returncode == 0, made.stderr
    full = await one_time_keys(first)

    for _ in range(2):  # after the backup
        someone = await person("membre")
        _, reaction = await someone.command(await someone.dm(bot), "!ping")
        assert reaction == "✅"
    await first.stop()

    fresh = tmp_path / "restored"
    put = await agora_cli("restore", str(archive), "--data-dir", str(fresh))
    assert put.returncode == 0, put.stderr
    again = await start_bot([admin.user_id], account=first.account, data_dir=fresh)
    for _ in range(2):  # each takes one of its keys, which it replaces
        newcomer = await person("nouvelle")
        answer, reaction = await newcomer.command(await newcomer.dm(bot), "!ping")
        assert answer.encrypted and reaction == "✅"

        async def replaced() -> bool:
            return await one_time_keys(again) == full

        await eventually(replaced, "its one-time keys replaced")
    assert again.client.olm.account.one_time_keys["curve25519"] == {}  # none refused, left
    after, reaction = await admin.command(control, "!ping")
    assert after.encrypted and reaction == "✅"


async def test_an_embedded_region_is_backed_up_whole_and_starts_again_from_the_backup(tmp_path):
    """What `make run` made (the bot and its homeserver in one data directory): one backup
    while it runs, put back into a fresh directory, and the region goes on from there: the
    same homeserver (its accounts, sessions and signing key), the same bot device, the
    admin's client reading its new messages without logging in again."""
    hs_port, web_port = free_port(), free_port()
    light = {"network": {}, "vetting": {}, "rosters": {}}
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
    proc, data_dir = await _agora_run(tmp_path / "first", hs_port, web_port, **light)
    admin = None
    try:
        creds = await _wait_file(data_dir / "credentials.json", "control_room_id", proc)
        control = creds["control_room_id"]
        admin = await Person.login(
            creds["homeserver_url"],
            "@admin:localhost",
            creds["users"]["@admin:localhost"],
            tmp_path / "admin",
        )
        await admin.accept_invite(control)
        pong, _ = await admin.command(control, "!ping")
        archive = tmp_path / "region.tar.gz"
        made = await agora_cli("backup", "--data-dir", str(data_dir), "--output", str(archive))
        assert made.returncode == 0, made.stderr
        assert "synapse/homeserver.db: " in made.stdout
        manifest = json.loads(_member(archive, "manifest.json"))
        assert manifest["embedded_homeserver"] is True
        kept = {f["path"] for f in manifest["files"]}
        assert {"synapse/signing.key", "synapse/secrets.json", "synapse/bot-password"} <= kept
        assert {"credentials.json", "bot-session.json", "cross-signing.json"} <= kept
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
        # (What the bot said in its control room before the admin joined stays unread.)
        unread = len(admin.undecryptable)

        second = tmp_path / "second"
        put = await agora_cli("restore", str(archive), "--data-dir", str(second / "data"))
        assert put.returncode == 0, put.stderr
        proc, restored = await _agora_run(second, hs_port, web_port, **light)
        await _healthy(web_port, proc)
        after, reaction = await admin.command(control, "!ping")
        assert after.encrypted and reaction == "✅"
        assert len(admin.replies_to(pong.reply_to)) == 1  # not answered again
        assert len(admin.undecryptable) == unread  # all it sent since, read
        for same in ("bot-session.json", "synapse/signing.key", "synapse/secrets.json"):
            assert (restored / same).read_bytes() == (data_dir / same).read_bytes(), same
    finally:
        if admin:
            await admin.close()
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 60)
        output = (await proc.stdout.read()).decode()
        print(output[-20000:])  # shown when the test fails
    assert code == 0, output


async def _healthy(port: int, proc, timeout: float = 120) -> None:
    """The bot started: synced, its web server answering."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.returncode is None, f"agora-bot exited with code {proc.returncode}"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            assert time.monotonic() < deadline, "the restored bot never became healthy"
            await asyncio.sleep(0.5)


def _member(archive, name: str) -> bytes:
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read()
