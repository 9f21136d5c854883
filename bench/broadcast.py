"""Broadcasting an alert: one `!alert all …` into 100 encrypted rooms of 10 members each
(members with real devices, so every room's Megolm session is shared with 10 devices), beside
a plain matrix-nio client that sends the same encrypted message into the same rooms, on the
same Synapse in the same run. Then the bot's CPU time per relayed feed entry.

    python bench/broadcast.py [--rooms 100] [--members 10] [--entries 50]

- Agora: from the admin's command until every room's delivery is recorded (the broadcaster
  sends one room after another, paced at `news.pace_per_second`, 20 by default).
- Baseline: the same message, encrypted by a plain nio client, sent to each room one after
  another; no store, no pacing.
- CPU per feed entry: a local feed server offers `--entries` new entries; the bot fetches,
  parses, records, renders and relays them into one encrypted room of `--members` members;
  the process's CPU time (the bot alone: the members' clients are stopped) divided by the
  entries.
Target: Agora ≤ 1.3× the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_synapse, drained  # noqa: E402
from bot.app import Agora  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.store.vetting import VettingStore  # noqa: E402
from tests.conftest import free_port, register  # noqa: E402
from tests.feedserver import FeedServer, rss  # noqa: E402
from tests.people import Person  # noqa: E402

ALERT = "Canicule niveau 3 : ouverture des salles rafraîchies, vigilance renforcée"


async def admin_join(agora: Agora, room_id: str, user: str) -> None:
    await agora.gateway.raw("POST", f"/_synapse/admin/v1/join/{quote(room_id)}", {"user_id": user})


async def main(rooms: int, members: int, entries: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("nio", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    territories = rooms // 2
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        hs = bench_synapse(tmp / "hs")
        await hs.start()
        agora, people, feeds_runner = None, [], None
        try:
            admin_id, admin_pw = await register(hs, "admin")
            raw_id, raw_pw = await register(hs, "raw")
            bot_id, bot_pw = await register(hs, "agora", admin=True)
            config = parse_config(
                {
                    "homeserver": {
                        "embedded": False,
                        "url": hs.url,
                        "server_name": hs.server_name,
                        "password": bot_pw,
                        "privileges": "admin",  # a server-admin bot: the admin API
                    },
                    "bot": {"localpart": bot_id[1:].split(":")[0]},
                    # The baseline's sender is an admin too, so that enforcement lets it in.
                    "admins": [admin_id, raw_id],
                    "web": {"port": 0},
                    # The bench's feed server listens on loopback, refused to feeds otherwise.
                    "news": {"allowed_feed_hosts": ["127.0.0.1"]},
                    "network": {
                        "territories": [
                            {
                                "id": "region",
                                "name": "Région",
                                "territories": [
                                    {
                                        "id": f"t{i:03d}",
                                        "name": f"Territoire {i}",
                                        "rooms": [
                                            {
                                                "id": "annonces",
                                                "name": "Annonces",
                                                "kind": "announcements",
                                            },
                                            {
                                                "id": "communaute",
                                                "name": "Communauté",
                                                "kind": "community",
                                            },
                                        ],
                                    }
                                    for i in range(territories)
                                ],
                            }
                        ]
                    },
                },
                env={},
            )
            print(f"setting up {rooms} rooms × {members} members…", file=sys.stderr)
            agora = Agora(config, tmp / "agora")
            await agora.start()
            await agora.settled(600)
            admin = await Person.login(hs.url, admin_id, admin_pw, tmp / "people" / "admin")
            people.append(admin)
            await admin.accept_invite(agora.control.room_id)
            targets = [
                r.room_id
                for r in await agora.store.managed_rooms()
                if not r.is_space and r.kind in ("announcements", "community")
            ]
            assert len(targets) == rooms, len(targets)
            store = VettingStore(agora.store)
            for i in range(members):
                user, password = await register(hs, f"pro{i}")
                await store.add_member(user, None, "region")
                for t in range(territories):
                    await store.add_grant(user, f"t{t:03d}", "bench", admin_id)
                people.append(await Person.login(hs.url, user, password, tmp / "people" / user[1:]))
                for room_id in targets:
                    await admin_join(agora, room_id, user)
            print("members joined; the baseline's client…", file=sys.stderr)
            raw = await Person.login(hs.url, raw_id, raw_pw, tmp / "people" / "raw")
            people.append(raw)
            for room_id in targets:
                await admin_join(agora, room_id, raw_id)
            await raw.wait_for(
                lambda: all(
                    r in raw.client.rooms and len(raw.client.rooms[r].users) >= members + 2
                    for r in targets
                ),
                "the raw client to see every member",
                timeout=300,
            )
            await agora.gateway.wait_for_member(targets[-1], people[-2].user_id, timeout=300)

            print("measuring the baseline…", file=sys.stderr)
            # Baseline: a plain nio client, the same encrypted message, the same rooms.
            start = time.perf_counter()
            for room_id in targets:
                resp = await raw.client.room_send(
                    room_id,
                    "m.room.message",
                    {"msgtype": "m.notice", "body": ALERT},
                    ignore_unverified_devices=True,
                )
                assert hasattr(resp, "event_id"), resp
            baseline = time.perf_counter() - start

            print("measuring Agora…", file=sys.stderr)
            # Agora: the admin's command until every room has it.
            start = time.perf_counter()
            await admin.say(agora.control.room_id, f"!alert all {ALERT}")
            while True:
                async with agora.store.db.execute(
                    "SELECT COUNT(*) FROM deliveries WHERE message LIKE 'alert:%' "
                    "AND event_id IS NOT NULL"
                ) as cur:
                    done = (await cur.fetchone())[0]
                if done >= rooms:
                    break
                await asyncio.sleep(0.02)
            agora_time = time.perf_counter() - start

            print("measuring the feed relay…", file=sys.stderr)
            # CPU per relayed feed entry: the bot alone in this process.
            for person in people:
                await person.close()
            people = []
            server = FeedServer()
            feeds_runner = await server.start(free_port())
            items = [
                (f"e{i}", f"Actualité {i}", f"<p>Texte <b>{i}</b></p>", 1 + i % 28)
                for i in range(entries)
            ]
            server.documents["/f.rss"] = (rss(items[:1]), "application/rss+xml")
            feed = await agora.news.feeds.add(
                admin_id, f"{server.url}/f.rss", "t000.annonces", 3600, None
            )
            for _ in range(1200):
                if (await agora.news.feeds.feed(feed.id)).primed:
                    break
                await asyncio.sleep(0.05)
            await drained(agora)
            server.documents["/f.rss"] = (rss(items), "application/rss+xml")
            cpu0, wall0 = time.process_time(), time.perf_counter()
            agora.jobs.clock.offset = 7200  # the feed's next poll is due
            agora.jobs.kick()
            while True:
                async with agora.store.db.execute(
                    "SELECT COUNT(*) FROM deliveries WHERE message LIKE 'feed:%' "
                    "AND event_id IS NOT NULL"
                ) as cur:
                    if (await cur.fetchone())[0] >= entries:
                        break
                await asyncio.sleep(0.02)
            cpu = time.process_time() - cpu0
            relay_wall = time.perf_counter() - wall0
        finally:
            for person in people:
                await person.close()
            if agora is not None:
                await agora.stop()
            if feeds_runner is not None:
                await feeds_runner.cleanup()
            await hs.stop()

    print(
        f"broadcast: one alert into {rooms} encrypted rooms of {members} members with devices "
        f"(+ the sender), same Synapse, same run"
    )
    print(
        f"  plain nio client, one room after another   {baseline:7.2f} s  ({rooms / baseline:5.1f} rooms/s)  <- baseline"
    )
    print(
        f"  agora: `!alert all` → every room reached    {agora_time:7.2f} s  ({rooms / agora_time:5.1f} rooms/s)"
    )
    print(
        f"  ratio agora / plain client                  {agora_time / baseline:7.2f}x  (target ≤ 1.3x)"
    )
    print(
        f"  feed relay: {entries} new entries into 1 room    {relay_wall:7.2f} s wall, "
        f"{cpu * 1000 / entries:6.1f} ms CPU per entry (the bot's process)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--entries", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.rooms, args.members, args.entries))
