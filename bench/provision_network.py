"""Provisioning a network from scratch: `apply` on 1 region × 30 territories × 5 rooms, beside
raw scripts on the same Synapse in the same run. Then the time of a no-change `plan`.

    python bench/provision_network.py [--territories 30] [--rooms 5]

Baselines (raw HTTP, no Agora code on the request path):
- "same rooms": the minimum raw calls that make the same rooms: one createRoom per space and
  room with the same content (encrypted, ACL, alias, restricted join rule …), the space-child
  links and the admin's invitations, with the same concurrency as Agora. Target ≤ 1.5×.
- "bare rooms": one createRoom with nothing but a name per room, one at a time: the floor of
  any room creation, shown for context (the state each Agora room must carry costs Synapse
  about twice the events).
Target for the no-change plan: under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nio import AsyncClient  # noqa: E402

from bench.common import bench_synapse  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.homeserver.embedded import EmbeddedSynapse  # noqa: E402
from bot.matrix.gateway import Gateway, structure_client  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.territories.desired import desired_state, server_acl  # noqa: E402
from bot.territories.planner import creation_body  # noqa: E402
from bot.territories.reconciler import APPLY_CONCURRENCY, Reconciler  # noqa: E402
from tests.conftest import register  # noqa: E402

KINDS = [
    ("communaute", "community", {}),
    ("annonces", "announcements", {}),
    ("garde", "oncall", {}),
    ("remplacements", "replacements", {}),
    ("groupe", "group", {"visibility": "open"}),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def network(territories: int, rooms: int, prefix: str) -> dict[str, Any]:
    return {
        "territories": [
            {
                "id": f"{prefix}region",
                "name": "Région Sud",
                "territories": [
                    {
                        "id": f"{prefix}t{i:03d}",
                        "name": f"Territoire {i}",
                        "rooms": [
                            {"id": rid, "name": f"Territoire {i} · {rid}", "kind": kind, **extra}
                            for rid, kind, extra in (KINDS * ((rooms // len(KINDS)) + 1))[:rooms]
                        ],
                    }
                    for i in range(territories)
                ],
            }
        ]
    }


def config_for(hs: EmbeddedSynapse, bot: str, password: str, admin: str, net: dict):
    return parse_config(
        {
            "homeserver": {
                "embedded": False,
                "url": hs.url,
                "server_name": hs.server_name,
                "password": password,
                "module_secret": hs.secrets()["agora_module_secret"],  # unused: no force-join
            },
            "bot": {"localpart": bot[1:].split(":")[0]},
            "admins": [admin],
            "network": net,
        },
        env={},
    )


async def bare_rooms(url: str, token: str, count: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as http:
        for i in range(count):
            async with http.post(
                url + "/_matrix/client/v3/createRoom", json={"name": f"bare {i}"}
            ) as resp:
                assert resp.status == 200, await resp.text()
    return time.perf_counter() - start


async def same_rooms(url: str, token: str, user: str, config) -> float:
    """The same spaces and rooms with the fewest raw calls: parents first, `APPLY_CONCURRENCY`
    requests at a time, bodies identical to Agora's."""
    server = config.homeserver.server_name
    acl = server_acl(server, ())
    desired = desired_state(config.network, config.admins)
    ids: dict[str, str] = {}
    sem = asyncio.Semaphore(APPLY_CONCURRENCY)
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as http:

        async def call(method: str, path: str, body: dict) -> dict:
            async with sem, http.request(method, url + path, json=body) as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()

        async def make(d) -> None:
            body = creation_body(
                d,
                server,
                user,
                acl,
                ids.get(d.parent) if d.parent else None,
                creator_privileged=True,
            )
            ids[d.key] = (await call("POST", "/_matrix/client/v3/createRoom", body))["room_id"]
            follow = []
            if d.parent:
                content = {"via": [server], **({"suggested": True} if d.suggested else {})}
                follow.append(
                    call(
                        "PUT",
                        f"/_matrix/client/v3/rooms/{ids[d.parent]}/state/"
                        f"m.space.child/{ids[d.key]}",
                        content,
                    )
                )
            follow += [
                call("POST", f"/_matrix/client/v3/rooms/{ids[d.key]}/invite", {"user_id": u})
                for u in d.invites
            ]
            await asyncio.gather(*follow)

        depth = {d.key: 0 for d in desired}
        for d in desired:
            if d.parent:
                depth[d.key] = depth[d.parent] + 1
        for level in sorted(set(depth.values())):
            await asyncio.gather(*(make(d) for d in desired if depth[d.key] == level))
    return time.perf_counter() - start


async def login(hs: EmbeddedSynapse, user: str, password: str) -> str:
    client = AsyncClient(hs.url, user)
    token = (await client.login(password)).access_token
    await client.close()
    return token


async def main(territories: int, rooms: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        hs = bench_synapse(tmp)
        await hs.start()
        try:
            admin, _ = await register(hs, "admin")
            bot_id, bot_pw = await register(hs, "agora")
            raw_id, raw_pw = await register(hs, "raw")
            config = config_for(hs, bot_id, bot_pw, admin, network(territories, rooms, ""))
            spaces = 1 + territories
            total = spaces + territories * rooms

            raw_token = await login(hs, raw_id, raw_pw)
            bare = await bare_rooms(hs.url, raw_token, total)
            raw_config = config_for(hs, raw_id, raw_pw, admin, network(territories, rooms, "raw-"))
            same = await same_rooms(hs.url, raw_token, raw_id, raw_config)

            client = structure_client(hs.url, bot_id, await login(hs, bot_id, bot_pw))
            store = await Store.open(tmp / "agora.db")
            reconciler = Reconciler(config, Gateway(client, Metrics()), store, tmp)
            start = time.perf_counter()
            outcome = await reconciler.reconcile(source="bench")
            applied = time.perf_counter() - start
            assert not outcome.failed, outcome.failed
            assert len(await store.managed_rooms()) == total

            start = time.perf_counter()
            again = await reconciler.reconcile(dry_run=True)
            plan_time = time.perf_counter() - start
            assert again.actions == [], again.actions[:3]
            await store.close()
            await client.close()
        finally:
            await hs.stop()

    print(
        f"provision_network: 1 region × {territories} territories × {rooms} rooms = "
        f"{spaces} spaces + {total - spaces} rooms, same Synapse, same run"
    )
    print(
        f"  raw, same rooms, {APPLY_CONCURRENCY} at a time  {same:7.2f} s  "
        f"({total / same:5.1f} rooms/s)  <- baseline"
    )
    print(
        f"  agora apply, {APPLY_CONCURRENCY} at a time      {applied:7.2f} s  "
        f"({total / applied:5.1f} rooms/s, {len(outcome.actions)} actions, "
        f"{outcome.rounds} round)"
    )
    print(f"  ratio apply / same rooms raw    {applied / same:7.2f}x  (target ≤ 1.5x)")
    print(
        f"  raw, bare rooms, 1 at a time    {bare:7.2f} s  ({total / bare:5.1f} rooms/s)  "
        f"ratio apply / bare {applied / bare:.2f}x (context)"
    )
    print(f"  no-change plan                  {plan_time:7.2f} s  (target < 2 s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--territories", type=int, default=30)
    parser.add_argument("--rooms", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.territories, args.rooms))
