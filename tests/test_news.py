"""News and alerts against a real Synapse, read by a member's E2EE client: feeds from a local
feed server (changes, 304, failures), manual news, alerts and acknowledgements, reminders,
a restart in the middle of a broadcast, signed webhooks and the public page."""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import aiohttp
import feedparser
import pytest
from nio import JoinResponse

from bot.news.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.conftest import free_port, vet
from tests.feedserver import FeedServer, atom, rss
from tests.test_territories import eventually, seated_member, tree

pytestmark = pytest.mark.integration

HOOK_SECRET = "s3cret-" + "x" * 40


@pytest.fixture
async def feeds():
    server = FeedServer()
    runner = await server.start(free_port())
    yield server
    await runner.cleanup()


async def newsroom(person, start_bot, **options):
    """A department whose member sits in its community and announcement rooms."""
    sfx = secrets.token_hex(3)
    agora, admin, member, ids = await seated_member(person, start_bot, sfx, **options)
    annonces = ids[f"vaucluse-{sfx}.annonces"]
    assert isinstance(await member.client.join(annonces), JoinResponse)
    # The bot's sync has their join: a room key shared before it would not be theirs (the bot
    # learns who is in a room from its sync; a join it has not seen yet is not known).
    await agora.gateway.wait_for_member(annonces, member.user_id)
    await agora.settled()
    return agora, admin, member, ids, sfx, annonces


def posts(person, room_id: str, *, edits: bool = False):
    """Notices the bot posted in a room, as the person's client decrypted them."""
    out = []
    for s in person.seen:
        if s.room_id != room_id or s.content.get("msgtype") not in ("m.notice", "m.text"):
            continue
        is_edit = s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"
        if is_edit == edits:
            out.append(s)
    return out


def later(agora, seconds: float) -> None:
    """Move the scheduler's clock to ``seconds`` from the real time: what is due by then runs."""
    agora.jobs.clock.offset = seconds
    agora.jobs.kick()


async def test_a_feed_posts_its_newest_entries_once_then_news_and_edits(person, start_bot, feeds):
    agora, admin, member, _, sfx, annonces = await newsroom(person, start_bot)
    items = [(f"e{i}", f"Actualité {i}", f"<p>Texte {i}</p>", i) for i in range(1, 6)]
    items[4] = (
        "e5",
        "Canicule niveau 3",
        "<p>Mesures <script>alert(1)</script><b>fortes</b></p>",
        5,
    )
    feeds.documents["/ars.rss"] = (rss(items), "application/rss+xml")

    reply, reaction = await admin.command(
        agora.control.room_id, f"!feed add {feeds.url}/ars.rss vaucluse-{sfx} --every 30m"
    )
    assert reaction == "✅" and "Au plus 3 entrées" in reply.body
    await member.wait_for(lambda: len(posts(member, annonces)) >= 3 or None, "3 posts")
    await asyncio.sleep(1)
    got = posts(member, annonces)
    assert [p.body.split("\n")[0] for p in posts(member, annonces)] == [
        "Actualité 3",
        "Actualité 4",
        "Canicule niveau 3",
    ]  # the newest 3, oldest first; never the backlog
    canicule = got[2]
    assert canicule.encrypted and canicule.content["msgtype"] == "m.notice"
    assert "<b>fortes</b>" in canicule.content["formatted_body"]
    assert "script" not in canicule.content["formatted_body"] and "alert(1)" not in canicule.body

    # The entry changes and a new one appears: one new post, one edit of the first post.
    items[4] = ("e5", "Canicule niveau 4", items[4][2], 5)
    items.append(("e6", "Fermeture de lits", "<p>Été</p>", 6))
    feeds.documents["/ars.rss"] = (rss(items), "application/rss+xml")
    later(agora, 3600)
    await member.wait_for(lambda: len(posts(member, annonces)) >= 4 or None, "the new entry")
    edit = await member.wait_for(lambda: posts(member, annonces, edits=True), "the edit")
    assert edit[0].content["m.relates_to"]["event_id"] == canicule.event_id
    assert edit[0].content["m.new_content"]["body"].startswith("Canicule niveau 4")

    # Unchanged since: the server answers 304 and nothing is posted again.
    later(agora, 3 * 3600)
    await eventually(lambda: _true(feeds.not_modified.get("/ars.rss")), "a 304")
    await asyncio.sleep(1)
    titles = [p.body.split("\n")[0] for p in posts(member, annonces)]
    assert titles == ["Actualité 3", "Actualité 4", "Canicule niveau 3", "Fermeture de lits"]


