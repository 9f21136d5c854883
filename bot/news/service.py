"""News and alerts as the bot runs them: feeds polled and relayed, manual news, alerts and their
acknowledgements, reminders. Everything posted goes through the broadcaster (durable, exactly
once per room). Time comes from ``clock`` so that tests can move it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config import Config, FeedSpec
from bot.errors import BadArgument, NotFound, PermissionDenied
from bot.i18n import t
from bot.matrix.content import notice
from bot.matrix.direct import DirectChats
from bot.matrix.gateway import Gateway
from bot.moderation.control_room import ControlRoom
from bot.moderation.policy import animated_by
from bot.news.broadcast import DELIVER_JOB, Broadcaster
from bot.news.feeds import Entry, newest_first
from bot.news.fetch import FetchError, check_url, fetch
from bot.news.fetch import session as feed_session
from bot.news.isolation import FeedParser
from bot.news.render import item_content, text_content, text_of
from bot.store import Store
from bot.territories.model import Territory

log = logging.getLogger(__name__)

REMIND_JOB = "alerts.remind"
POLL_CONCURRENCY = 4
MIN_EVERY = 60.0
MAX_TEXT = 4000
LEVELS = ("info", "warning", "critical")
ACK_KEYS = frozenset({"✅", "✔", "👍", "☑"})
ALL = "all"


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


_FEED_COLUMNS = (
    "id, url, territory, rooms, every, filter, public, origin, title, etag, last_modified, "
    "last_fetch, last_ok, last_error, errors, next_at, failing, primed"
)


def _feed(row: Any) -> FeedRow:
    values = list(row)
    values[3] = tuple(json.loads(values[3]))
    values[6], values[16], values[17] = bool(values[6]), bool(values[16]), bool(values[17])
    return FeedRow(*values)


class News:
    def __init__(
        self,
        config: Config,
        gateway: Gateway,
        store: Store,
        control: ControlRoom,
        broadcaster: Broadcaster,
        direct: DirectChats,
        wake_jobs: Callable[[], None],
    ):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.control = control
        self.broadcaster = broadcaster
        self.direct = direct
        self.wake_jobs = wake_jobs
        self.clock: Callable[[], float] = time.time
        self._wake = asyncio.Event()
        self.parser = FeedParser(config.news.parse_time_limit)

    # --- who may post where ----------------------------------------------------------------

    def territories_of(self, user: str) -> set[str]:
        """Territories ``user`` may post news and alerts to (and manage feeds of)."""
        mine = {t_.id for t_ in animated_by(user, self.config.network, self.config.admins)}
        return mine | {ALL} if user in self.config.admins else mine

    def _target(self, user: str, target: str, trusted: bool = False) -> list[Territory]:
        target = target.lower()
        if target != ALL and self.config.network.find(target) is None:
            raise NotFound(
                "news.unknown_territory",
                target=target,
                choices=", ".join([ALL, *(t_.id for t_, _ in self.config.network.walk())]),
            )
        if not trusted and target not in self.territories_of(user):
            raise PermissionDenied("news.not_yours", target=target)
        if target == ALL:
            return [t_ for t_, _ in self.config.network.walk()]
        return self.config.network.subtree(target)

    async def _rooms(self, territories: list[Territory], kinds: set[str]) -> list[str]:
        ids = {t_.id for t_ in territories}
        wanted = {f"{t_.id}.{r.id}" for t_ in territories for r in t_.rooms if r.kind in kinds}
        return [
            r.room_id
            for r in await self.store.managed_rooms(include_archived=False)
            if r.key in wanted and r.territory in ids
        ]

    # --- manual news ------------------------------------------------------------------------

    async def post_news(
        self, author: str, target: str, text: str, *, public: bool, origin: str = "command"
    ) -> tuple[int, int]:
        """(news id, rooms) — into the announcement rooms of the territory and those below.
        ``origin`` "hook": a signed webhook, allowed everywhere."""
        done, earlier = await self.store.earlier_outcome("news")
        if done:  # the same command after a crash: posted already, once
            self.wake_jobs()
            return earlier[0], earlier[1]
        text = _checked_text(text)
        territories = self._target(author, target, trusted=origin == "hook")
        rooms = await self._rooms(territories, {"announcements"})
        if not rooms:
            raise NotFound("news.no_rooms", target=target)
        loc = self.config.locale
        async with self.store.transaction() as db:
            cur = await db.execute(
                "INSERT INTO news (territory, text, author, public, origin, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (target.lower(), text, author, int(public), origin, self.clock()),
            )
            news_id = cur.lastrowid
            content = text_content(text, title=t("news.title", loc, id=news_id))
            await Broadcaster.publish(db, f"news:{news_id}", content, rooms)
            if public:
                title, _, rest = text.partition("\n")
                await db.execute(
                    "INSERT INTO public_items (message, territory, subtree, title, summary, "
                    "source, published) VALUES (?, ?, 1, ?, ?, ?, ?)",
                    (f"news:{news_id}", target.lower(), title[:200], rest, "", self.clock()),
                )
            await self.store.keep_outcome(db, "news", [news_id, len(rooms)])
        await self.store.audit(author, "news.post", "ok", detail=f"#{news_id} → {target}")
        self.wake_jobs()
        return news_id, len(rooms)

    # --- alerts -------------------------------------------------------------------------------

    async def post_alert(
        self, author: str, target: str, level: str, text: str, *, origin: str = "command"
    ) -> tuple[int, int]:
        """(alert id, rooms) — into the announcement and community rooms of the subtree."""
        done, earlier = await self.store.earlier_outcome("alert")
        if done:  # the same command after a crash: sent already, once
            self.wake_jobs()
            return earlier[0], earlier[1]
        if level not in LEVELS:
            raise BadArgument("alert.level", level=level, levels=", ".join(LEVELS))
        text = _checked_text(text)
        territories = self._target(author, target, trusted=origin == "hook")
        rooms = await self._rooms(territories, {"announcements", "community"})
        if not rooms:
            raise NotFound("news.no_rooms", target=target)
        loc = self.config.locale
        now = self.clock()
        async with self.store.transaction() as db:
            cur = await db.execute(
                "INSERT INTO alerts (territory, level, text, author, origin, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (target.lower(), level, text, author, origin, now),
            )
            alert_id = cur.lastrowid
            title = t(f"alert.title.{level}", loc, id=alert_id)
            footer = t("alert.footer", loc, id=alert_id, prefix=self.config.commands.prefix)
            content = text_content(
                f"{text}\n\n{footer}", title=title, mention_room=level == "critical"
            )
            await Broadcaster.publish(db, f"alert:{alert_id}", content, rooms)
            await Store.add_job(
                db,
                REMIND_JOB,
                {"alert_id": alert_id},
                at=time.time() + self.config.alerts.remind_after,
            )
            await self.store.keep_outcome(db, "alert", [alert_id, len(rooms)])
        await self.store.audit(author, "alert.post", "ok", detail=f"#{alert_id} {level} → {target}")
        self.wake_jobs()
        return alert_id, len(rooms)

    async def _alert(self, alert_id: int) -> dict[str, Any]:
        async with self.store.db.execute(
            "SELECT id, territory, level, text, author, created, reminded FROM alerts WHERE id = ?",
            (alert_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound("alert.unknown", id=str(alert_id))
        return dict(row)

    async def ack(self, alert_id: int, user: str, via: str) -> bool:
        """Record an acknowledgement; False if it was already recorded."""
        await self._alert(alert_id)
        cur = await self.store._write(
            "INSERT OR IGNORE INTO acks (alert_id, user_id, via, at) VALUES (?, ?, ?, ?)",
            (alert_id, user, via, self.clock()),
        )
        return cur.rowcount == 1

    async def on_reaction(self, sender: str, relates_to: str, key: str) -> None:
        """A ✅ on an alert acknowledges it."""
        if key.replace("\ufe0f", "") not in ACK_KEYS or sender == self.gateway.user_id:
            return
        message = await self.broadcaster.message_of_event(relates_to)
        if message and message.startswith("alert:"):
            await self.ack(int(message.split(":", 1)[1]), sender, "reaction")

    async def recipients(self, alert: dict[str, Any]) -> dict[str, list[str]]:
        """territory → the vetted members whose territory it is, within the alert's subtree."""
        scope = (
            [t_.id for t_, _ in self.config.network.walk()]
            if alert["territory"] == ALL
            else [t_.id for t_ in self.config.network.subtree(alert["territory"])]
        )
        out: dict[str, list[str]] = {tid: [] for tid in scope}
        async with self.store.db.execute(
            "SELECT user_id, territory FROM members WHERE status = 'active' ORDER BY user_id"
        ) as cur:
            for user, territory in await cur.fetchall():
                if territory in out:
                    out[territory].append(user)
        return out

    async def acked(self, alert_id: int) -> set[str]:
        async with self.store.db.execute(
            "SELECT user_id FROM acks WHERE alert_id = ?", (alert_id,)
        ) as cur:
            return {r[0] for r in await cur.fetchall()}

    async def alert_status(self, user: str, alert_id: int) -> str:
        alert = await self._alert(alert_id)
        if alert["territory"] not in self.territories_of(user):
            raise PermissionDenied("news.not_yours", target=alert["territory"])
        loc = self.config.locale
        done = await self.acked(alert_id)
        lines = [t("alert.status.title", loc, id=alert_id, level=alert["level"])]
        total = seen = 0
        for territory, members in (await self.recipients(alert)).items():
            if not members:
                continue
            acks = [m for m in members if m in done]
            missing = [m for m in members if m not in done]
            total, seen = total + len(members), seen + len(acks)
            line = t("alert.status.line", loc, territory=territory, n=len(acks), of=len(members))
            if missing:
                shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
                line += " — " + t("alert.status.missing", loc, who=shown)
            lines.append(line)
        lines.append(t("alert.status.total", loc, n=seen, of=total))
        return "\n".join(lines)

    async def remind(self, payload: dict[str, Any]) -> None:
        """The job due ``remind_after`` an alert: one direct message to each member who has not
        acknowledged it, once (a repeated send is answered with the first one)."""
        alert = await self._alert(int(payload["alert_id"]))
        if alert["reminded"]:
            return
        loc = self.config.locale
        done = await self.acked(alert["id"])
        text = t(
            "alert.reminder",
            loc,
            id=alert["id"],
            text=alert["text"],
            prefix=self.config.commands.prefix,
        )
        for members in (await self.recipients(alert)).values():
            for user in members:
                if user not in done:
                    room = await self.direct.room_for(user)
                    txn = "agora.remind." + _short(f"{alert['id']}:{user}")
                    await self.gateway.send(room, notice(text), txn=txn)
        await self.store._write("UPDATE alerts SET reminded = 1 WHERE id = ?", (alert["id"],))
        await self.store.audit(self.gateway.user_id, "alert.remind", "ok", detail=f"#{alert['id']}")

    # --- feeds --------------------------------------------------------------------------------

    async def sync_config_feeds(self) -> None:
        """The feeds the config declares, as rows (added, kept, or marked removed)."""
        wanted = {_spec_key(f): f for f in self.config.feeds}
        async with self.store.db.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE origin = 'config' AND removed = 0"
        ) as cur:
            have = {_row_key(f): f for f in map(_feed, await cur.fetchall())}
        async with self.store.transaction() as db:
            for key, spec in wanted.items():
                if key in have:
                    await db.execute(
                        "UPDATE feeds SET every = ?, filter = ?, public = ? WHERE id = ?",
                        (spec.every, spec.filter, int(spec.public), have[key].id),
                    )
                else:
                    await db.execute(
                        "INSERT INTO feeds (url, territory, rooms, every, filter, public, origin, "
                        "added_by, created, next_at) VALUES (?, ?, ?, ?, ?, ?, 'config', "
                        "'config', ?, 0)",
                        (
                            spec.url,
                            spec.territory,
                            json.dumps(list(spec.rooms)),
                            spec.every,
                            spec.filter,
                            int(spec.public),
                            self.clock(),
                        ),
                    )
            for key, row in have.items():
                if key not in wanted:
                    await db.execute("UPDATE feeds SET removed = 1 WHERE id = ?", (row.id,))
        self.kick()

    async def add_feed(
        self,
        by: str,
        url: str,
        target: str | None,
        every: float,
        keyword: str | None,
        public: bool = False,
    ) -> FeedRow:
        done, earlier = await self.store.earlier_outcome("feed.add")
        if done:  # the same command after a crash: added already, once
            return await self.feed(int(earlier), removed_too=True)
        if not url.lower().startswith(("http://", "https://")) or len(url) > 2000:
            raise BadArgument("feed.bad_url", url=url[:100])
        try:
            check_url(url, self.config.news.allowed_feed_hosts)
        except FetchError as exc:
            raise BadArgument(
                "feed.refused_url", url=url[:100], why=exc.render(self.config.locale)
            ) from None
        if every < MIN_EVERY:
            raise BadArgument("feed.too_often", seconds=int(MIN_EVERY))
        mine = self.territories_of(by) - {ALL}
        target = (target or "").lower()
        if not target:
            if len(mine) != 1 and by not in self.config.admins:
                tops = sorted(mine)
                raise BadArgument("feed.which_target", choices=", ".join(tops))
            target = next(iter(mine)) if len(mine) == 1 else ""
            if not target:
                raise BadArgument("feed.which_target", choices="…")
        territory, _, room = target.partition(".")
        found = self.config.network.find(territory)
        if found is None or (room and room not in {r.id for r in found.rooms}):
            raise NotFound("feed.unknown_target", target=target)
        if territory not in mine:
            raise PermissionDenied("news.not_yours", target=territory)
        rooms = [target] if room else ["announcements"]
        now = self.clock()
        async with self.store.transaction() as db:
            cur = await db.execute(
                "INSERT INTO feeds (url, territory, rooms, every, filter, public, origin, "
                "added_by, created, next_at) VALUES (?, ?, ?, ?, ?, ?, 'command', ?, ?, 0)",
                (url, territory, json.dumps(rooms), every, keyword, int(public), by, now),
            )
            feed_id = cur.lastrowid
            await self.store.keep_outcome(db, "feed.add", feed_id)
        await self.store.audit(by, "feed.add", "ok", detail=f"#{feed_id} {url} → {target}")
        self.kick()
        return await self.feed(feed_id)

    async def feed(self, feed_id: int, *, removed_too: bool = False) -> FeedRow:
        async with self.store.db.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ?"
            + ("" if removed_too else " AND removed = 0"),
            (feed_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound("feed.unknown", id=str(feed_id))
        return _feed(row)

    async def remove_feed(self, by: str, feed_id: int) -> FeedRow:
        done, _ = await self.store.earlier_outcome("feed.remove")
        if done:  # the same command after a crash: the feed it removed
            return await self.feed(feed_id, removed_too=True)
        feed = await self.feed(feed_id)
        if feed.territory not in self.territories_of(by):
            raise PermissionDenied("news.not_yours", target=feed.territory)
        if feed.origin == "config":
            raise PermissionDenied("feed.from_config", id=str(feed_id))
        async with self.store.transaction() as db:
            await db.execute("UPDATE feeds SET removed = 1 WHERE id = ?", (feed_id,))
            await self.store.keep_outcome(db, "feed.remove", feed_id)
        await self.store.audit(by, "feed.remove", "ok", detail=f"#{feed_id} {feed.url}")
        return feed

    async def feeds(self) -> list[FeedRow]:
        async with self.store.db.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE removed = 0 ORDER BY id"
        ) as cur:
            return [_feed(r) for r in await cur.fetchall()]

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Poll the feeds that are due, a few at a time; a slow or failing feed never holds
        the others back (each poll is its own task)."""
        polling: dict[int, asyncio.Task[None]] = {}
        # The allowed hosts as they are at start (a reload changes what is checked per URL;
        # the resolver's list follows at the next start).
        async with feed_session(self.config.news.allowed_feed_hosts) as session:
            try:
                while True:
                    self._wake.clear()
                    for feed_id in [i for i, task in polling.items() if task.done()]:
                        polling.pop(feed_id)
                    for feed in await self.feeds():
                        if len(polling) >= POLL_CONCURRENCY:
                            break
                        if feed.id not in polling and feed.next_at <= self.clock():
                            polling[feed.id] = asyncio.create_task(self._poll_safely(session, feed))
                    wake = asyncio.ensure_future(self._wake.wait())
                    try:
                        await asyncio.wait(
                            {wake, *polling.values()},
                            timeout=1.0,
                            return_when=asyncio.FIRST_COMPLETED,
                        )
                    finally:
                        wake.cancel()
            finally:
                for task in polling.values():
                    task.cancel()
                await asyncio.gather(*polling.values(), return_exceptions=True)
                self.parser.close()

    async def _poll_safely(self, session: aiohttp.ClientSession, feed: FeedRow) -> None:
        try:
            await self.poll(session, feed)
        except Exception:  # a bug on one feed must not stop the loop
            log.exception("feed %s failed unexpectedly", feed.id)

    async def poll(self, session: aiohttp.ClientSession, feed: FeedRow) -> None:
        news = self.config.news
        now = self.clock()
        try:
            got = await fetch(
                session,
                feed.url,
                etag=feed.etag,
                last_modified=feed.last_modified,
                timeout=news.fetch_timeout,
                max_bytes=news.max_feed_bytes,
                max_redirects=news.max_redirects,
                allowed_hosts=news.allowed_feed_hosts,
            )
            self.parser.time_limit = news.parse_time_limit
            parsed = (
                await self.parser.parse(got.body, got.content_type) if got.status == 200 else None
            )
            if parsed is not None and parsed.problem:
                raise FetchError("not_a_feed")
        except FetchError as exc:
            await self._failed(feed, exc.render(self.config.locale), now)
            return
        if parsed is not None:
            await self._relay(feed, parsed.title, parsed.entries)
        await self.store._write(
            "UPDATE feeds SET last_fetch = ?, last_ok = ?, last_error = NULL, errors = 0, "
            "failing = 0, next_at = ?, etag = ?, last_modified = ?, primed = 1, "
            "title = COALESCE(?, title) WHERE id = ?",
            (
                now,
                now,
                now + feed.every,
                got.etag,
                got.last_modified,
                parsed.title if parsed and parsed.title else None,
                feed.id,
            ),
        )
        if feed.failing:
            await self._note(t("feed.recovered", self.config.locale, id=feed.id, url=feed.url))

    async def _failed(self, feed: FeedRow, error: str, now: float) -> None:
        errors = feed.errors + 1
        delay = min(feed.every * 2 ** min(errors, 20), self.config.news.max_backoff)
        await self.store._write(
            "UPDATE feeds SET last_fetch = ?, last_error = ?, errors = ?, next_at = ?, "
            "failing = 1 WHERE id = ?",
            (now, error, errors, now + delay, feed.id),
        )
        log.warning("feed %s (%s) failed: %s; next try in %.0f s", feed.id, feed.url, error, delay)
        if not feed.failing:
            await self._note(
                t(
                    "feed.failing",
                    self.config.locale,
                    id=feed.id,
                    url=feed.url,
                    error=error,
                    minutes=round(delay / 60),
                )
            )

    async def _note(self, text: str) -> None:
        if self.control.room_id:
            await self.gateway.send(self.control.room_id, notice(text))

    async def _relay(self, feed: FeedRow, title: str | None, entries: list[Entry]) -> None:
        entries = [e for e in entries if e.matches(feed.filter)]
        async with self.store.db.execute(
            "SELECT key, digest, message FROM feed_entries WHERE feed_id = ?", (feed.id,)
        ) as cur:
            known = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
        new = [e for e in newest_first(entries) if e.key not in known]
        changed = [
            e for e in entries if e.key in known and known[e.key][0] != e.digest and known[e.key][1]
        ]
        if not new and not changed:
            return
        if feed.primed:
            post, skip = new, []
        else:  # a new subscription: the newest few, never the whole backlog
            limit = self.config.news.first_posts
            post, skip = new[:limit], new[limit:]
        rooms = await self._feed_rooms(feed)
        source = feed.title or title or feed.url
        loc = self.config.locale
        now = self.clock()
        ordered: list[str] = []
        async with self.store.transaction() as db:
            for entry in reversed(post):  # oldest first, so rooms read in order
                message = f"feed:{feed.id}:{_short(entry.key)}"
                ordered.append(message)
                await Broadcaster.publish(
                    db, message, item_content(entry.item(source, loc)), rooms, job=False
                )
                await db.execute(
                    "INSERT INTO feed_entries (feed_id, key, digest, message, seen) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (feed.id, entry.key, entry.digest, message, now),
                )
                if feed.public:
                    await _public(db, message, feed.territory, entry, source)
            for entry in skip:
                await db.execute(
                    "INSERT INTO feed_entries (feed_id, key, digest, message, seen) "
                    "VALUES (?, ?, ?, NULL, ?)",
                    (feed.id, entry.key, entry.digest, now),
                )
            for entry in changed:
                message = known[entry.key][1]
                await Broadcaster.revise(db, message, item_content(entry.item(source, loc)))
                await db.execute(
                    "UPDATE feed_entries SET digest = ? WHERE feed_id = ? AND key = ?",
                    (entry.digest, feed.id, entry.key),
                )
                if feed.public:
                    await _public(db, message, feed.territory, entry, source)
            if ordered:  # one job for the new entries, so that they arrive in order
                await Store.add_job(db, DELIVER_JOB, {"messages": ordered})
        self.wake_jobs()

    async def _feed_rooms(self, feed: FeedRow) -> list[str]:
        territory = self.config.network.find(feed.territory)
        if territory is None:
            return []
        kinds = {r for r in feed.rooms if "." not in r}
        keys = {r for r in feed.rooms if "." in r}
        keys |= {f"{territory.id}.{r.id}" for r in territory.rooms if r.kind in kinds}
        return [
            r.room_id
            for r in await self.store.managed_rooms(include_archived=False)
            if r.key in keys
        ]

    # --- the public page ------------------------------------------------------------------------

    async def public_items(self, territory: str, limit: int = 30) -> list[dict[str, Any]]:
        """Items for a territory's public page: its own, and those posted for a territory above
        it to everything below."""
        lineage = next(
            (
                [*(a.id for a in ancestors), t_.id]
                for t_, ancestors in self.config.network.walk()
                if t_.id == territory
            ),
            None,
        )
        if lineage is None:
            raise NotFound("news.unknown_territory", target=territory, choices="")
        marks = ", ".join("?" for _ in lineage)
        async with self.store.db.execute(
            "SELECT message, territory, title, link, summary, source, published FROM public_items "
            f"WHERE territory = ? OR (subtree = 1 AND (territory IN ({marks}) OR territory = ?)) "
            "ORDER BY published DESC LIMIT ?",
            (territory, *lineage, ALL, limit),
        ) as cur:
            return [dict(r) for r in await cur.fetchall()]


async def _public(db: Any, message: str, territory: str, entry: Entry, source: str) -> None:
    await db.execute(
        "INSERT INTO public_items (message, territory, subtree, title, link, summary, source, "
        "published) VALUES (?, ?, 0, ?, ?, ?, ?, ?) ON CONFLICT(message) DO UPDATE SET "
        "title = excluded.title, link = excluded.link, summary = excluded.summary",
        (
            message,
            territory,
            text_of(entry.title)[:200] or "—",
            entry.link if entry.link.lower().startswith(("https://", "http://")) else "",
            text_of(entry.summary_html)[:600],
            source,
            entry.published or time.time(),
        ),
    )


def _short(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _spec_key(spec: FeedSpec) -> tuple[str, str, str]:
    return spec.url, spec.territory, json.dumps(list(spec.rooms))


def _row_key(row: FeedRow) -> tuple[str, str, str]:
    return row.url, row.territory, json.dumps(list(row.rooms))


def _checked_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise BadArgument("news.empty")
    if len(text) > MAX_TEXT:  # and Matrix events stay well under their 64 KiB
        raise BadArgument("news.too_long", limit=MAX_TEXT)
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise BadArgument("news.control_chars")
    return text
