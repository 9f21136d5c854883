"""Broadcasting one message into many rooms, durably and exactly once.

A message (a feed entry, a news item, an alert) is a row with its content and a version; each
room it goes to is a delivery row, written in the same transaction as the message, with the job
that sends them. The job sends what each room has not got yet: the message itself, or an edit
(``m.replace``) of the first post when the message changed since. Each send uses a transaction
id derived from (message, room, version), so a send repeated after a crash is answered by the
homeserver with the event it already stored: a restart mid-broadcast reaches the rooms not yet
reached, once, and no room twice.

Sends are paced (``pace_per_second`` across all rooms, a token bucket) below the homeserver's
rate limits; a 429 is honoured by the gateway anyway. A few rooms are sent to at once
(``concurrency``): each room's Megolm session is shared independently of the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

from bot.errors import MatrixError
from bot.matrix.content import replacement
from bot.matrix.gateway import Gateway
from bot.store import Store
from bot.store.news import DELIVER_JOB, BroadcastStore

log = logging.getLogger(__name__)

__all__ = ["DELIVER_JOB", "Broadcaster", "Pacer", "txn_id"]


class Pacer:
    """A token bucket: at most ``rate`` sends a second, bursts of ``rate`` allowed."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                # At least one token fits, or a pace under one a second would never send.
                self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


def txn_id(message: str, room_id: str, version: int) -> str:
    digest = hashlib.sha256(f"{message}\x1f{room_id}\x1f{version}".encode()).hexdigest()[:40]
    return f"agora.{digest}"


class Broadcaster:
    """Sends what the store says each room is missing (``BroadcastStore.publish`` and
    ``revise`` queue it, inside the transaction of the change that calls for it)."""

    def __init__(
        self, gateway: Gateway, store: Store, pace_per_second: float, concurrency: int = 4
    ):
        self.gateway = gateway
        self.messages = BroadcastStore(store)
        self.pacer = Pacer(pace_per_second)
        self.concurrency = concurrency

    def set_pace(self, per_second: float) -> None:
        """A reloaded ``news.pace_per_second`` takes effect at the next send."""
        self.pacer.rate = per_second
        self.pacer.tokens = min(self.pacer.tokens, max(1.0, per_second))

    async def deliver(self, payload: dict[str, Any]) -> None:
        """The job: every room still missing the current version of the message (or of each
        of ``messages``, in their order) gets it."""
        for message in payload.get("messages") or [payload["message"]]:
            await self._deliver(message)

    async def _deliver(self, message: str) -> None:
        current = await self.messages.current(message)
        if current is None:
            return
        content, version = current
        behind = await self.messages.behind(message, version)
        # Rooms are independent: a few at a time, so that one room's Megolm session is shared
        # while another's message is encrypted or stored. The Olm sessions every room needs
        # are claimed first, in one request (rooms sharing members would claim twice).
        await self.gateway.prepare_encryption([room_id for room_id, _ in behind])
        failed: list[tuple[str, MatrixError]] = []
        slots = asyncio.Semaphore(self.concurrency)

        async def one(room_id: str, first_event: str | None) -> None:
            async with slots:
                await self.pacer.wait()
                body = replacement(first_event, content) if first_event else content
                try:
                    event_id = await self.gateway.send(
                        room_id, body, txn=txn_id(message, room_id, version)
                    )
                except MatrixError as exc:
                    if exc.status in (403, 404):  # the bot is no longer there: not retried
                        log.warning("%s not delivered to %s: %s", message, room_id, exc)
                        await self.messages.undeliverable(message, room_id, version, str(exc))
                        return
                    failed.append((room_id, exc))
                    return
                await self.messages.delivered(message, room_id, version, event_id)

        await asyncio.gather(*(one(room_id, first) for room_id, first in behind))
        if failed:  # the job runner retries with backoff: the rooms done stay done
            _, first = failed[0]
            raise MatrixError(first.status, first.errcode, f"{len(failed)} room(s) left: {first}")

    async def message_of_event(self, event_id: str) -> str | None:
        return await self.messages.message_of_event(event_id)
