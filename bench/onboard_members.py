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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_synapse, drained, proc_cpu_s, until_quiet  # noqa: E402
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


@dataclass
class Phase:
    name: str
    seconds: float
    synapse_cpu: float

    def line(self, members: int) -> str:
        return (
            f"  {self.name:<44} {self.seconds:7.2f} s  ({members / self.seconds:4.1f} members/s)  "
            f"Synapse's CPU {self.synapse_cpu:5.1f} s ({self.synapse_cpu / self.seconds:.0%} "
            "of a core)"
        )


async def main(members: int, rounds: int, sync_pause: float | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("nio", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    territories = [f"dep{k}" for k in range(rounds)]
    phases: list[Phase] = []
    latency: list[float] = []
    windows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        hs = bench_synapse(tmp / "hs")
        await hs.start()
        assert hs.process is not None
        synapse_pid = hs.process.pid

        def synapse_cpu() -> float:
            return proc_cpu_s(synapse_pid)

        agora = None
        admins: list[Person] = []
        try:
            print(f"registering {(2 * rounds + 1) * members} accounts…", file=sys.stderr)
            people = [await register_many(hs, members) for _ in range(rounds)]
            others = [await register_many(hs, members) for _ in range(rounds + 1)]
            raw_id, raw_pw = await register(hs, "raw", admin=True)
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    hs.url + "/_matrix/client/v3/login",
                    json={"type": "m.login.password", "user": raw_id, "password": raw_pw},
                ) as resp:
                    raw_token = (await resp.json())["access_token"]

            async def raw_phase(k: int) -> None:
                await until_quiet(synapse_cpu, "Synapse", window=1.0, limit=120)
                cpu0 = proc_cpu_s(synapse_pid)
                seconds = await baseline(hs, raw_token, raw_id, others[k])
                phases.append(
                    Phase(f"raw admin-API joins ({k + 1})", seconds, proc_cpu_s(synapse_pid) - cpu0)
                )

            await raw_phase(0)
            for _ in range(2):
                user_id, password = await register(hs, "admin")
                admins.append(
                    # Long-polling 30 s, as Element does: a client polling each second
                    # (the tests' default) writes its sync token each time, in the measured
                    # windows only (the baseline has no such clients).
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
                    # A territory a round: each round's members join fresh rooms, as the
                    # baseline's do.
                    "network": {
                        "territories": [
                            {"id": t, "name": f"Département {k}", "rooms": ROOMS}
                            for k, t in enumerate(territories)
                        ]
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
            rooms = {r.key: r.room_id for r in await agora.store.managed_rooms()}
            first, second = admins

            for k, territory in enumerate(territories):
                batch = f"bench{k}"
                lines = ["nom;profession;rpps;territoire;email;matrix_id"]
                lines += [
                    f"Pro {k} {i};medecin;{rpps(k * members + i)};{territory};"
                    f"pro{k}-{i}@example.org;{user}"
                    for i, user in enumerate(people[k])
                ]
                report = await import_requests(config, agora.store, "\n".join(lines), batch)
                assert len(report.ids) == members, report.refused[:3]
                sent = await command(first, control, f"!approve import:{batch}")
                await first.reaction_to(sent, timeout=600)
                await drained(agora)
                await until_quiet(synapse_cpu, "Synapse", window=1.0, limit=120)

                start_wall, start = time.time(), time.perf_counter()
                cpu0 = proc_cpu_s(synapse_pid)
                sent = await command(second, control, f"!approve import:{batch}")
                while True:
                    async with agora.store.db.execute(
                        "SELECT COUNT(*) FROM jobs WHERE kind = ? AND status = 'done'",
                        (CONCLUDE_JOB,),
                    ) as cur:
                        done = (await cur.fetchone())[0]
                    if done >= members * (k + 1):
                        break
                    await asyncio.sleep(0.05)
                elapsed = time.perf_counter() - start
                phases.append(
                    Phase(
                        f"agora ({k + 1}): 2nd bulk approval → all in",
                        elapsed,
                        proc_cpu_s(synapse_pid) - cpu0,
                    )
                )
                # The direct chats that tell each member run after provisioning, at a lower
                # priority: how many finished inside the timed window, and from when.
                async with agora.store.db.execute(
                    "SELECT COUNT(*), MIN(done_at) FROM jobs WHERE kind = ? AND status = 'done' "
                    "AND done_at BETWEEN ? AND ?",
                    (TELL_JOB, start_wall, start_wall + elapsed),
                ) as cur:
                    tells_inside, first_tell = await cur.fetchone()
                mine = {
                    key: room_id
                    for key, room_id in rooms.items()
                    if key == territory or key.startswith(territory + ".")
                }
                assert len(mine) == len(ROOMS) + 1, mine
                for room_id in mine.values():
                    joined = await agora.gateway.members(room_id)
                    assert sum(1 for u in people[k] if joined.get(u) == "join") == members

                decided = {}
                async with agora.store.db.execute(
                    "SELECT user_id, decided FROM requests WHERE batch = ?", (batch,)
                ) as cur:
                    for user, when in await cur.fetchall():
                        decided[user] = when
                events = await agora.gateway.raw(
                    "GET", f"/_matrix/client/v3/rooms/{quote(rooms[territory])}/members"
                )
                joins = [ev for ev in events["chunk"] if ev["state_key"] in decided]
                latency += [
                    ev["origin_server_ts"] / 1000 - decided[ev["state_key"]] for ev in joins
                ]
                # The window's start: the bulk approval itself, until the first join.
                first_join = min(ev["origin_server_ts"] / 1000 for ev in joins) - start_wall
                assert min(decided.values()) >= start_wall - 1
                windows.append(
                    f"  agora ({k + 1}): requests closed {min(decided.values()) - start_wall:.1f}–"
                    f"{max(decided.values()) - start_wall:.1f} s after the command, the first "
                    f"join {first_join:.1f} s after it; {tells_inside} members told inside the "
                    "window"
                    + (f" (the first {first_tell - start_wall:.1f} s in)" if first_tell else "")
                )

                # What the round left to do (the members told) is done before the next phase.
                await drained(agora)
                await raw_phase(k + 1)

            # One at a time: the second approval of a lone request to that member's join.
            await drained(agora)
            singles = await register_many(hs, SINGLES)
            lines = ["nom;profession;rpps;territoire;email;matrix_id"]
            lines += [
                f"Seul {i};medecin;{rpps(rounds * members + i)};{territories[0]};"
                f"seul{i}@example.org;{user}"
                for i, user in enumerate(singles)
            ]
            report = await import_requests(config, agora.store, "\n".join(lines), "single")
            sent = await command(first, control, "!approve import:single")
            await first.reaction_to(sent, timeout=600)
            alone = []
            for request_id, user in zip(report.ids, singles, strict=True):
                t0 = time.time()
                await command(second, control, f"!approve {request_id}")
                await until_joined(agora, rooms[territories[0]], user)
                events = await agora.gateway.raw(
                    "GET", f"/_matrix/client/v3/rooms/{quote(rooms[territories[0]])}/members"
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

    raws = [p for p in phases if p.name.startswith("raw")]
    agoras = [p for p in phases if p.name.startswith("agora")]
    # Each Agora round against the raw runs just before and just after it (the mean of
    # their rates): a drift of the machine or of the homeserver's database over the run
    # weighs on both sides alike.
    ratios = [
        (members / a.seconds)
        / statistics.mean([members / raws[k].seconds, members / raws[k + 1].seconds])
        for k, a in enumerate(agoras)
    ]
    before_only = [
        (members / a.seconds) / (members / raws[k].seconds) for k, a in enumerate(agoras)
    ]
    p50 = statistics.median(latency)
    p95 = statistics.quantiles(latency, n=20)[-1] if len(latency) > 1 else latency[0]
    print(
        f"onboard_members: {members} members a round, each into a space and {len(ROOMS)} rooms "
        f"({members * (len(ROOMS) + 1)} joins), same Synapse, same run; raw runs ({CONCURRENCY} "
        f"members at a time) and Agora's rounds alternating, each on fresh rooms"
    )
    for phase in phases:
        print(phase.line(members))
    for k, (ratio, before) in enumerate(zip(ratios, before_only, strict=True)):
        print(
            f"  ratio agora ({k + 1}) / raw runs around it     {ratio:7.2f}x  "
            f"(/ the raw run before it only: {before:.2f}x)"
        )
    print(
        f"  ratio agora / raw, median of the rounds      {statistics.median(ratios):7.2f}x  "
        "(target ≥ 0.9x)"
    )
    print(
        f"  in the bulk: request closed → first join    p50 {p50 * 1000:6.0f} ms  "
        f"p95 {p95 * 1000:6.0f} ms  (queued behind the batch)"
    )
    for line in windows:
        print(line)
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
        "--rounds",
        type=int,
        default=2,
        help="Agora's rounds, each between two raw runs (raw, agora, raw, agora, raw…)",
    )
    parser.add_argument(
        "--sync-pause",
        type=float,
        default=None,
        help="homeserver.sync_pause_after_joins for the bot (default: the setting's default; "
        "0: a sync after each, as before it existed)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.members, args.rounds, args.sync_pause))
