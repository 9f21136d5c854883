"""Feeds cannot stall the bot: the `!ping` round trip (an admin's command in the encrypted control
room until the decrypted reply arrives) with no feed, and while the bot keeps re-reading a hostile
feed, on the same Synapse, in the same run.

    python bench/feed_isolation.py [--pings 100] [--block 10]

- Baseline: no feed is polled.
- Hostile: a feed of about 950 KB (under the default `news.max_feed_bytes`, 1 MB) made of
  ~18,000 tiny RSS items, slow for feedparser, served from 127.0.0.1 with no ETag and a body that
  changes at every fetch (a comment), subscribed to a territory's announcement room. While a
  hostile block runs, the news service's clock jumps ahead at every reading, so that the feed is
  due again as soon as its previous poll ends: it is fetched and parsed back to back.

Both are measured in alternating blocks so that any drift of the machine hits both alike. A
hostile block starts its pings at a random point of the poll cycle (a lead-in drawn between 0 and
the mean poll time), so that the pings sample every phase of it: the fetch, the parse in its
worker, and what comes back to the event loop (the parsed entries, compared with those already
seen); it ends by waiting for the poll in flight, so that no parse spills into a baseline block. Prints p50 / p95 for each, the ratio hostile / baseline (target ≤ 1.2), and how many
fetches and parses the hostile blocks saw (and how long each parse took in its worker), and
the event loop's lag in each condition (a 10 ms timer's lateness).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_synapse, drained, percentile, round_trip  # noqa: E402
from bot.app import Agora  # noqa: E402
from bot.config import parse_config  # noqa: E402
from tests.conftest import bot_config, free_port, register  # noqa: E402
from tests.people import Person  # noqa: E402

FEED_PATH = "/hostile.rss"
FEED_BYTES = 950_000
NETWORK = {
    "territories": [
        {
            "id": "bench",
            "name": "Bench",
            "rooms": [{"id": "annonces", "name": "Annonces", "kind": "announcements"}],
        }
    ]
}


class HostileFeed:
    """An RSS document of many tiny items, a little different at every fetch (a comment that
    counts the fetches), never with an ETag or Last-Modified: every poll is a full parse."""

    def __init__(self, size: int = FEED_BYTES):
        head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench'
        head += "</title>"
        parts, total, n = [], len(head) + 40, 0
        while total < size:
            item = f"<item><guid>g{n}</guid><title>t{n}</title></item>"
            parts.append(item)
            total += len(item)
            n += 1
        self.head = head.encode()
        self.rest = ("".join(parts) + "</channel></rss>").encode()
        self.items = n
        self.hits = 0
        self.url = ""

    def body(self) -> bytes:
        return self.head + f"<!-- fetch {self.hits:010d} -->".encode() + self.rest

    async def handle(self, request: web.Request) -> web.Response:
        if request.path != FEED_PATH:
            return web.Response(status=404)
        self.hits += 1
        return web.Response(body=self.body(), content_type="application/rss+xml")

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}{FEED_PATH}"
        return runner


class Clock:
    """The scheduler's clock: real time, or (hostile) a clock that jumps ahead by far more
    than the feed's interval at every reading, so that the feed's poll is always due again."""

    def __init__(self) -> None:
        self.hostile = False
        self.ahead = 0.0

    def __call__(self) -> float:
        if self.hostile:
            self.ahead += 10**7
        return time.time() + self.ahead if self.hostile else time.time()


class Probe:
    """Counts the polls and the worker parses, by wrapping the news service's own methods."""

    def __init__(self, agora: Agora):
        self.in_flight = 0
        self.polls = 0
        self.parses: list[float] = []  # seconds each successful parse took, loop-side
        self.entries = 0
        self.failures: list[str] = []
        self.busy = 0.0  # seconds with a poll in flight
        feeds, parser = agora.news.feeds, agora.news.feeds.parser
        poll, parse = feeds.poll, parser.parse

        async def counted_poll(feed):  # type: ignore[no-untyped-def]
            self.in_flight += 1
            started = time.perf_counter()
            try:
                await poll(feed)
            finally:
                self.in_flight -= 1
                self.polls += 1
                self.busy += time.perf_counter() - started

        async def timed_parse(body, content_type):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                parsed = await parse(body, content_type)
            except Exception as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
                raise
            self.parses.append(time.perf_counter() - started)
            self.entries = len(parsed.entries)
            return parsed

        feeds.poll = counted_poll  # type: ignore[method-assign]
        parser.parse = timed_parse  # type: ignore[method-assign]

    async def idle(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.in_flight:
            if time.monotonic() > deadline:
                raise TimeoutError("a feed poll did not finish")
            await asyncio.sleep(0.02)


class LoopLag:
    """How late a 10 ms timer fires on the event loop (which the bot shares with the admin's
    client and the feed server), recorded under the condition running at the time."""

    def __init__(self) -> None:
        self.condition: str | None = None
        self.lags: dict[str, list[float]] = {"baseline": [], "hostile": []}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + 0.01
            await asyncio.sleep(0.01)
            if self.condition:
                self.lags[self.condition].append(loop.time() - planned)


async def main(pings: int, block: int, settle: float, seed: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(seed)
    feed = HostileFeed()
    lag = LoopLag()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        hs = bench_synapse(tmp)
        await hs.start()
        agora = admin = feed_runner = lag_task = None
        try:
            feed_runner = await feed.start()
            admin_id, admin_pw = await register(hs, "admin")
            bot_id, bot_pw = await register(hs, "agora")
            admin = await Person.login(hs.url, admin_id, admin_pw, tmp / "admin")
            config = parse_config(
                bot_config(hs, bot_id[1:].split(":")[0], bot_pw, [admin_id], network=NETWORK),
                env={},
            )
            agora = Agora(config, tmp / "agora")
            await agora.start()
            await agora.settled()
            control = agora.control.room_id
            await admin.accept_invite(control)
            probe = Probe(agora)
            clock = Clock()
            agora.jobs.clock = clock  # type: ignore[assignment]

            # The subscription, as `!feed add <url> bench` makes it; its first poll (priming:
            # 3 posts, the rest of the ~18,000 entries recorded as seen) is not measured.
            row = await agora.news.feeds.add(admin_id, feed.url, "bench", 3600, None)
            for _ in range(1200):
                if (await agora.news.feeds.feed(row.id)).primed:
                    break
                await asyncio.sleep(0.05)
            else:
                raise TimeoutError(f"the feed was never read: {probe.failures}")
            await probe.idle()
            await drained(agora)
            for _ in range(3):  # warm up: sessions shared, keys claimed
                await round_trip(admin, control)

            base_times: list[float] = []
            hostile_times: list[float] = []
            hits0, polls0, parses0 = feed.hits, probe.polls, len(probe.parses)
            busy0, hostile_wall, base_hits, drain = probe.busy, 0.0, 0, 0.0
            cycle = probe.busy / probe.polls  # the priming poll's time, then the mean
            lag_task = asyncio.create_task(lag.run())
            while len(hostile_times) < pings:
                n = min(block, pings - len(hostile_times))
                before = feed.hits
                lag.condition = "baseline"
                base_times += [await round_trip(admin, control, settle) for _ in range(n)]
                lag.condition = None
                base_hits += feed.hits - before

                started = time.perf_counter()
                clock.hostile = True
                agora.jobs.kick()
                await asyncio.sleep(rng.uniform(0, cycle))  # a random phase of the poll cycle
                lag.condition = "hostile"
                hostile_times += [await round_trip(admin, control, settle) for _ in range(n)]
                lag.condition = None
                clock.hostile = False
                hostile_wall += time.perf_counter() - started
                drain_start = time.perf_counter()
                await probe.idle()  # no parse spills into the next baseline block
                drain += time.perf_counter() - drain_start
                if probe.polls > polls0:
                    cycle = (probe.busy - busy0) / (probe.polls - polls0)
            hits = feed.hits - hits0
            polls = probe.polls - polls0
            parse_times = probe.parses[parses0:]
            busy = probe.busy - busy0
            failures = probe.failures
            feed_row = await agora.news.feeds.feed(row.id)
        finally:
            if lag_task:
                lag_task.cancel()
            if admin:
                await admin.close()
            if agora:
                await agora.stop()
            if feed_runner:
                await feed_runner.cleanup()
            await hs.stop()

    def ms(v: float) -> str:
        return f"{v * 1000:7.1f} ms"

    b50, b95 = percentile(base_times, 0.5), percentile(base_times, 0.95)
    h50, h95 = percentile(hostile_times, 0.5), percentile(hostile_times, 0.95)
    print(
        f"feed_isolation: {len(base_times)} pings each, encrypted control room, same Synapse, "
        f"same run, blocks of {block}, {settle * 1000:.0f} ms idle before each"
    )
    print(
        f"  hostile feed: {len(feed.body()) / 1000:.0f} KB, {feed.items} RSS items, "
        f"no ETag, a new body at every fetch"
    )
    print(
        f"  baseline (no feed)  p50 {ms(b50)}  p95 {ms(b95)}  mean {ms(statistics.mean(base_times))}"
    )
    print(
        f"  hostile feed        p50 {ms(h50)}  p95 {ms(h95)}  "
        f"mean {ms(statistics.mean(hostile_times))}"
    )
    print(f"  ratio hostile/baseline  p50 {h50 / b50:.2f}x  p95 {h95 / b95:.2f}x  (target ≤ 1.2x)")
    mean_parse = f"{statistics.mean(parse_times):.2f} s" if parse_times else "—"
    print(
        f"  during the hostile blocks ({hostile_wall:.1f} s, + {drain:.1f} s waiting for the last "
        f"poll of each): {hits} fetches, {polls} polls, {len(parse_times)} parses of "
        f"{probe.entries} entries (mean {mean_parse} each), a poll in flight "
        f"{100 * busy / (hostile_wall + drain):.0f}% of the time"
    )
    for name, lags in lag.lags.items():
        print(
            f"  event loop lag, {name + ':':9} p50 {ms(percentile(lags, 0.5))}  "
            f"p99 {ms(percentile(lags, 0.99))}  max {ms(max(lags))}"
        )
    print(
        f"  fetches during baseline blocks: {base_hits}; parse failures: {len(failures)}"
        + (f" ({failures[0]})" if failures else "")
        + f"; feed's last error: {feed_row.last_error or 'none'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=100, help="pings per condition")
    parser.add_argument("--block", type=int, default=10, help="pings per block")
    parser.add_argument("--seed", type=int, default=1, help="for the hostile blocks' lead-in")
    parser.add_argument(
        "--settle", type=float, default=0.1, help="idle seconds before each ping (0 = back to back)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.pings, args.block, args.settle, args.seed))