async def _true(value) -> bool:
    return bool(value)


async def test_failing_feeds_are_reported_once_back_off_and_never_stop_the_others(
    person, start_bot, feeds
):
    agora, admin, member, _, sfx, annonces = await newsroom(
        person, start_bot, news={"fetch_timeout": "2s", "max_feed_bytes": 20000}
    )
    control = agora.control.room_id
    feeds.documents["/bad.xml"] = (
        b"<?xml version='1.0'?><rss><channel><item><ti&&tle>",
        "text/xml",
    )
    feeds.documents["/big.xml"] = (rss([("b", "x" * 60000, "", 1)]), "application/rss+xml")
    feeds.documents["/dgs.atom"] = (atom([("1", "Rappel vaccinal")]), "application/atom+xml")
    feeds.failing["/down.xml"] = 500
    feeds.slow.add("/slow.xml")
    for path in ("/bad.xml", "/big.xml", "/down.xml", "/slow.xml", "/dgs.atom"):
        _, reaction = await admin.command(control, f"!feed add {feeds.url}{path} vaucluse-{sfx}")
        assert reaction == "✅"

    def failing_notes() -> list:
        return [s for s in admin.seen if s.room_id == control and "est en échec" in s.body]

    await member.wait_for(  # the good one, not held back by the slow one
        lambda: [p for p in posts(member, annonces) if "Rappel vaccinal" in p.body], "the atom"
    )
    await admin.wait_for(lambda: len(failing_notes()) >= 4 or None, "4 failure notes")
    notes = " ".join(s.body for s in failing_notes())
    assert "HTTP 500" in notes and "trop volumineux" in notes and "pas de réponse en 2 s" in notes
    assert "ce n'est pas un flux RSS" in notes
    rows = {f.url.rsplit("/", 1)[1]: f for f in await agora.news.feeds.feeds()}
    assert rows["down.xml"].errors == 1 and rows["dgs.atom"].errors == 0
    first_delay = rows["down.xml"].next_at - rows["down.xml"].last_fetch

    later(agora, 2 * 3600)  # past the first backoff
    await eventually(lambda: _errors(agora, "down.xml", 2), "a second failure")
    down = {f.url.rsplit("/", 1)[1]: f for f in await agora.news.feeds.feeds()}["down.xml"]
    assert down.next_at - down.last_fetch == pytest.approx(2 * first_delay, rel=0.01)
    assert len(failing_notes()) == 4  # reported once, not at each failure

    listed, _ = await admin.command(control, "!feeds")
    assert "HTTP 500 (2)" in listed.body and "dgs.atom" in listed.body

    del feeds.failing["/down.xml"]
    feeds.documents["/down.xml"] = (rss([("r", "Retour à la normale", "", 7)]), "text/xml")
    later(agora, 30 * 3600)
    await admin.wait_for(
        lambda: [s for s in admin.seen if "fonctionne de nouveau" in s.body], "the recovery"
    )


async def test_feeds_cannot_reach_the_bots_own_network(person, start_bot, feeds):
    """Loopback, private and link-local addresses are refused, named in the URL or reached
    by a redirect from an allowed host; the animator reads why, not the bot's internals."""
    agora, admin, member, _, sfx, annonces = await newsroom(person, start_bot)
    control = agora.control.room_id
    for url in (
        "http://localhost:9/feed.xml",
        "http://10.1.2.3/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8008/_synapse/admin/v1/users",
    ):
        refused, reaction = await admin.command(control, f"!feed add {url} vaucluse-{sfx}")
        assert reaction == "❌" and "adresse refusée (réseau privé ou local)" in refused.body, url
    # 127.0.0.1 is allowed here (news.allowed_feed_hosts); its redirects elsewhere are not.
    feeds.redirects["/moved.xml"] = "http://169.254.169.254/latest/meta-data/iam"
    feeds.redirects["/around.xml"] = "http://0x7f000001:8008/_matrix/client/versions"
    for path in ("/moved.xml", "/around.xml"):
        _, reaction = await admin.command(control, f"!feed add {feeds.url}{path} vaucluse-{sfx}")
        assert reaction == "✅"
    notes = await admin.wait_for(
        lambda: [s for s in admin.seen if "est en échec" in s.body and "refusée" in s.body][1:],
        "both redirects refused",
    )
    assert all("Errno" not in n.body and "Connect" not in n.body for n in notes)
    assert not posts(member, annonces)


