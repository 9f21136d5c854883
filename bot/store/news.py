"""News, alerts and their acknowledgements, feeds and their entries, the public page, and the
broadcasts that carry them to rooms (SQL only; the rules are in ``bot.news``).

Methods taking ``db`` run inside the caller's transaction, beside the change that calls for
them (a news item and its broadcast, a feed entry and its delivery job)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.store import Store

DELIVER_JOB = "news.deliver"


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    territory: str
    rooms: tuple[str, ...]
    every: float
    filter: str | None
    public: bool
    origin: str
    title: str | None
    etag: str | None
    last_modified: str | None
    last_fetch: float | None
    last_ok: float | None
    last_error: str | None
    errors: int
    next_at: float
    failing: bool
    primed: bool

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        """What makes a feed declared in the config the same one across restarts."""
        return self.url, self.territory, self.rooms


@dataclass(frozen=True)
class NewFeed:
    url: str
    territory: str
    rooms: tuple[str, ...]
    every: float
    filter: str | None
    public: bool


@dataclass(frozen=True)
class AlertRow:
    id: int
    territory: str
    level: str
    text: str
    author: str
    created: float
    reminded: bool


@dataclass(frozen=True)
class PublicItem:
    """One line of a territory's public news page."""

    message: str
    territory: str
    title: str
    link: str = ""
    summary: str = ""
    source: str = ""
    published: float = 0.0


_FEED_COLUMNS = (
    "id, url, territory, rooms, every, filter, public, origin, title, etag, last_modified, "
    "last_fetch, last_ok, last_error, errors, next_at, failing, primed"
)


def _feed(row: Any) -> FeedRow:
    values = list(row)
    values[3] = tuple(json.loads(values[3]))
    values[6], values[16], values[17] = bool(values[6]), bool(values[16]), bool(values[17])
    return FeedRow(*values)


