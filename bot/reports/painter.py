"""The report's picture is drawn in a worker process of its own, started for it and gone after
it: matplotlib's memory (tens of megabytes) and processor time stay out of the bot, whose loop
goes on syncing and answering meanwhile, and nothing of it lingers between reports (they are
rare). As ``bot.rosters.book.offload`` and ``bot.news.isolation`` do, the worker is spawned (a
fresh interpreter, nothing of the bot's threads or sockets inherited) and runs at a lower
priority; unlike them it is not kept, so it has a pool of its own here.

matplotlib is told, before it is imported, to draw with Agg (no display) and to keep its
configuration and font cache in ``config_dir`` (under the data directory), never in $HOME."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from bot.errors import UserError
from bot.reports.chart import Chart, draw, prepare_worker

log = logging.getLogger(__name__)
TIME_LIMIT = 120.0  # seconds a picture may take (the first one builds the font cache)


class Painter:
    def __init__(self, config_dir: Path, time_limit: float = TIME_LIMIT):
        self.config_dir = config_dir
        self.time_limit = time_limit
        self._one_at_a_time = asyncio.Semaphore(1)  # two admins' reports: one after the other

    async def paint(self, chart: Chart) -> bytes:
        """The chart as a PNG, drawn in a worker process; ``UserError("report.failed")`` if
        the worker died or overran its time (it is killed)."""
        self.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        async with self._one_at_a_time:
            pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=prepare_worker,
                initargs=(str(self.config_dir),),
            )
            finished = False
            try:
                future = asyncio.get_running_loop().run_in_executor(pool, draw, chart)
                png = await asyncio.wait_for(future, self.time_limit)
                finished = True
                return png
            except TimeoutError:
                log.warning("a report's picture took over %.0f s: its worker is killed",
                            self.time_limit)  # fmt: skip
                raise UserError("report.failed") from None
            except BrokenProcessPool:
                log.warning("the worker drawing a report's picture died")
                raise UserError("report.failed") from None
            finally:
                _close(pool, kill=not finished)


def _close(pool: ProcessPoolExecutor, *, kill: bool) -> None:
    """The worker let go; killed if it is still drawing (over its time, the bot stopping)."""
    if kill:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
