"""Manual news (`!news`, the `news` webhook): into the announcement rooms of a territory and
those below, once; public ones on the territory's public page too."""

from __future__ import annotations

from bot.capability import Core
from bot.errors import NotFound
from bot.i18n import t
from bot.news.audience import checked_text, rooms_of, target
from bot.news.render import text_content
from bot.store.news import BroadcastStore, NewsStore, PublicItem


class Posts:
    def __init__(self, core: Core):
        self.core = core
        self.news = NewsStore(core.store)

    async def post(
        self, author: str, where: str, text: str, *, public: bool, origin: str = "command"
    ) -> tuple[int, int]:
        """(news id, rooms). ``origin`` "hook": a signed webhook, allowed everywhere."""
        store, config = self.core.store, self.core.config
        done, earlier = await store.earlier_outcome("news")
        if done:  # the same command after a crash: posted already, once
            self.core.wake_jobs()
            return earlier[0], earlier[1]
        text = checked_text(text)
        territories = target(config, author, where, trusted=origin == "hook")
        rooms = rooms_of(
            territories, {"announcements"}, await store.managed_rooms(include_archived=False)
        )
        if not rooms:
            raise NotFound("news.no_rooms", target=where)
        now = self.core.clock()
        async with store.transaction() as db:
            news_id = await NewsStore.add_news(db, where.lower(), text, author, public, origin, now)
            content = text_content(text, title=t("news.title", config.locale, id=news_id))
            await BroadcastStore.publish(db, f"news:{news_id}", content, rooms)
            if public:
                title, _, rest = text.partition("\n")
                item = PublicItem(f"news:{news_id}", where.lower(), title[:200], "", rest, "", now)
                await NewsStore.put_public(db, item, subtree=True)
            await store.keep_outcome(db, "news", [news_id, len(rooms)])
        await store.audit(author, "news.post", "ok", detail=f"#{news_id} → {where}")
        self.core.wake_jobs()
        return news_id, len(rooms)
