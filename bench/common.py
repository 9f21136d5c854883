"""What the benchmarks share: percentiles, one command's round trip, waiting for the jobs."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
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


log = logging.getLogger(__name__)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (Linux)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def until_quiet(
    cpu: Callable[[], float],
    name: str,
    *,
    window: float = 5.0,
    below: float = 0.05,
    limit: float = 600,
) -> float:
    """Seconds until a process (``cpu``: its CPU seconds so far) used less than ``below`` of a
    core over ``window`` seconds (its work done); ``limit`` at most."""
    began = time.perf_counter()
    samples = [(began, cpu())]
    while time.perf_counter() - began < limit:
        await asyncio.sleep(1.0)
        now = time.perf_counter()
        samples.append((now, cpu()))
        old = [s for s in samples if now - s[0] >= window]
        if old:
            t0, c0 = old[-1]
            if (samples[-1][1] - c0) / (now - t0) < below:
                return now - began - window
    log.warning("%s never became quiet within %.0f s", name, limit)
    return limit


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
