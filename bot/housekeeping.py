"""Every minute: the metrics of the durable work, and what has served its time pruned."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.config import Config
from bot.metrics import JOB_STATES, Metrics
from bot.scheduler import JobRunner
from bot.store import Store

log = logging.getLogger(__name__)


async def work_metrics(store: Store, jobs: JobRunner, metrics: Metrics) -> None:
    """The durable work as the store has it: jobs by state, events not handled yet."""
    counts = await jobs.counts()
    for state in JOB_STATES:
        metrics.jobs.labels(state=state).set(
            counts.get("pending" if state == "waiting" else state, 0)
        )
    metrics.backlog.set(await store.backlog())


async def housekeeping(
    store: Store,
    jobs: JobRunner,
    metrics: Metrics,
    config: Callable[[], Config],
    every: float = 60.0,
) -> None:
    while True:
        try:
            await work_metrics(store, jobs, metrics)
            now = config()
            pruned = await store.prune(now.jobs.keep_done, now.hooks.max_age)
            if pruned:
                log.info("pruned %d finished job(s) and handled event(s)", pruned)
        except Exception:  # never the end of the bot
            log.exception("housekeeping failed")
        await asyncio.sleep(every)
