"""The bot's HTTP side (aiohttp): health, metrics and the web join form (news and hooks later)."""

from __future__ import annotations

import dataclasses
import math
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.config import Config, WebConfig
from bot.metrics import Metrics
from bot.web.calendars import CalendarPages, CalendarServices
from bot.web.join import JoinPages, JoinServices
from bot.web.news import NewsPages, NewsServices


class Health(Protocol):
    metrics: Metrics

    def health(self) -> dict: ...


def make_app(
    bot: Health,
    web_config: WebConfig,
    join: JoinServices | None = None,
    news: NewsServices | None = None,
    calendars: CalendarServices | None = None,
) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/healthz")
    async def healthz(request: web.Request) -> web.Response:
        age = bot.metrics.seconds_since_sync()
        healthy = age <= web_config.healthy_sync_age
        body = {
            "status": "ok" if healthy else "unhealthy",
            "last_sync_seconds_ago": None if math.isinf(age) else round(age, 3),
            "max_sync_age_seconds": web_config.healthy_sync_age,
        } | bot.health()
        return web.json_response(body, status=200 if healthy else 503)

    @routes.get("/metrics")
    async def metrics(request: web.Request) -> web.Response:
        resp = web.Response(body=bot.metrics.render())
        resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return resp

    app = web.Application(client_max_size=64 * 1024)
    app.add_routes(routes)
    if join is not None:
        JoinPages(join).add_routes(app)
    if news is not None:
        NewsPages(news).add_routes(app)
    if calendars is not None:
        CalendarPages(calendars).add_routes(app)
    return app


def with_real_port(config: Config, port: int) -> Config:
    """``web.port: 0`` picks a free port: links (status pages, email confirmations) then carry
    the real one, unless ``web.public_url`` names the address people use."""
    web = config.web
    if web.port != 0 or web.public_url != f"http://{web.host}:0":
        return config
    real = dataclasses.replace(web, public_url=f"http://{web.host}:{port}")
    return dataclasses.replace(config, web=real)


class WebServer:
    def __init__(
        self,
        bot: Health,
        web_config: WebConfig,
        join: JoinServices | None = None,
        news: NewsServices | None = None,
        calendars: CalendarServices | None = None,
    ):
        self.config = web_config
        app = make_app(bot, web_config, join, news, calendars)
        self.runner = web.AppRunner(app, access_log=None)
        self.port: int | None = None

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port)
        await site.start()
        addresses = self.runner.addresses  # the real port when 0 was asked
        self.port = addresses[0][1] if addresses else self.config.port

    async def stop(self) -> None:
        await self.runner.cleanup()
