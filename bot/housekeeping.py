"""Every minute: the metrics of the durable work, and what has served its time pruned."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.config import Config
from bot.metrics import Metrics
from bot.scheduler import JobRunner
from bot.store import Store

log = logging.getLogger(__name__)


async def housekeeping(
    store: Store,
    jobs: JobRunner,
    metrics: Metrics,
    config: Callable[[], Config],
    every: float = 60.0,
) -> None:
    while True:
        try:
            counts = await jobs.counts()
            for state in ("pending", "retrying", "failed"):
                metrics.jobs.labels(state="waiting" if state == "pending" else state).set(
                    counts.get(state, 0)
                )
            metrics.backlog.set(await store.backlog())
            now = config()
            pruned = await store.prune(now.jobs.keep_done, now.hooks.max_age)
            if pruned:
                log.info("pruned %d finished job(s) and handled event(s)", pruned)
        except Exception:  # never the end of the bot
            log.exception("housekeeping failed")
        await asyncio.sleep(every)
