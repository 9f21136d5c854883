"""News and alerts as a capability: posts, alerts and their acknowledgements, feeds, the
broadcasts that carry them, the webhooks and the public page."""

from __future__ import annotations

import time
from typing import Any

from bot.capability import Capability, Core
from bot.errors import BadArgument, PermissionDenied
from bot.matrix.sync import Reaction
from bot.news.alerts import REMIND_JOB, Alerts
from bot.news.broadcast import DELIVER_JOB, Broadcaster
from bot.news.feeds import POLL_JOB, Feeds
from bot.news.posts import Posts
from bot.news.public import public_items
from bot.store.news import NewsStore


class News(Capability):
    name = "news"
    commands = ("bot.commands.news",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.posts = Posts(core)
        self.alerts = Alerts(core)
        self.feeds = Feeds(core)
        self.broadcaster = Broadcaster(core.gateway, core.store, core.config.news.pace_per_second)
        self.jobs = {
            DELIVER_JOB: self.broadcaster.deliver,
            REMIND_JOB: self.alerts.remind,
            POLL_JOB: self.feeds.poll_job,
        }
        # Polls run four at most, in slots of their own (a slow feed never delays an invite).
        self.job_pools = {POLL_JOB: 4}
        self.events = {Reaction: self.alerts.on_reaction}

    def configure(self, config: Any) -> None:
        super().configure(config)
        self.broadcaster.set_pace(config.news.pace_per_second)

    async def start(self) -> None:
        await self.feeds.sync_config()

    async def reloaded(self) -> None:
        await self.feeds.sync_config()

    async def stop(self) -> None:
        await self.feeds.close()

    # --- the web's side: webhooks and the public page ---------------------------------------

    async def hook_post(self, hook: str, data: dict[str, Any], signature: str) -> dict[str, Any]:
        """A signed request from the agency's systems: posted once (a replay is refused)."""
        territory, text = data.get("territory"), data.get("text")
        if not isinstance(territory, str) or not isinstance(text, str):
            raise BadArgument("hook.fields")
        if not await NewsStore(self.core.store).first_hook(signature, time.time()):
            raise PermissionDenied("hook.replayed")
        author = f"hook:{hook}"
        if hook == "news":
            public = data.get("public", False)
            if not isinstance(public, bool):
                raise BadArgument("hook.fields")
            news_id, rooms = await self.posts.post(
                author, territory, text, public=public, origin="hook"
            )
            return {"news": news_id, "rooms": rooms}
        level = data.get("level", "info")
        if not isinstance(level, str):
            raise BadArgument("hook.fields")
        alert_id, rooms = await self.alerts.post(author, territory, level, text, origin="hook")
        return {"alert": alert_id, "rooms": rooms}

    async def hook_refused(self, hook: str, why: str, remote: str) -> None:
        await self.core.store.audit(
            f"hook:{hook}", "hook.refused", "refused", detail=f"{why} from {remote}"
        )

    async def public_items(self, territory: str) -> list[dict[str, Any]]:
        return await public_items(NewsStore(self.core.store), self.config.network, territory)
