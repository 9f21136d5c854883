"""Ban propagation across regions: a ban rule published in region A's policy room, until the
user is out of 50 managed rooms in region B (whose bot trusts A's list), over real federation
(two homeservers over TLS on loopback), p50 and p95 over 20 bans; beside the raw federation
latency of a plain message from A to B in the same run.

    python bench/ban_propagation.py [--rooms 50] [--bans 20]

- Ban: from A's bot writing the rule (`PolicyRoom.ban`, what `!policy ban` does) until B's
  audit log records the user's removal from the last of the `--rooms` rooms.
- Baseline: what any propagation pays at least, measured in the same run: the federation
  delivery of a message sent by a user of A into a room shared with a user of B, until B's
  client receives it, plus a plain script on B kicking another member out of the same rooms
  (raw `/kick` requests with the bot's token, as many at a time as the bot's sweep). Each ban
  is compared with the sum of one sample of each (the i-th message + the i-th user's kicks).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.moderation.enforcement import SWEEP_CONCURRENCY  # noqa: E402
from bot.store.vetting import VettingStore  # noqa: E402
from tests.conftest import free_port, register  # noqa: E402
from tests.people import Person  # noqa: E402
from tests.test_federation import Region, _homeserver, start_region  # noqa: E402


async def main(rooms: int, bans: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("nio", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        ports = {ip: free_port() for ip in ("127.0.0.1", "127.0.0.2")}
        a = _homeserver(tmp, "127.0.0.1", [f"127.0.0.2:{ports['127.0.0.2']}"], ports["127.0.0.1"])
        b = _homeserver(tmp, "127.0.0.2", [f"127.0.0.1:{ports['127.0.0.1']}"], ports["127.0.0.2"])
        for hs in (a, b):
            await hs.start()
        bots, people = [], []
        try:
            sud = Region("sud", a, await register(a, "agora", admin=True))
            occ = Region("occitanie", b, await register(b, "agora", admin=True))
            alias_a = f"#{sud.bot_account[0][1:].split(':')[0]}-policy:{sud.server}"
            network = {
                "territories": [
                    {
                        "id": "occitanie",
                        "name": "Occitanie",
                        "rooms": [
                            {"id": f"salon{i:02d}", "name": f"Salon {i}", "kind": "community"}
                            for i in range(rooms)
                        ],
                    }
                ]
            }
            admin_b, _ = await register(b, "admin")
            region_b = await start_region(
                occ,
                tmp,
                [admin_b],
                network=network,
                federation={
                    "allowed_servers": [sud.server],
                    "trusted_policy_rooms": [alias_a],
                    "peer_bots": [sud.bot_account[0]],
                },
                # A peer list's removals add up over an hour; past moderation.max_sweep (10
                # people) B holds the next rule for its admins' !confirm, as it must: the
                # bench's bans are all meant, so the bound is set above their number.
                moderation={"max_sweep": bans + 1},
            )
            bots.append(region_b)
            admin_a, _ = await register(a, "admin")
            region_a = await start_region(
                sud,
                tmp,
                [admin_a],
                federation={
                    "allowed_servers": [occ.server],
                    "peer_bots": [region_b.gateway.user_id],
                },
            )
            bots.append(region_a)
            await region_b.settled(600)
            for _ in range(600):
                if region_a.moderation.policy.room_id in region_b.moderation.policy.followed:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("B never followed A's list")
            managed = [r.room_id for r in await region_b.store.managed_rooms() if not r.is_space]
            assert len(managed) == rooms
            print(f"setting up {bans} members in {rooms} rooms of B…", file=sys.stderr)
            targets, raw_targets = [], []
            for i in range(2 * bans):
                user, _ = await register(b, f"membre{i}")
                await VettingStore(region_b.store).add_member(user, None, "occitanie")
                for room_id in managed:
                    await region_b.gateway.raw(
                        "POST", f"/_synapse/admin/v1/join/{quote(room_id)}", {"user_id": user}
                    )
                (targets if i % 2 == 0 else raw_targets).append(user)
            await asyncio.sleep(2)

            # Baseline: a plain message from a user of A to a user of B, over federation.
            sender_id, sender_pw = await register(a, "emetteur")
            reader_id, reader_pw = await register(b, "lecteur")
            sender = await Person.login(a.url, sender_id, sender_pw, tmp / "p" / "s")
            reader = await Person.login(b.url, reader_id, reader_pw, tmp / "p" / "r")
            people += [sender, reader]
            created = await sender.client.room_create(invite=[reader_id])
            await reader.accept_invite(created.room_id)
            await sender.wait_for(
                lambda: reader_id in sender.client.rooms[created.room_id].users, "the reader"
            )
            raw_times = []
            for i in range(bans):
                start = time.perf_counter()
                event_id = await sender.say(created.room_id, f"message {i}")
                await reader.wait_for(
                    lambda eid=event_id: [s for s in reader.seen if s.event_id == eid], "it"
                )
                raw_times.append(time.perf_counter() - start)

            # Baseline's second part: a plain script on B kicks a member out of the same rooms.
            token = region_b.gateway.client.access_token
            kick_times = []
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
                slots = asyncio.Semaphore(SWEEP_CONCURRENCY)

                async def kick(room_id: str, user: str) -> None:
                    async with slots:
                        url = f"{b.url}/_matrix/client/v3/rooms/{quote(room_id)}/kick"
                        async with http.post(url, json={"user_id": user, "reason": "bench"}) as r:
                            assert r.status == 200, await r.text()

                for user in raw_targets:
                    start = time.perf_counter()
                    await asyncio.gather(*(kick(room_id, user) for room_id in managed))
                    kick_times.append(time.perf_counter() - start)

            # Bans: A publishes, B removes the user from every room.
            ban_times = []
            phases = []  # each ban: the rule in B's store, the first and the last removal
            for user in targets:
                before = time.time()
                start = time.perf_counter()
                await region_a.moderation.policy.ban("user", user, "bench")
                while True:
                    async with region_b.store.db.execute(
                        "SELECT COUNT(*) FROM audit WHERE action = 'enforce.remove' "
                        "AND outcome = 'ok' AND detail LIKE ? AND at >= ?",
                        (f"{user} %", before),
                    ) as cur:
                        if (await cur.fetchone())[0] >= rooms:
                            break
                    await asyncio.sleep(0.02)
                ban_times.append(time.perf_counter() - start)
                phases.append(await _phases(region_b.store.db, user, before))
        finally:
            for person in people:
                await person.close()
            for bot in bots:
                await bot.stop()
            for hs in (a, b):
                await hs.stop()

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]

    print(
        f"ban_propagation: {bans} bans published in region A, each user in {rooms} rooms of "
        f"region B; two homeservers over TLS on loopback, same run"
    )
    print(
        f"  plain message A → B (federation)       p50 {statistics.median(raw_times) * 1000:7.0f} ms"
        f"  p95 {p95(raw_times) * 1000:7.0f} ms"
    )
    print(
        f"  {rooms} raw kicks on B                     p50 {statistics.median(kick_times) * 1000:7.0f} ms"
        f"  p95 {p95(kick_times) * 1000:7.0f} ms"
    )
    floor = [m + k for m, k in zip(raw_times, kick_times, strict=True)]
    print(
        f"  federation + raw kicks                  p50 {statistics.median(floor) * 1000:7.0f} ms"
        f"  p95 {p95(floor) * 1000:7.0f} ms  <- baseline"
    )
    print(
        f"  ban in A → out of {rooms} rooms in B      p50 {statistics.median(ban_times) * 1000:7.0f} ms"
        f"  p95 {p95(ban_times) * 1000:7.0f} ms"
    )
    print(
        "  where a ban's time went (seconds from the publication; slowest first, and the median):"
    )
    order = sorted(range(len(ban_times)), key=lambda i: -ban_times[i])
    median_i = order[len(order) // 2]
    for i in [*order[:3], median_i]:
        rule, first, last = phases[i]
        print(
            f"    ban {i + 1:2d}{' (median)' if i == median_i else ''}: rule in B's store "
            f"{rule:5.2f}, first removal {first:5.2f}, last {last:5.2f}, total "
            f"{ban_times[i]:5.2f} (baseline sample {floor[i]:5.2f})"
        )
    print(
        f"  ratio ban / baseline  p50 {statistics.median(ban_times) / statistics.median(floor):.2f}x"
        f"  p95 {p95(ban_times) / p95(floor):.2f}x  (target ≤ 1.2x)"
    )


async def _phases(db, user: str, before: float) -> tuple[float, float, float]:
    """When B's store recorded the rule banning ``user``, and its first and last removal,
    in seconds after ``before`` (the publication)."""
    async with db.execute(
        "SELECT MAX(at) FROM policy_rules WHERE entity = ? AND at >= ?", (user, before)
    ) as cur:
        rule = (await cur.fetchone())[0] or before
    async with db.execute(
        "SELECT MIN(at), MAX(at) FROM audit WHERE action = 'enforce.remove' AND outcome = 'ok' "
        "AND detail LIKE ? AND at >= ?",
        (f"{user} %", before),
    ) as cur:
        first, last = await cur.fetchone()
    return rule - before, first - before, last - before


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--bans", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.rooms, args.bans))
