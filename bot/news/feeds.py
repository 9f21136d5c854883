"""Feeds (`!feed`, `feeds:` in the config): each polled by a recurring durable job (the
scheduler's clock says when), its new entries relayed once to its rooms, an entry changed at
its source edited where it was posted, a failing feed backed off and reported once.

Fetching checks every hop's address (``bot.news.fetch``); parsing and sanitising run in a
worker process with a time limit (``bot.news.isolation``): a hostile feed stalls nothing."""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from bot import effects
from bot.capability import Core
from bot.config import FeedSpec
from bot.errors import BadArgument, NotFound, PermissionDenied
from bot.i18n import t
from bot.news.audience import ALL, territories_of
from bot.news.entries import Entry, plan_relay
from bot.news.fetch import FetchError, check_url, fetch
from bot.news.fetch import session as feed_session
from bot.news.isolation import FeedParser
from bot.news.render import item_content, text_of
from bot.scheduler import Again
from bot.store import Store
from bot.store.news import (
    DELIVER_JOB,
    BroadcastStore,
    FeedRow,
    FeedStore,
    NewFeed,
    NewsStore,
    PublicItem,
)

log = logging.getLogger(__name__)

POLL_JOB = "news.poll"
MIN_EVERY = 60.0


def _short(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class Feeds:
    def __init__(self, core: Core):
        self.core = core
        self.store = FeedStore(core.store)
        self.parser = FeedParser(core.config.news.parse_time_limit)
        self._session: aiohttp.ClientSession | None = None

    # --- the list ---------------------------------------------------------------------------

    async def feeds(self) -> list[FeedRow]:
        return await self.store.feeds()

    async def feed(self, feed_id: int, *, removed_too: bool = False) -> FeedRow:
        found = await self.store.feed(feed_id, removed_too=removed_too)
        if found is None:
            raise NotFound("feed.unknown", id=str(feed_id))
        return found

    async def sync_config(self) -> None:
        """The feeds the config declares, as rows (added, kept, or marked removed), each
        with its poll job; a feed that lost its job (cancelled by hand) gets one again."""
        wanted = {(f.url, f.territory, f.rooms): f for f in self.core.config.feeds}
        have = {f.key: f for f in await self.store.feeds(origin="config")}
        now = self.core.clock()
        async with self.core.store.transaction() as db:
            for key, spec in wanted.items():
                if key in have:
                    await FeedStore.set_schedule(
                        db, have[key].id, spec.every, spec.filter, spec.public
                    )
                else:
                    feed_id = await FeedStore.add_feed(
                        db, _new(spec), origin="config", by="config", now=now
                    )
                    await Store.add_job(db, POLL_JOB, {"feed": feed_id}, at=now)
            for key, row in have.items():
                if key not in wanted:
                    await FeedStore.remove_feed(db, row.id)
        await self.store.ensure_polled(POLL_JOB)
        self.core.wake_jobs()

    async def add(
        self,
        by: str,
        url: str,
        where: str | None,
        every: float,
        keyword: str | None,
        public: bool = False,
    ) -> FeedRow:
        config, store = self.core.config, self.core.store
        done, earlier = await store.earlier_outcome("feed.add")
        if done:  # the same command after a crash: added already, once
            return await self.feed(int(earlier), removed_too=True)
        if not url.lower().startswith(("http://", "https://")) or len(url) > 2000:
            raise BadArgument("feed.bad_url", url=url[:100])
        try:
            check_url(url, config.news.allowed_feed_hosts)
        except FetchError as exc:
            raise BadArgument(
                "feed.refused_url", url=url[:100], why=exc.render(config.locale)
            ) from None
        if every < MIN_EVERY:
            raise BadArgument("feed.too_often", seconds=int(MIN_EVERY))
        mine = territories_of(config, by) - {ALL}
        where = (where or "").lower()
        if not where:
            if len(mine) != 1:
                raise BadArgument("feed.which_target", choices=", ".join(sorted(mine)) or "…")
            where = next(iter(mine))
        territory, _, room = where.partition(".")
        found = config.network.find(territory)
        if found is None or (room and room not in {r.id for r in found.rooms}):
            raise NotFound("feed.unknown_target", target=where)
        if territory not in mine:
            raise PermissionDenied("news.not_yours", target=territory)
        rooms = (where,) if room else ("announcements",)
        now = self.core.clock()
        async with store.transaction() as db:
            feed_id = await FeedStore.add_feed(
                db,
                NewFeed(url, territory, rooms, every, keyword, public),
                origin="command",
                by=by,
                now=now,
            )
            await Store.add_job(db, POLL_JOB, {"feed": feed_id}, at=now)
            await store.keep_outcome(db, "feed.add", feed_id)
        await store.audit(by, "feed.add", "ok", detail=f"#{feed_id} {url} → {where}")
        self.core.wake_jobs()
        return await self.feed(feed_id)

    async def remove(self, by: str, feed_id: int) -> FeedRow:
        store = self.core.store
        done, _ = await store.earlier_outcome("feed.remove")
        if done:  # the same command after a crash: the feed it removed
            return await self.feed(feed_id, removed_too=True)
        feed = await self.feed(feed_id)
        if feed.territory not in territories_of(self.core.config, by):
            raise PermissionDenied("news.not_yours", target=feed.territory)
        if feed.origin == "config":
            raise PermissionDenied("feed.from_config", id=str(feed_id))
        async with store.transaction() as db:
            await FeedStore.remove_feed(db, feed_id)
            await store.keep_outcome(db, "feed.remove", feed_id)
        await store.audit(by, "feed.remove", "ok", detail=f"#{feed_id} {feed.url}")
        return feed

    # --- polling ----------------------------------------------------------------------------

    async def poll_job(self, payload: dict[str, Any]) -> Again | None:
        """The recurring job of one feed: polled now, then again at its next time (a removed
        feed's job ends). A poll never fails the job: a feed's failure is the feed's, backed
        off and reported."""
        feed = await self.store.feed(int(payload["feed"]))
        first = await self.store.first_poll_job(POLL_JOB, int(payload["feed"]))
        if feed is None or first not in (None, effects.current_job()):
            return None  # removed, or another job polls it: this one ends
        try:
            await self.poll(feed)
        except Exception:  # a bug on one feed must not stop its polling
            log.exception("feed %s failed unexpectedly", feed.id)
        polled = await self.store.feed(feed.id)
        return None if polled is None else Again(max(polled.next_at, self.core.clock() + 1))

    async def poll(self, feed: FeedRow) -> None:
        news = self.core.config.news
        now = self.core.clock()
        if self._session is None:
            # The allowed hosts as they are at the first poll (a reload changes what is
            # checked per URL; the resolver's list follows at the next start).
            self._session = feed_session(news.allowed_feed_hosts)
        try:
            got = await fetch(
                self._session,
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
            self.core.metrics.feed_failures.labels(reason=exc.key).inc()
            await self._failed(feed, exc.render(self.core.config.locale), now)
            return
        async with self.core.store.transaction() as db:
            if parsed is not None:
                await self._relay(db, feed, parsed.title, parsed.entries, now)
            await FeedStore.fetched(
                db,
                feed.id,
                now=now,
                next_at=now + feed.every,
                etag=got.etag,
                last_modified=got.last_modified,
                title=parsed.title if parsed and parsed.title else None,
            )
        self.core.wake_jobs()
        if feed.failing:
            await self.core.control.note(
                t("feed.recovered", self.core.config.locale, id=feed.id, url=feed.url)
            )

    async def _failed(self, feed: FeedRow, error: str, now: float) -> None:
        errors = feed.errors + 1
        delay = min(feed.every * 2 ** min(errors, 20), self.core.config.news.max_backoff)
        async with self.core.store.transaction() as db:
            await FeedStore.failed(
                db, feed.id, now=now, error=error, errors=errors, next_at=now + delay
            )
        log.warning("feed %s (%s) failed: %s; next try in %.0f s", feed.id, feed.url, error, delay)
        if not feed.failing:
            await self.core.control.note(
                t(
                    "feed.failing",
                    self.core.config.locale,
                    id=feed.id,
                    url=feed.url,
                    error=error,
                    minutes=round(delay / 60),
                )
            )

    async def _relay(
        self, db: Any, feed: FeedRow, title: str | None, entries: list[Entry], now: float
    ) -> None:
        """What the poll found, inside its transaction: new entries posted (one job, so that
        they arrive in order), changed ones edited, all recorded."""
        plan = plan_relay(
            entries,
            await self.store.known_entries(feed.id),
            keyword=feed.filter,
            primed=feed.primed,
            first_posts=self.core.config.news.first_posts,
        )
        if plan.empty:
            return
        rooms = await self._rooms(feed)
        source = feed.title or title or feed.url
        loc = self.core.config.locale
        ordered: list[str] = []
        for entry in reversed(plan.post):  # oldest first, so rooms read in order
            message = f"feed:{feed.id}:{_short(entry.key)}"
            ordered.append(message)
            content = item_content(
                entry.item(source, loc, ZoneInfo(self.core.config.rosters.timezone))
            )
            await BroadcastStore.publish(db, message, content, rooms, job=False)
            await FeedStore.add_entry(db, feed.id, entry.key, entry.digest, message, now)
            if feed.public:
                item = _public(message, feed, entry, source, now)
                await NewsStore.put_public(db, item, subtree=False)
        for entry in plan.skip:
            await FeedStore.add_entry(db, feed.id, entry.key, entry.digest, None, now)
        for entry, message in plan.changed:
            await BroadcastStore.revise(
                db,
                message,
                item_content(entry.item(source, loc, ZoneInfo(self.core.config.rosters.timezone))),
            )
            await FeedStore.set_digest(db, feed.id, entry.key, entry.digest)
            if feed.public:
                item = _public(message, feed, entry, source, now)
                await NewsStore.put_public(db, item, subtree=False)
        if ordered:
            await Store.add_job(db, DELIVER_JOB, {"messages": ordered})

    async def _rooms(self, feed: FeedRow) -> list[str]:
        territory = self.core.config.network.find(feed.territory)
        if territory is None:
            return []
        kinds = {r for r in feed.rooms if "." not in r}
        keys = {r for r in feed.rooms if "." in r}
        keys |= {f"{territory.id}.{r.id}" for r in territory.rooms if r.kind in kinds}
        managed = await self.core.store.managed_rooms(include_archived=False)
        return [r.room_id for r in managed if r.key in keys]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self.parser.close()


def _new(spec: FeedSpec) -> NewFeed:
    return NewFeed(spec.url, spec.territory, spec.rooms, spec.every, spec.filter, spec.public)


def _public(message: str, feed: FeedRow, entry: Entry, source: str, now: float) -> PublicItem:
    """An entry's line on the public page (an undated one dated when it was seen)."""
    return PublicItem(
        message,
        feed.territory,
        text_of(entry.title)[:200] or "—",
        entry.link if entry.link.lower().startswith(("https://", "http://")) else "",
        text_of(entry.summary_html)[:600],
        source,
        entry.published or now,
    )
