"""Broadcasting one message into many rooms, durably and exactly once.

A message (a feed entry, a news item, an alert) is a row with its content and a version; each
room it goes to is a delivery row, written in the same transaction as the message, with the job
that sends them. The job sends what each room has not got yet: the message itself, or an edit
(``m.replace``) of the first post when the message changed since. Each send uses a transaction
id derived from (message, room, version), so a send repeated after a crash is answered by the
homeserver with the event it already stored: a restart mid-broadcast reaches the rooms not yet
reached, once, and no room twice.

Sends are paced (``pace_per_second`` across all rooms, a token bucket) below the homeserver's
rate limits; a 429 is honoured by the gateway anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

import aiosqlite

from bot.errors import MatrixError
from bot.matrix.content import replacement
from bot.matrix.gateway import Gateway
from bot.store import Store

log = logging.getLogger(__name__)

DELIVER_JOB = "news.deliver"


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
    def __init__(self, gateway: Gateway, store: Store, pace_per_second: float, wake_jobs):
        self.gateway = gateway
        self.store = store
        self.pacer = Pacer(pace_per_second)
        self.wake_jobs = wake_jobs

    def set_pace(self, per_second: float) -> None:
        """A reloaded ``news.pace_per_second`` takes effect at the next send."""
        self.pacer.rate = per_second
        self.pacer.tokens = min(self.pacer.tokens, max(1.0, per_second))

    @staticmethod
    async def publish(
        db: aiosqlite.Connection,
        message: str,
        content: dict[str, Any],
        room_ids: list[str],
        *,
        job: bool = True,
    ) -> None:
        """Inside the caller's transaction: the message, its deliveries and (unless the caller
        queues one job for several messages, to keep their order) the job."""
        await db.execute(
            "INSERT INTO messages (key, content, version, created) VALUES (?, ?, 1, ?)",
            (message, json.dumps(content), time.time()),
        )
        await db.executemany(
            "INSERT OR IGNORE INTO deliveries (message, room_id) VALUES (?, ?)",
            [(message, r) for r in dict.fromkeys(room_ids)],
        )
        if job:
            await Store.add_job(db, DELIVER_JOB, {"message": message})

    @staticmethod
    async def revise(db: aiosqlite.Connection, message: str, content: dict[str, Any]) -> None:
        """A new version of a message: rooms that have it get an edit."""
        await db.execute(
            "UPDATE messages SET content = ?, version = version + 1 WHERE key = ?",
            (json.dumps(content), message),
        )
        await Store.add_job(db, DELIVER_JOB, {"message": message})

    async def deliver(self, payload: dict[str, Any]) -> None:
        """The job: every room still missing the current version of the message (or of each
        of ``messages``, in their order) gets it."""
        for message in payload.get("messages") or [payload["message"]]:
            await self._deliver(message)

    async def _deliver(self, message: str) -> None:
        async with self.store.db.execute(
            "SELECT content, version FROM messages WHERE key = ?", (message,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return
        content, version = json.loads(row[0]), row[1]
        async with self.store.db.execute(
            "SELECT room_id, version, event_id FROM deliveries WHERE message = ? AND version < ?",
            (message, version),
        ) as cur:
            todo = [tuple(r) for r in await cur.fetchall()]
        failed = []
        for room_id, _have, first_event in todo:
            await self.pacer.wait()
            body = replacement(first_event, content) if first_event else content
            try:
                event_id = await self.gateway.send(
                    room_id, body, txn=txn_id(message, room_id, version)
                )
            except MatrixError as exc:
                if exc.status in (403, 404):  # the bot is no longer there: not retried
                    log.warning("%s not delivered to %s: %s", message, room_id, exc)
                    await self.store._write(
                        "UPDATE deliveries SET error = ?, version = ?, at = ? "
                        "WHERE message = ? AND room_id = ?",
                        (str(exc), version, time.time(), message, room_id),
                    )
                    continue
                failed.append((room_id, exc))
                continue
            await self.store._write(
                "UPDATE deliveries SET version = ?, event_id = COALESCE(event_id, ?), "
                "error = NULL, at = ? WHERE message = ? AND room_id = ?",
                (version, event_id, time.time(), message, room_id),
            )
        if failed:  # the job runner retries with backoff: the rooms done stay done
            room_id, exc = failed[0]
            raise MatrixError(exc.status, exc.errcode, f"{len(failed)} room(s) left: {exc}")

    async def message_of_event(self, event_id: str) -> str | None:
        async with self.store.db.execute(
            "SELECT message FROM deliveries WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None
