"""What the benchmarks share: percentiles, one command's round trip, waiting for the jobs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse
from tests.conftest import free_port

# The bot Agora's Synapse module serves on a bench's homeserver (its operations open to it,
# with the secret): every bench's bot is @agora (scale.py) or @agora-<6 hex> (tests' register).
BENCH_BOT = r"^@agora(-[0-9a-f]{6})?:localhost$"


def bench_synapse(directory: Path) -> EmbeddedSynapse:
    """A bench's homeserver: on loopback, rate limits relaxed, the module serving its bot."""
    return EmbeddedSynapse(
        directory, "localhost", free_port(), extra=RELAXED_RATE_LIMITS, bot_user_pattern=BENCH_BOT
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def round_trip(
    person: Any, room_id: str, settle: float = 0.0, command: str = "!ping"
) -> float:
    """`!ping` (or another ``command``) until its reply is decrypted. A person does not type
    the next command in the same millisecond: `settle` lets the bot finish its follow-up work
    (the ✅ reaction, the audit row) so that the figure is the latency of one command, not the
    queueing of many."""
    await asyncio.sleep(settle)
    start = time.perf_counter()
    event_id = await person.say(room_id, command)
    await person.reply_to(event_id)
    return time.perf_counter() - start


async def drained(agora: Any) -> None:
    """Until no job is due."""
    while True:
        async with agora.store.db.execute(
            "SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND next_at <= ?", (time.time(),)
        ) as cur:
            if (await cur.fetchone())[0] == 0:
                return
        await asyncio.sleep(0.05)