async def _errors(agora, name: str, n: int) -> bool:
    return any(f.url.endswith(name) and f.errors >= n for f in await agora.news.feeds.feeds())


async def test_alerts_are_acknowledged_by_reaction_or_command_and_reminded_once(person, start_bot):
    agora, admin, first, ids, sfx, _ = await newsroom(
        person, start_bot, alerts={"remind_after": "5s"}
    )
    second, third = await person("infirmier"), await person("pharmacienne")
    for someone in (second, third):
        await vet(agora, someone.user_id, f"vaucluse-{sfx}")
    community = ids[f"vaucluse-{sfx}.communaute"]

    await agora.store.set_language(third.user_id, "en")  # as `!language en` would
    answer, reaction = await admin.command(
        agora.control.room_id,
        f"!alert vaucluse-{sfx} --level critical Canicule niveau 4 : ouvrez les salles rafraîchies",
    )
    assert reaction == "✅" and "diffusée dans 3 salons" in answer.body
    number = int(answer.body.split("#")[1].split()[0])
    alert = await first.wait_for(
        lambda: [s for s in first.seen if s.room_id == community and "ALERTE" in s.body],
        "the alert",
    )
    assert alert[0].encrypted and alert[0].body.startswith("@room")
    assert alert[0].content["m.mentions"] == {"room": True}

    await first.client.room_send(
        community,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": alert[0].event_id, "key": "✅"}},
        ignore_unverified_devices=True,
    )
    dm = await second.dm(agora.gateway.user_id)
    acked, reaction = await second.command(dm, f"!ack {number}")
    assert reaction == "✅" and "enregistrée" in acked.body
    again, _ = await second.command(dm, f"!ack {number}")
    assert "déjà" in again.body

    async def two_acks() -> bool:
        return len(await agora.news.alerts.acked(number)) == 2

    await eventually(two_acks, "both acknowledgements")
    status, _ = await admin.command(agora.control.room_id, f"!alert status {number}")
    assert f"vaucluse-{sfx} : 2/3" in status.body and third.user_id in status.body
    assert first.user_id not in status.body.split("pas encore")[1]

    await third.accept_direct_chat(agora.gateway.user_id)
    reminder = await third.wait_for(
        lambda: [s for s in third.seen if f"Reminder — alert #{number}" in s.body],
        "the reminder, in the member's language",
    )
    assert reminder[0].encrypted
    await asyncio.sleep(2)
    assert not [s for s in second.seen if "Rappel" in s.body]  # acknowledged: not reminded
    assert not first.direct_invites  # nor the one who reacted
    assert (await agora.news.alerts.alert(number)).reminded


@pytest.mark.topologies
async def test_a_restart_mid_broadcast_reaches_every_room_exactly_once(person, start_bot):
    sfx = secrets.token_hex(3)
    admin = await person("admin")
    agora = await start_bot([admin.user_id], network=tree(sfx))
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    original, sent = agora.gateway.send, []

    async def crash_after_two(room_id, content, event_type="m.room.message", *, txn=None):
        event_id = await original(room_id, content, event_type, txn=txn)
        if txn and txn.startswith("agora."):
            sent.append(room_id)
            if len(sent) == 2:  # sent, but not yet recorded: the worst moment
                asyncio.get_running_loop().create_task(agora.stop())
                await asyncio.sleep(60)
        return event_id

    agora.gateway.send = crash_after_two
    command = await admin.say(agora.control.room_id, "!alert all Exercice de diffusion")
    await asyncio.wait_for(agora.stopped.wait(), 60)
    restarted = await start_bot(
        [admin.user_id], account=agora.account, data_dir=agora.data_dir, network=tree(sfx)
    )
    await admin.reaction_to(command, timeout=60)

    async def delivered() -> list | None:
        async with restarted.store.db.execute(
            "SELECT room_id, event_id FROM deliveries WHERE message LIKE 'alert:%'"
        ) as cur:
            rows = await cur.fetchall()
        return rows if rows and all(r[1] for r in rows) else None

    rows = await eventually(delivered, "every room reached")
    assert len(rows) == 4  # the announcement and community rooms of the whole tree
    for room_id, _ in rows:
        data = await restarted.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{room_id}/messages", query={"dir": "b", "limit": "50"}
        )
        mine = [
            e
            for e in data["chunk"]
            if e["sender"] == restarted.gateway.user_id and e["type"] == "m.room.encrypted"
        ]
        assert len(mine) == 1, (room_id, len(mine))


