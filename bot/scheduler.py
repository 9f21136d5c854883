"""Durable jobs: rows written beside the decision that calls for them, run here, marked done
after. A restart finds unfinished jobs and runs them. A job that fails because the homeserver
is away (connection errors, timeouts, 5xx, 429) is retried with a capped backoff for as long
as it takes; any other failure (a 4xx answer, a bug) is tried ``max_attempts`` times, then
given up and reported: the report is itself a job, so an outage cannot swallow it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.effects import caused_by
from bot.errors import Conflict, NotFound, new_reference, transient
from bot.store import DueJob, JobRow, Store

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8  # jobs run at once


@dataclass(frozen=True)
class Again:
    """What a recurring job returns: run the same job again at ``at``."""

    at: float


Handler = Callable[[dict[str, Any]], Awaitable[Again | None]]


class Clock:
    """Time as the bot's scheduled work sees it: the wall clock, moved forward by tests (a
    reminder due in two hours, a feed polled every half hour) without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class JobRunner:
    def __init__(
        self,
        store: Store,
        handlers: dict[str, Handler],
        on_give_up: Callable[[int, str, dict[str, Any], str], Awaitable[None]] | None = None,
        *,
        max_attempts: int = 8,
        idle_check: float = 5.0,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Clock | None = None,
    ):
        self.clock = clock or Clock()
        self.concurrency = concurrency
        self.store = store
        self.handlers = handlers
        self.on_give_up = on_give_up
        self.max_attempts = max_attempts
        self.max_backoff = 300.0
        # The kind of the job that reports a job given up (written in the same transaction).
        self.report_kind: str | None = None
        self.idle_check = idle_check
        self._wake = asyncio.Event()
        # Lower runs first among due jobs (telling someone can wait for provisioning).
        self.priorities: dict[str, int] = {}
        # Kinds that run in slots of their own (a feed's poll, which may take long, never
        # holds a member's invitation up), how many at once; they are recurring, always
        # waiting, so `!jobs` and the metrics show them only when they retry or gave up.
        self.pools: dict[str, int] = {}

    def configure(self, jobs: Any) -> None:
        """The ``jobs:`` settings (``JobsConfig``): a reload applies them to the next try."""
        self.max_attempts = jobs.max_attempts
        self.max_backoff = jobs.max_backoff

    def kick(self) -> None:
        self._wake.set()

    def advance(self, seconds: float) -> None:
        """Move the clock forward and look for what became due (tests, benchmarks)."""
        self.clock.advance(seconds)
        self.kick()

    async def run(self) -> None:
        """A pool of ``concurrency`` workers: a slot that frees up takes the next due job at
        once (a long job never holds the others back until a whole round ends)."""
        running: dict[int, asyncio.Task[bool]] = {}
        try:
            while True:
                self._wake.clear()
                for job in await self._next(running):
                    # Named for its kind: ``_next`` counts the slots each kind takes.
                    running[job.id] = asyncio.create_task(self._run_one(job), name=job.kind)
                wake = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait(
                        {wake, *running.values()},
                        timeout=self.idle_check,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    wake.cancel()
                for job_id in [j for j, task in running.items() if task.done()]:
                    running.pop(job_id)
        finally:  # stopping: a job cut short is still pending in the store, and runs again
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _next(
        self, running: dict[int, asyncio.Task[bool]], cap_low: bool = True
    ) -> list[DueJob]:
        """Due jobs not already running that have a free slot, by priority (then age). Jobs
        of a lower priority take at most half the common slots, so that an urgent one never
        waits behind a long queue of them; pooled kinds take only their own."""
        taken: dict[str, int] = {}
        for task in running.values():
            taken[task.get_name()] = taken.get(task.get_name(), 0) + 1
        common = sum(n for kind, n in taken.items() if kind not in self.pools)
        low = sum(n for kind, n in taken.items() if self.priorities.get(kind, 0))
        limit = self.concurrency + sum(self.pools.values()) + 200
        due = [
            j
            for j in await self.store.due_jobs(limit=len(running) + limit, now=self.clock())
            if j.id not in running
        ]
        due.sort(key=lambda j: (self.priorities.get(j.kind, 0), j.id))
        picked: list[DueJob] = []
        for job in due:
            if job.kind in self.pools:
                if taken.get(job.kind, 0) >= self.pools[job.kind]:
                    continue
                taken[job.kind] = taken.get(job.kind, 0) + 1
            elif common >= self.concurrency:
                continue
            else:
                if cap_low and self.priorities.get(job.kind, 0):
                    if low >= max(1, self.concurrency // 2):
                        continue
                    low += 1
                common += 1
            picked.append(job)
        return picked

    async def run_due(self) -> int:
        """Run every job due now, a few at a time (``concurrency``), and return how many
        succeeded (tests and tools; the bot uses ``run``)."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(job: DueJob) -> bool:
            async with sem:
                return await self._run_one(job)

        due = await self.store.due_jobs(limit=200, now=self.clock())
        results = await asyncio.gather(*(one(job) for job in due))
        return sum(results)

    async def _run_one(self, job: DueJob) -> bool:
        job_id, kind, payload, attempts = job.id, job.kind, job.payload, job.attempts
        handler = self.handlers.get(kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            with caused_by(job.cause):
                again = await handler(payload)
        except Exception as exc:  # a job never stops the runner
            ref = new_reference()
            away = transient(exc)
            give_up = not away and attempts + 1 >= self.max_attempts
            delay = min(self.max_backoff, 5.0 * 2 ** min(attempts, 16))
            if away:  # the homeserver is away: no trace, it will be back
                log.warning("job %s (%s): %r; next try in %.0f s", job_id, kind, exc, delay)
            else:
                log.exception(
                    "job %s (%s) failed, ref %s%s",
                    job_id,
                    kind,
                    ref,
                    "; giving up" if give_up else "",
                )
            report = None
            if give_up and self.report_kind and kind != self.report_kind:
                report = (
                    self.report_kind,
                    {"id": job_id, "kind": kind, "ref": ref, "attempts": attempts + 1},
                )
            await self.store.retry_job(job_id, f"ref {ref}: {exc!r}", delay, give_up, report=report)
            if give_up:
                if self.on_give_up is not None:
                    await self.on_give_up(job_id, kind, payload, ref)
                self.kick()
            return False
        if again is not None:
            await self.store.again_at(job_id, again.at)
        else:
            await self.store.finish_job(job_id)
        return True

    # --- what admins see and do (`!jobs`) ------------------------------------------------------

    async def open_jobs(self) -> list[JobRow]:
        """Waiting, retrying and given-up jobs, oldest first (recurring ones only when they
        retry or gave up)."""
        return await self.store.open_jobs(quiet=self.pools)

    async def counts(self) -> dict[str, int]:
        """Jobs by state for the metrics (recurring ones only when they retry or gave up)."""
        return await self.store.job_counts(quiet=self.pools)

    async def _open(self, job_id: int) -> JobRow:
        found = await self.store.job(job_id)
        if found is None:
            raise NotFound("jobs.unknown", id=job_id)
        if found.status not in ("pending", "failed"):
            raise Conflict("jobs.closed", id=job_id, status=found.status)
        return found

    async def retry_now(self, job_id: int, by: str) -> JobRow:
        """A waiting or given-up job tried again now, its tries counted afresh."""
        found = await self._open(job_id)
        await self.store.retry_job_now(job_id)
        await self.store.audit(by, "jobs.retry", "ok", detail=f"#{job_id}")
        self.kick()
        return found

    async def cancel(self, job_id: int, by: str) -> JobRow:
        """A job that will not run (any more); one running now finishes its try."""
        found = await self._open(job_id)
        await self.store.cancel_job(job_id)
        await self.store.audit(by, "jobs.cancel", "ok", detail=f"#{job_id} {found.kind}")
        return found