class NewsStore:
    def __init__(self, store: Store):
        self.store = store

    # --- news and alerts ------------------------------------------------------------------

    @staticmethod
    async def add_news(
        db: aiosqlite.Connection,
        territory: str,
        text: str,
        author: str,
        public: bool,
        origin: str,
        created: float,
    ) -> int:
        cur = await db.execute(
            "INSERT INTO news (territory, text, author, public, origin, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (territory, text, author, int(public), origin, created),
        )
        return cur.lastrowid or 0

    @staticmethod
    async def add_alert(
        db: aiosqlite.Connection,
        territory: str,
        level: str,
        text: str,
        author: str,
        origin: str,
        created: float,
    ) -> int:
        cur = await db.execute(
            "INSERT INTO alerts (territory, level, text, author, origin, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (territory, level, text, author, origin, created),
        )
        return cur.lastrowid or 0

    async def alert(self, alert_id: int) -> AlertRow | None:
        async with self.store.db.execute(
            "SELECT id, territory, level, text, author, created, reminded FROM alerts WHERE id = ?",
            (alert_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return AlertRow(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))

    async def add_ack(self, alert_id: int, user: str, via: str, at: float) -> bool:
        """False if ``user`` had acknowledged it already."""
        cur = await self.store._write(
            "INSERT OR IGNORE INTO acks (alert_id, user_id, via, at) VALUES (?, ?, ?, ?)",
            (alert_id, user, via, at),
        )
        return cur.rowcount == 1

    async def acked(self, alert_id: int) -> set[str]:
        async with self.store.db.execute(
            "SELECT user_id FROM acks WHERE alert_id = ?", (alert_id,)
        ) as cur:
            return {r[0] for r in await cur.fetchall()}

    async def mark_reminded(self, alert_id: int) -> None:
        await self.store._write("UPDATE alerts SET reminded = 1 WHERE id = ?", (alert_id,))

    async def first_hook(self, signature: str, at: float) -> bool:
        """False when a webhook request with this signature was accepted before (a replay)."""
        cur = await self.store._write(
            "INSERT OR IGNORE INTO hook_seen (signature, at) VALUES (?, ?)", (signature, at)
        )
        return cur.rowcount == 1

    # --- the public page --------------------------------------------------------------------

    @staticmethod
    async def put_public(db: aiosqlite.Connection, item: PublicItem, *, subtree: bool) -> None:
        """Shown on the page of ``item.territory`` (and, ``subtree``, of every territory below
        it); a feed entry changed at its source replaces its line."""
        await db.execute(
            "INSERT INTO public_items (message, territory, subtree, title, link, summary, "
            "source, published) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(message) DO UPDATE "
            "SET title = excluded.title, link = excluded.link, summary = excluded.summary",
            (
                item.message,
                item.territory,
                int(subtree),
                item.title,
                item.link,
                item.summary,
                item.source,
                item.published,
            ),
        )

    async def public_items(
        self, territory: str, above: list[str], limit: int
    ) -> list[dict[str, Any]]:
        """A territory's own items and those posted to everything below a territory in
        ``above`` (its lineage, and the everywhere marker), newest first."""
        marks = ", ".join("?" for _ in above)
        async with self.store.db.execute(
            "SELECT message, territory, title, link, summary, source, published FROM public_items "
            f"WHERE territory = ? OR (subtree = 1 AND territory IN ({marks})) "
            "ORDER BY published DESC LIMIT ?",
            (territory, *above, limit),
        ) as cur:
            return [dict(r) for r in await cur.fetchall()]


class FeedStore:
    def __init__(self, store: Store):
        self.store = store

    async def feeds(self, *, origin: str | None = None) -> list[FeedRow]:
        sql = f"SELECT {_FEED_COLUMNS} FROM feeds WHERE removed = 0"
        params: tuple[str, ...] = ()
        if origin is not None:
            sql, params = sql + " AND origin = ?", (origin,)
        async with self.store.db.execute(sql + " ORDER BY id", params) as cur:
            return [_feed(r) for r in await cur.fetchall()]

    async def feed(self, feed_id: int, *, removed_too: bool = False) -> FeedRow | None:
        async with self.store.db.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ?"
            + ("" if removed_too else " AND removed = 0"),
            (feed_id,),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _feed(row)

    @staticmethod
    async def add_feed(
        db: aiosqlite.Connection, feed: NewFeed, *, origin: str, by: str, now: float
    ) -> int:
        cur = await db.execute(
            "INSERT INTO feeds (url, territory, rooms, every, filter, public, origin, added_by, "
            "created, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                feed.url,
                feed.territory,
                json.dumps(list(feed.rooms)),
                feed.every,
                feed.filter,
                int(feed.public),
                origin,
                by,
                now,
                now,
            ),
        )
        return cur.lastrowid or 0

    @staticmethod
    async def remove_feed(db: aiosqlite.Connection, feed_id: int) -> None:
        await db.execute("UPDATE feeds SET removed = 1 WHERE id = ?", (feed_id,))

    @staticmethod
    async def set_schedule(
        db: aiosqlite.Connection, feed_id: int, every: float, filter: str | None, public: bool
    ) -> None:
        await db.execute(
            "UPDATE feeds SET every = ?, filter = ?, public = ? WHERE id = ?",
            (every, filter, int(public), feed_id),
        )

    @staticmethod
    async def fetched(
        db: aiosqlite.Connection,
        feed_id: int,
        *,
        now: float,
        next_at: float,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
    ) -> None:
        await db.execute(
            "UPDATE feeds SET last_fetch = ?, last_ok = ?, last_error = NULL, errors = 0, "
            "failing = 0, next_at = ?, etag = ?, last_modified = ?, primed = 1, "
            "title = COALESCE(?, title) WHERE id = ?",
            (now, now, next_at, etag, last_modified, title, feed_id),
        )

    @staticmethod
    async def failed(
        db: aiosqlite.Connection,
        feed_id: int,
        *,
        now: float,
        error: str,
        errors: int,
        next_at: float,
    ) -> None:
        await db.execute(
            "UPDATE feeds SET last_fetch = ?, last_error = ?, errors = ?, next_at = ?, "
            "failing = 1 WHERE id = ?",
            (now, error, errors, next_at, feed_id),
        )

    async def ensure_polled(self, kind: str) -> int:
        """Each live feed gets a pending ``kind`` job if it has none (one cancelled or given
        up by hand, a row written by an older version), in one statement: two callers at
        once never make two. How many were added."""
        cur = await self.store._write(
            "INSERT INTO jobs (kind, payload, next_at, created) "
            "SELECT ?, json_object('feed', f.id), f.next_at, strftime('%s') FROM feeds f "
            "WHERE f.removed = 0 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = ? "
            "AND j.status = 'pending' AND json_extract(j.payload, '$.feed') = f.id)",
            (kind, kind),
        )
        return cur.rowcount

    async def first_poll_job(self, kind: str, feed_id: int) -> int | None:
        """The oldest pending ``kind`` job of a feed (a second one, made by a race in an
        older version or a job retried by hand, yields to it)."""
        async with self.store.db.execute(
            "SELECT MIN(id) FROM jobs WHERE kind = ? AND status = 'pending' "
            "AND json_extract(payload, '$.feed') = ?",
            (kind, feed_id),
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def known_entries(self, feed_id: int) -> dict[str, tuple[str, str | None]]:
        """Entry key → (its digest when last seen, the message that carried it, if any)."""
        async with self.store.db.execute(
            "SELECT key, digest, message FROM feed_entries WHERE feed_id = ?", (feed_id,)
        ) as cur:
            return {r[0]: (r[1], r[2]) for r in await cur.fetchall()}

    @staticmethod
    async def add_entry(
        db: aiosqlite.Connection,
        feed_id: int,
        key: str,
        digest: str,
        message: str | None,
        seen: float,
    ) -> None:
        """An entry seen (``message`` None: skipped, never posted)."""
        await db.execute(
            "INSERT INTO feed_entries (feed_id, key, digest, message, seen) VALUES (?, ?, ?, ?, ?)",
            (feed_id, key, digest, message, seen),
        )

    @staticmethod
    async def set_digest(db: aiosqlite.Connection, feed_id: int, key: str, digest: str) -> None:
        await db.execute(
            "UPDATE feed_entries SET digest = ? WHERE feed_id = ? AND key = ?",
            (digest, feed_id, key),
        )


class BroadcastStore:
    """Something broadcast (a feed entry, a news item, an alert) and its current version; each
    room's delivery is a row, so a restart sends what is missing and nothing twice."""

    def __init__(self, store: Store):
        self.store = store

    @staticmethod
    async def publish(
        db: aiosqlite.Connection,
        message: str,
        content: dict[str, Any],
        room_ids: list[str],
        *,
        job: bool = True,
    ) -> None:
        """The message, its deliveries and (unless the caller queues one job for several
        messages, to keep their order) the job that sends it."""
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

    async def current(self, message: str) -> tuple[dict[str, Any], int] | None:
        """The message's content and version."""
        async with self.store.db.execute(
            "SELECT content, version FROM messages WHERE key = ?", (message,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else (json.loads(row[0]), row[1])

    async def behind(self, message: str, version: int) -> list[tuple[str, str | None]]:
        """(room, the event that first carried the message there) of each room that does not
        have ``version`` yet."""
        async with self.store.db.execute(
            "SELECT room_id, event_id FROM deliveries WHERE message = ? AND version < ?",
            (message, version),
        ) as cur:
            return [(r[0], r[1]) for r in await cur.fetchall()]

    async def delivered(self, message: str, room_id: str, version: int, event_id: str) -> None:
        await self.store._write(
            "UPDATE deliveries SET version = ?, event_id = COALESCE(event_id, ?), "
            "error = NULL, at = ? WHERE message = ? AND room_id = ?",
            (version, event_id, time.time(), message, room_id),
        )

    async def undeliverable(self, message: str, room_id: str, version: int, error: str) -> None:
        """The bot is no longer in the room: not tried again."""
        await self.store._write(
            "UPDATE deliveries SET error = ?, version = ?, at = ? "
            "WHERE message = ? AND room_id = ?",
            (error, version, time.time(), message, room_id),
        )

    async def message_of_event(self, event_id: str) -> str | None:
        async with self.store.db.execute(
            "SELECT message FROM deliveries WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None
