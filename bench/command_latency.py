"""Command round trip: an admin's `!ping` in the encrypted control room until the decrypted
reply arrives, beside a minimal matrix-nio E2EE echo bot on the same Synapse, in the same run.

    python bench/command_latency.py [--pings 200] [--block 20] [--settle 0.1] [--reaction-delay S]

Both are measured in alternating blocks so that any drift of the machine hits both alike.
Agora's ✅ on each command comes once the room is quiet (``commands.reaction_delay``): after
each of its blocks the bench waits for the block's reactions, so that they are stored before
the echo bot's block starts (they would otherwise slow the baseline), and reports how long
after the block's last answer they all arrived.
Prints p50 / p95 for each and the ratio Agora / echo (target ≤ 1.3), and the time the
device check (is this session signed by the admin's pinned identity?) takes per command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nio import AsyncClient, InviteMemberEvent, MatrixRoom, RoomMessageText  # noqa: E402

from bench.common import bench_synapse, percentile, round_trip  # noqa: E402
from bot.app import Agora  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.matrix.gateway import client_config  # noqa: E402
from tests.conftest import bot_config, register  # noqa: E402
from tests.people import ENCRYPTION_STATE, Person  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EchoBot:
    """The baseline: the least a nio E2EE bot can do to answer `!ping`."""

    def __init__(self, url: str, user_id: str, password: str, store: Path):
        store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(url, user_id, store_path=str(store), config=client_config("echo"))
        self.password = password
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.client.login(self.password, device_name="echo")
        self.client.add_event_callback(self.on_invite, InviteMemberEvent)
        self.client.add_event_callback(self.on_message, RoomMessageText)
        await self.client.sync(timeout=0, full_state=True)
        self.task = asyncio.create_task(self.client.sync_forever(timeout=30_000))

    async def on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.client.user_id:
            await self.client.join(room.room_id)

    async def on_message(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.body == "!ping" and event.sender != self.client.user_id:
            await self.client.room_send(
                room.room_id,
                "m.room.message",
                {
                    "msgtype": "m.notice",
                    "body": "pong",
                    "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
                },
                ignore_unverified_devices=True,
            )

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.client.close()


async def main(pings: int, block: int, settle: float, reaction_delay: float | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        hs = bench_synapse(tmp)
        await hs.start()
        agora = echo = admin = None
        try:
            admin_id, admin_pw = await register(hs, "admin")
            bot_id, bot_pw = await register(hs, "agora")
            echo_id, echo_pw = await register(hs, "echo")
            admin = await Person.login(hs.url, admin_id, admin_pw, tmp / "admin")
            config = parse_config(
                bot_config(
                    hs,
                    bot_id[1:].split(":")[0],
                    bot_pw,
                    [admin_id],
                    **(
                        {"commands": {"reaction_delay": reaction_delay}}
                        if reaction_delay is not None
                        else {}
                    ),
                ),
                env={},
            )
            agora = Agora(config, tmp / "agora")
            await agora.start()
            control = agora.control.room_id
            await admin.accept_invite(control)

            echo = EchoBot(hs.url, echo_id, echo_pw, tmp / "echo")
            await echo.start()
            resp = await admin.client.room_create(
                invite=[echo_id], initial_state=[ENCRYPTION_STATE]
            )
            echo_room = resp.room_id
            await admin.wait_for(
                lambda: (
                    echo_room in admin.client.rooms
                    and echo_id in admin.client.rooms[echo_room].users
                ),
                "echo join",
            )

            agora_times: list[float] = []
            echo_times: list[float] = []
            reactions_after: list[float] = []  # a block's last answer → all its ✅ seen

            async def agora_block(n: int) -> list[float]:
                times, commands = [], []
                for _ in range(n):
                    await asyncio.sleep(settle)
                    started = time.perf_counter()
                    commands.append(await admin.say(control, "!ping"))
                    await admin.reply_to(commands[-1])
                    times.append(time.perf_counter() - started)
                answered = time.perf_counter()
                await admin.wait_for(
                    lambda: all(admin.reactions_to(e) for e in commands), "the block's ✅", 60
                )
                reactions_after.append(time.perf_counter() - answered)
                return times

            for _ in range(3):  # warm up: sessions shared, keys claimed
                await round_trip(admin, echo_room)
            await agora_block(3)
            reactions_after.clear()

            while len(agora_times) < pings:
                n = min(block, pings - len(agora_times))
                echo_times += [await round_trip(admin, echo_room, settle) for _ in range(n)]
                agora_times += await agora_block(n)

            # What the device check adds to each privileged command, alone: the admin's
            # session as its Megolm session proves it, checked against the pinned identity.
            keys = admin.client.olm.account.identity_keys
            assert await agora.trust.check(admin_id, keys["curve25519"], keys["ed25519"]) is None
            calls = 10_000
            started = time.perf_counter()
            for _ in range(calls):
                await agora.trust.check(admin_id, keys["curve25519"], keys["ed25519"])
            check_us = (time.perf_counter() - started) / calls * 1e6
        finally:
            for thing in (echo, admin):
                if thing:
                    await thing.stop() if isinstance(thing, EchoBot) else await thing.close()
            if agora:
                await agora.stop()
            await hs.stop()

    def ms(v: float) -> str:
        return f"{v * 1000:7.1f} ms"

    a50, a95 = percentile(agora_times, 0.5), percentile(agora_times, 0.95)
    e50, e95 = percentile(echo_times, 0.5), percentile(echo_times, 0.95)
    print(
        f"command_latency: {pings} pings each, encrypted rooms, same Synapse, same run, "
        f"{settle * 1000:.0f} ms idle before each"
    )
    print(f"  echo baseline  p50 {ms(e50)}  p95 {ms(e95)}  mean {ms(statistics.mean(echo_times))}")
    print(f"  agora          p50 {ms(a50)}  p95 {ms(a95)}  mean {ms(statistics.mean(agora_times))}")
    print(f"  ratio agora/echo  p50 {a50 / e50:.2f}x  p95 {a95 / e95:.2f}x  (target ≤ 1.3x)")
    print(
        f"  agora's ✅ of a block all seen {ms(statistics.median(reactions_after))} after its "
        f"last answer (median of {len(reactions_after)} blocks; commands.reaction_delay "
        f"{config.commands.reaction_delay} s)"
    )
    print(f"  device check of a privileged command: {check_us:.1f} µs (cached identity)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--block", type=int, default=20)
    parser.add_argument(
        "--settle", type=float, default=0.1, help="idle seconds before each ping (0 = back to back)"
    )
    parser.add_argument(
        "--reaction-delay",
        type=float,
        default=None,
        help="commands.reaction_delay (default: the setting's default; 0: each ✅ at once)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.pings, args.block, args.settle, args.reaction_delay))
