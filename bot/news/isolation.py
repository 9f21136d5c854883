"""Feeds are parsed and sanitised away from the event loop, in worker processes, with a time
limit each: a crafted feed may cost a worker its time, never the bot its sync, its commands or
its /healthz. A worker that overruns is killed and replaced."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import multiprocessing
import os

from bot.news.entries import ParsedFeed, newest_first, parse
from bot.news.fetch import FetchError
from bot.news.render import sanitise

log = logging.getLogger(__name__)


# The newest entries of a feed read at each poll; older ones (a feed of thousands of items,
# hostile or careless) are never posted, so they are not sent back to the bot, whose loop
# would spend its time unpickling and comparing them.
MAX_ENTRIES = 200


def parse_clean(body: bytes, content_type: str) -> ParsedFeed:
    """In the worker: the feed parsed, its newest entries kept, each one's summary sanitised
    already (what is left to do on the loop, later, is cheap)."""
    parsed = parse(body, content_type)
    entries = [
        dataclasses.replace(e, summary_html=sanitise(e.summary_html))
        for e in newest_first(parsed.entries)[:MAX_ENTRIES]
    ]
    return dataclasses.replace(parsed, entries=entries)


def _ready() -> bool:
    return True


def _yield_cpu() -> None:
    """In each worker, at start: the lowest scheduling priority, so that on a small machine
    the homeserver and the bot's own loop get the processor first."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(19)


class FeedParser:
    def __init__(self, time_limit: float = 10.0, workers: int = 1):
        self.time_limit = time_limit
        self.workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()
        self._slots = asyncio.Semaphore(workers)  # one feed per worker at a time

    async def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        """The workers, started (and their imports done) before any time limit counts."""
        async with self._starting:
            return await self._start()

    async def _start(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a fresh interpreter, nothing of the bot's threads or sockets inherited.
            pool = concurrent.futures.ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_yield_cpu,
            )
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self.workers)))
            self._pool = pool
        return self._pool

    async def parse(self, body: bytes, content_type: str) -> ParsedFeed:
        """One feed parsed in a worker. The time limit counts from when a worker takes it
        (never the wait behind another feed); a feed over it kills the pool it ran on only
        (a pool replaced meanwhile is left alone), and the others are tried again next poll."""
        loop = asyncio.get_running_loop()
        async with self._slots:
            pool = await self._executor()
            future = loop.run_in_executor(pool, parse_clean, body, content_type)
            try:
                return await asyncio.wait_for(future, self.time_limit)
            except TimeoutError:
                log.warning(
                    "a feed took over %.0f s to parse; its worker is replaced", self.time_limit
                )
                self._kill(pool)
                raise FetchError("parse_timeout", seconds=round(self.time_limit)) from None
            except concurrent.futures.process.BrokenProcessPool:
                self._kill(pool)
                raise FetchError("parse_failed") from None

    def _kill(self, pool: concurrent.futures.ProcessPoolExecutor | None = None) -> None:
        if pool is None:
            pool = self._pool
        if pool is self._pool:
            self._pool = None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._kill()
