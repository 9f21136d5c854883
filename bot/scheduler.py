"""Durable jobs: rows written beside the decision that calls for them, run here, marked done
after. A restart finds unfinished jobs and runs them; a failing job backs off and, after
``max_attempts``, is reported instead of retried for ever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.errors import new_reference
from bot.store import Store

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class JobRunner:
    def __init__(
        self,
        store: Store,
        handlers: dict[str, Handler],
        on_give_up: Callable[[str, dict[str, Any], str], Awaitable[None]],
        *,
        max_attempts: int = 8,
        idle_check: float = 5.0,
        concurrency: int = 8,
    ):
        self.concurrency = concurrency
        self.store = store
        self.handlers = handlers
        self.on_give_up = on_give_up
        self.max_attempts = max_attempts
        self.idle_check = idle_check
        self._wake = asyncio.Event()

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self.run_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_check)
            self._wake.clear()

    async def run_due(self) -> int:
        """Run the jobs that are due, a few at a time (``concurrency``)."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(job_id: int, kind: str, payload: dict[str, Any], attempts: int) -> bool:
            async with sem:
                return await self._run_one(job_id, kind, payload, attempts)

        due = await self.store.due_jobs(limit=200)
        results = await asyncio.gather(*(one(*job) for job in due))
        return sum(results)

    async def _run_one(
        self, job_id: int, kind: str, payload: dict[str, Any], attempts: int
    ) -> bool:
        handler = self.handlers.get(kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            await handler(payload)
        except Exception as exc:  # a job never stops the runner
            ref = new_reference()
            give_up = attempts + 1 >= self.max_attempts
            log.exception(
                "job %s (%s) failed, ref %s%s", job_id, kind, ref, "; giving up" if give_up else ""
            )
            await self.store.retry_job(
                job_id, f"ref {ref}: {exc!r}", min(600.0, 5.0 * 2**attempts), give_up
            )
            if give_up:
                await self.on_give_up(kind, payload, ref)
            return False
        await self.store.finish_job(job_id)
        return True
