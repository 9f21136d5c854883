"""The recorded events other than commands (invites, memberships, reactions, policy rules,
redactions, rooms left, what could not be decrypted), handled beside the sync: each once, in
the order they came, through the application's one routing table. One that fails is retried
on its own (for as long as the homeserver is away; a few times for any other failure, then
reported by a durable job) and never holds the others back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.effects import caused_by
from bot.errors import AgoraError, new_reference, transient
from bot.matrix.sync import PolicyEvents, revive
from bot.store import Store

log = logging.getLogger(__name__)

GAVE_UP_EVENT_JOB = "events.gave_up"
EVENT_TRANSIENT_ATTEMPTS = 300  # about a day at the longest backoff
RETRY = 10.0  # seconds between looks for events due again (a room key that has not come)

Row = tuple[int, str, dict[str, Any], int]  # (seq, kind, fields, attempts)


class StillUnreadable(Exception):
    """An event kept undecryptable: its room key has not reached the bot yet."""


def groups_of(rows: list[Row]) -> list[list[Row]]:
    """Each event alone, except consecutive policy rules seen for the first time, which go
    together (one sweep for all); a rule that failed before is tried alone, so that it never
    takes fresh ones down with it."""
    groups: list[list[Row]] = []
    for row in rows:
        fresh = row[1] == "policy" and row[3] == 0
        if fresh and groups and groups[-1][0][1] == "policy" and groups[-1][0][3] == 0:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


class EventDrain:
    def __init__(
        self,
        store: Store,
        route: Callable[[Any], Awaitable[bool]],
        limits: Callable[[], tuple[int, float]],
        wake_jobs: Callable[[], None],
    ):
        self.store = store
        self.route = route
        self.limits = limits  # (jobs.max_attempts, jobs.max_backoff) as configured now
        self.wake_jobs = wake_jobs
        self.wake = asyncio.Event()
        self._draining = asyncio.Lock()  # one drain at a time (the loop, tests)

    async def run(self) -> None:
        """Whenever a sync brought events, and every few seconds for those due again."""
        while True:
            with contextlib.suppress(TimeoutError):  # not wait_for: see Dispatcher.run
                async with asyncio.timeout(RETRY):
                    await self.wake.wait()
            self.wake.clear()
            try:
                await self.drain()
            except AgoraError as exc:  # the store or homeserver away: the next round retries
                log.warning("handling recorded events: %s", exc)

    async def drain(self) -> int:
        """Handle what is recorded and due, in order; how many were handled."""
        handled = 0
        async with self._draining:
            while rows := await self.store.pending_event_rows():
                for group in groups_of(rows):
                    await self._handle(group)
                    handled += len(group)
                if len(rows) < 200:
                    break
        return handled

    async def _handle(self, group: list[Row]) -> None:
        seqs = [seq for seq, *_ in group]
        kind, attempts = group[0][1], max(a for *_, a in group)
        cause = group[0][2].get("event_id")
        try:
            items = [revive(k, fields) for _, k, fields, _ in group]
            with caused_by(f"event:{cause}" if cause else f"row:{seqs[0]}"):
                await self.route(PolicyEvents(tuple(items)) if kind == "policy" else items[0])
        except StillUnreadable:
            # Its key has not come: tried again soon, and at once when keys arrive.
            await self.store.retry_event_rows(seqs, "no room key yet", RETRY, False)
            return
        except Exception as exc:
            again = transient(exc)
            max_attempts, max_backoff = self.limits()
            # An outage is waited out (about a day at the longest backoff), then reported.
            give_up = attempts + 1 >= (EVENT_TRANSIENT_ATTEMPTS if again else max_attempts)
            ref = new_reference()
            log.warning(
                "%s event %s failed (ref %s): %r%s",
                kind,
                cause or seqs[0],
                ref,
                exc,
                "; giving up" if give_up else "",
                exc_info=not again,
            )
            delay = min(max_backoff, 5.0 * 2 ** min(attempts, 10))
            report = (GAVE_UP_EVENT_JOB, {"kind": kind, "ref": ref}) if give_up else None
            await self.store.retry_event_rows(
                seqs, f"ref {ref}: {exc!r}", delay, give_up, report=report
            )
            if give_up:
                self.wake_jobs()
            return
        await self.store.finish_event_rows(seqs)