async def test_signed_webhooks_post_and_bad_stale_or_replayed_ones_do_not(person, start_bot):
    agora, _, member, _, sfx, annonces = await newsroom(
        person, start_bot, hooks={"news": {"secret": HOOK_SECRET}, "alert": {"secret": HOOK_SECRET}}
    )
    url = f"http://127.0.0.1:{agora.web.port}"

    async def post(path: str, body: bytes, *, secret=HOOK_SECRET, ts: int | None = None, sig=None):
        stamp = str(ts if ts is not None else int(time.time()))
        headers = {
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sig or sign(secret, stamp, body),
            "Content-Type": "application/json",
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(url + path, data=body, headers=headers) as resp,
        ):
            return resp.status, await resp.json(), headers[SIGNATURE_HEADER], stamp

    body = json.dumps(
        {"territory": f"vaucluse-{sfx}", "text": "Campagne de vaccination", "public": True}
    ).encode()
    status, answer, signature, stamp = await post("/hooks/news", body)
    assert status == 202 and answer["rooms"] == 1
    await member.wait_for(
        lambda: [p for p in posts(member, annonces) if "Campagne de vaccination" in p.body], "it"
    )
    assert (await post("/hooks/news", body, ts=int(stamp), sig=signature))[0] == 401  # replay
    assert (await post("/hooks/news", body, secret="wrong" * 8))[0] == 401
    assert (await post("/hooks/news", body, ts=int(time.time()) - 3600))[0] == 401  # stale
    status, answer, _, _ = await post("/hooks/news", b"{not json")
    assert status == 400 and "malformed JSON" in answer["error"]
    status, answer, _, _ = await post(
        "/hooks/alert", json.dumps({"territory": "atlantide", "text": "x"}).encode()
    )
    assert status == 400 and "atlantide" in answer["error"]
    big = json.dumps({"territory": "all", "text": "x" * 100_000}).encode()
    assert (await post("/hooks/news", big))[0] == 413
    async with agora.store.db.execute("SELECT COUNT(*) FROM news") as cur:
        assert (await cur.fetchone())[0] == 1
    refused = [e for e in await agora.store.audit_entries(100) if e["action"] == "hook.refused"]
    assert {e["detail"].split(" from ")[0] for e in refused} >= {
        "replayed signature",
        "bad signature",
        "stale timestamp",
    }


async def test_the_public_page_shows_public_news_and_feeds_never_alerts(person, start_bot, feeds):
    agora, admin, _, _, sfx, _ = await newsroom(person, start_bot)
    control = agora.control.room_id
    feeds.documents["/pub.rss"] = (
        rss([("p1", "Journée de dépistage", "<p>Samedi</p>", 20)]),
        "text/xml",
    )
    await admin.command(control, f"!feed add {feeds.url}/pub.rss vaucluse-{sfx} --public")
    await admin.command(control, f"!news vaucluse-{sfx} --public Nouvelle maison de santé à Apt")
    await admin.command(control, f"!news vaucluse-{sfx} Réunion interne jeudi")
    await admin.command(control, f"!alert vaucluse-{sfx} Alerte réservée aux membres")
    base = f"http://127.0.0.1:{agora.web.port}/news/vaucluse-{sfx}"

    async def page(suffix: str = "") -> str:
        async with aiohttp.ClientSession() as http, http.get(base + suffix) as resp:
            assert resp.status == 200
            return await resp.text()

    async def both_there() -> str | None:
        html = await page()
        return html if "Journée de dépistage" in html and "Apt" in html else None

    html = await eventually(both_there, "the public items")
    assert "Réunion interne" not in html and "Alerte réservée" not in html
    feed = feedparser.parse(await page(".rss"))
    assert {e.title for e in feed.entries} == {
        "Journée de dépistage",
        "Nouvelle maison de santé à Apt",
    }
    items = json.loads(await page(".json"))["items"]
    assert len(items) == 2 and all("Alerte" not in i["title"] for i in items)
    async with aiohttp.ClientSession() as http, http.get(base.replace(sfx, "nowhere")) as resp:
        assert resp.status == 404
