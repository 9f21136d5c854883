"""Onboarding in bulk: N imported requests (default 200) approved with `!approve import:<batch>`
by two admins, each member provisioned into a space and 4 rooms (force_join: through the admin
API), beside a raw script that makes the same joins on the same Synapse in the same run.

    python bench/onboard_members.py [--members 200] [--sync-pause 0.3]

- Agora: from the second admin's `!approve import:…` (sent by a real E2EE client in the control
  room) until every member is in their space and 4 rooms. The members/s include the bulk
  approval itself (decisions, quorum, outcome jobs) and provisioning.
- Baseline: the same space and 4 rooms (same creation bodies), the same admin-API joins for the
  same accounts, as many members at a time as Agora's job runner (8), nothing else.
- Latency, from the second approval to the member's first join (the homeserver's timestamp of
  their join in the space), p50 and p95: in the bulk (from the moment each request was closed:
  mostly waiting behind the batch), and for 20 lone requests approved one by one (from the
  moment the admin's client sent `!approve N`).
Target: Agora ≥ 0.9× (issue 17; it was 0.7× before) the baseline's members per second.
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
from typing import Any
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_synapse  # noqa: E402
from bot.app import Agora  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.homeserver.embedded import EmbeddedSynapse  # noqa: E402
from bot.scheduler import DEFAULT_CONCURRENCY as CONCURRENCY  # noqa: E402
from bot.territories.desired import desired_state, server_acl  # noqa: E402
from bot.territories.model import Network, RoomSpec, Territory  # noqa: E402
from bot.territories.planner import creation_body  # noqa: E402
from bot.vetting.decisions import CONCLUDE_JOB  # noqa: E402
from bot.vetting.importer import import_requests  # noqa: E402
from bot.vetting.outcome import TELL_JOB  # noqa: E402
from tests.conftest import register  # noqa: E402
from tests.people import Person  # noqa: E402

SINGLES = 20
ROOMS = [
    {"id": "communaute", "name": "Communauté", "kind": "community"},
    {"id": "annonces", "name": "Annonces", "kind": "announcements"},
    {"id": "garde", "name": "Garde", "kind": "oncall"},
    {"id": "remplacements", "name": "Remplacements", "kind": "replacements"},
]


def rpps(n: int) -> str:
    """A valid RPPS (Luhn) for member n."""
    base = f"1{n:09d}"
    for digit in "0123456789":
        candidate = base + digit
        total = 0
        for i, c in enumerate(reversed(candidate)):
            d = int(c) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError


async def raw(http: aiohttp.ClientSession, url: str, method: str, path: str, body: Any) -> dict:
    async with http.request(method, url + path, json=body) as resp:
        assert resp.status == 200, (path, resp.status, await resp.text())
        return await resp.json()


async def baseline(hs: EmbeddedSynapse, token: str, user: str, members: list[str]) -> float:
    """Same space and rooms, same joins, raw."""
    network = Network(
        (
            Territory(
                "base", "Base", rooms=tuple(RoomSpec(r["id"], r["name"], r["kind"]) for r in ROOMS)
            ),
        )
    )
    desired = desired_state(network, ())
    ids: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for d in desired:  # the space first
            body = creation_body(
                d,
                hs.server_name,
                user,
                server_acl(hs.server_name, ()),
                ids.get(d.parent) if d.parent else None,
                creator_privileged=True,
            )
            body.pop("room_alias_name")
            ids[d.key] = (await raw(http, hs.url, "POST", "/_matrix/client/v3/createRoom", body))[
                "room_id"
            ]
        order = [ids[d.key] for d in desired]
        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(member: str) -> None:
            async with sem:
                for room_id in order:
                    await raw(
                        http,
                        hs.url,
                        "POST",
                        f"/_synapse/admin/v1/join/{quote(room_id)}",
                        {"user_id": member},
                    )

        start = time.perf_counter()
        await asyncio.gather(*(one(m) for m in members))
        return time.perf_counter() - start


async def register_many(hs: EmbeddedSynapse, n: int) -> list[str]:
    sem = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with sem:
            return (await register(hs, f"pro{i}"))[0]

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def until_joined(agora: Agora, room_id: str, user: str) -> None:
    for _ in range(3000):
        if (await agora.gateway.members(room_id)).get(user) == "join":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{user} never joined")


async def command(person: Person, room: str, text: str) -> str:
    return await person.say(room, text)


async def main(members: int, sync_pause: float | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("nio", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        hs = bench_synapse(tmp / "hs")
        await hs.start()
        agora = None
        admins: list[Person] = []
        try:
            print(f"registering {2 * members} accounts…", file=sys.stderr)
            people = await register_many(hs, members)
            others = await register_many(hs, members)
            raw_id, raw_pw = await register(hs, "raw", admin=True)
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    hs.url + "/_matrix/client/v3/login",
                    json={"type": "m.login.password", "user": raw_id, "password": raw_pw},
                ) as resp:
                    raw_token = (await resp.json())["access_token"]
            base = await baseline(hs, raw_token, raw_id, others)

            for _ in range(2):
                user_id, password = await register(hs, "admin")
                admins.append(
                    # Long-polling 30 s, as Element does: a client polling each second
                    # (the tests' default) writes its sync token each time, in the measured
                    # window only (the admins join after the baseline).
                    await Person.login(
                        hs.url, user_id, password, tmp / "people" / user_id[1:], poll_ms=30_000
                    )
                )
            bot_id, bot_pw = await register(hs, "agora", admin=True)
            config = parse_config(
                {
                    "homeserver": {
                        "embedded": False,
                        "url": hs.url,
                        "server_name": hs.server_name,
                        "password": bot_pw,
                        "privileges": "admin",  # force-joins through the admin API
                        **(
                            {"sync_pause_after_joins": sync_pause} if sync_pause is not None else {}
                        ),
                    },
                    "bot": {"localpart": bot_id[1:].split(":")[0]},
                    "admins": [a.user_id for a in admins],
                    "web": {"port": 0},
                    "network": {
                        "territories": [{"id": "dep", "name": "Département", "rooms": ROOMS}]
                    },
                    "vetting": {
                        "provisioning": {
                            "force_join": True,
                            "rules": [{"rooms": [r["kind"] for r in ROOMS]}],
                        }
                    },
                },
                env={},
            )
            agora = Agora(config, tmp / "agora")
            await agora.start()
            control = agora.control.room_id
            for admin in admins:
                await admin.accept_invite(control)
            await agora.settled()

            lines = ["nom;profession;rpps;territoire;email;matrix_id"]
            lines += [
                f"Pro {i};medecin;{rpps(i)};dep;pro{i}@example.org;{user}"
                for i, user in enumerate(people)
            ]
            report = await import_requests(config, agora.store, "\n".join(lines), "bench")
            assert len(report.ids) == members, report.refused[:3]

            first, second = admins
            sent = await command(first, control, "!approve import:bench")
            await first.reaction_to(sent, timeout=600)
            start_wall, start = time.time(), time.perf_counter()
            sent = await command(second, control, "!approve import:bench")
            while True:
                async with agora.store.db.execute(
                    "SELECT COUNT(*) FROM jobs WHERE kind = ? AND status = 'done'", (CONCLUDE_JOB,)
                ) as cur:
                    done = (await cur.fetchone())[0]
                if done >= members:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            # The direct chats that tell each member run after provisioning, at a lower
            # priority: how many finished inside the timed window, and from when.
            async with agora.store.db.execute(
                "SELECT COUNT(*), MIN(done_at) FROM jobs WHERE kind = ? AND status = 'done' "
                "AND done_at <= ?",
                (TELL_JOB, start_wall + elapsed),
            ) as cur:
                tells_inside, first_tell = await cur.fetchone()
            rooms = {r.key: r.room_id for r in await agora.store.managed_rooms()}
            for room_id in rooms.values():
                joined = await agora.gateway.members(room_id)
                assert sum(1 for u in people if joined.get(u) == "join") == members

            decided = {}
            async with agora.store.db.execute(
                "SELECT user_id, decided FROM requests WHERE batch = 'bench'"
            ) as cur:
                for user, when in await cur.fetchall():
                    decided[user] = when
            events = await agora.gateway.raw(
                "GET", f"/_matrix/client/v3/rooms/{quote(rooms['dep'])}/members"
            )
            latency = sorted(
                ev["origin_server_ts"] / 1000 - decided[ev["state_key"]]
                for ev in events["chunk"]
                if ev["state_key"] in decided
            )
            # The window's start: the bulk approval itself, until the first join.
            first_join = min(
                ev["origin_server_ts"] / 1000 - start_wall
                for ev in events["chunk"]
                if ev["state_key"] in decided
            )
            closed = (min(decided.values()) - start_wall, max(decided.values()) - start_wall)
            assert min(decided.values()) >= start_wall - 1

            # One at a time: the second approval of a lone request to that member's join.
            singles = await register_many(hs, SINGLES)
            lines = ["nom;profession;rpps;territoire;email;matrix_id"]
            lines += [
                f"Seul {i};medecin;{rpps(members + i)};dep;seul{i}@example.org;{user}"
                for i, user in enumerate(singles)
            ]
            report = await import_requests(config, agora.store, "\n".join(lines), "single")
            sent = await command(first, control, "!approve import:single")
            await first.reaction_to(sent, timeout=600)
            alone = []
            for request_id, user in zip(report.ids, singles, strict=True):
                t0 = time.time()
                await command(second, control, f"!approve {request_id}")
                await until_joined(agora, rooms["dep"], user)
                events = await agora.gateway.raw(
                    "GET", f"/_matrix/client/v3/rooms/{quote(rooms['dep'])}/members"
                )
                ts = next(
                    ev["origin_server_ts"] for ev in events["chunk"] if ev["state_key"] == user
                )
                alone.append(ts / 1000 - t0)
            alone.sort()
        finally:
            if agora is not None:
                await agora.stop()
            for admin in admins:
                await admin.close()
            await hs.stop()

    agora_rate, base_rate = members / elapsed, members / base
    p50 = statistics.median(latency)
    p95 = statistics.quantiles(latency, n=20)[-1] if len(latency) > 1 else latency[0]
    print(
        f"onboard_members: {members} members, each into a space and {len(ROOMS)} rooms "
        f"({members * (len(ROOMS) + 1)} joins), same Synapse, same run"
    )
    print(
        f"  raw admin-API joins, {CONCURRENCY} members at a time  {base:7.2f} s  "
        f"({base_rate:6.1f} members/s)  <- baseline"
    )
    print(
        f"  agora: 2nd bulk approval → all provisioned   {elapsed:7.2f} s  "
        f"({agora_rate:6.1f} members/s)"
    )
    print(
        f"  ratio agora / raw                            {agora_rate / base_rate:7.2f}x  (target ≥ 0.9x)"
    )
    print(
        f"  in the bulk: request closed → first join    p50 {p50 * 1000:6.0f} ms  "
        f"p95 {p95 * 1000:6.0f} ms  (queued behind the batch)"
    )
    print(
        f"  the bulk approval: requests closed {closed[0]:.1f}–{closed[1]:.1f} s after the "
        f"command, the first join {first_join:.1f} s after it"
    )
    print(
        f"  members told inside the window               {tells_inside}"
        + (f" (the first {first_tell - start_wall:.1f} s in)" if first_tell else "")
    )
    a50 = statistics.median(alone)
    a95 = statistics.quantiles(alone, n=20)[-1]
    print(
        f"  alone: `!approve N` sent → first join      p50 {a50 * 1000:6.0f} ms  "
        f"p95 {a95 * 1000:6.0f} ms  ({SINGLES} requests one by one)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument(
        "--sync-pause",
        type=float,
        default=None,
        help="homeserver.sync_pause_after_joins for the bot (default: the setting's default; "
        "0: a sync after each, as before it existed)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.members, args.sync_pause))
