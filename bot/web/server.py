"""The bot's HTTP side (aiohttp): health, metrics, the web join form, webhooks, the public news
and the on-call calendars; ``/metrics`` on a listener of its own when ``web.metrics_port`` is
set. The outcomes of the form's and the hooks' posts are counted here, by what was answered."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.config import Config, WebConfig
from bot.metrics import Metrics
from bot.web.calendars import CalendarPages, CalendarServices
from bot.web.join import JoinPages, JoinServices
from bot.web.news import NewsPages, NewsServices

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Health(Protocol):
    metrics: Metrics

    def health(self) -> dict: ...


# What a post's answer says, by its status: results for the metrics.
FORM_RESULTS = {
    "/join": {303: "accepted", 400: "invalid", 409: "conflict"},
    "/join/confirm/{token}": {200: "confirmed", 404: "unknown"},
}
HOOK_RESULTS = {202: "accepted", 400: "invalid", 401: "refused", 404: "unknown_hook"}
COMMON_RESULTS = {403: "refused_csrf", 413: "too_big", 429: "rate_limited", 500: "error"}
HOOKS = ("news", "alert")


def count_outcome(metrics: Metrics, request: web.Request, status: int) -> None:
    """One post of the join form, its confirmation or a webhook, counted by its result."""
    if request.method != "POST":
        return
    route = request.match_info.route.resource
    path = route.canonical if route is not None else ""
    if path == "/hooks/{hook}":
        hook = request.match_info.get("hook", "")
        result = HOOK_RESULTS.get(status) or COMMON_RESULTS.get(status) or str(status)
        metrics.webhooks.labels(hook=hook if hook in HOOKS else "other", result=result).inc()
    elif path in FORM_RESULTS:
        result = FORM_RESULTS[path].get(status) or COMMON_RESULTS.get(status) or str(status)
        form = "join" if path == "/join" else "confirm"
        metrics.web_forms.labels(form=form, result=result).inc()


def metrics_routes(metrics: Metrics) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/metrics")
    async def scrape(request: web.Request) -> web.Response:
        await metrics.refresh()  # what the store holds, as it is now
        resp = web.Response(body=metrics.render())
        resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return resp

    return routes


def make_app(
    bot: Health,
    web_config: WebConfig,
    join: JoinServices | None = None,
    news: NewsServices | None = None,
    calendars: CalendarServices | None = None,
) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def outcomes(request: web.Request, handler: Handler) -> web.StreamResponse:
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:  # a redirect, or an error aiohttp answers
            status = exc.status
            raise
        finally:
            count_outcome(bot.metrics, request, status)

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

    app = web.Application(client_max_size=64 * 1024, middlewares=[outcomes])
    app.add_routes(routes)
    if web_config.metrics_port is None:  # else on a listener of its own
        app.add_routes(metrics_routes(bot.metrics))
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
        self.metrics_runner: web.AppRunner | None = None
        self.metrics_port: int | None = None
        if web_config.metrics_port is not None:
            scrape = web.Application()
            scrape.add_routes(metrics_routes(bot.metrics))
            self.metrics_runner = web.AppRunner(scrape, access_log=None)

    async def start(self) -> None:
        self.port = await _serve(self.runner, self.config.host, self.config.port)
        if self.metrics_runner is not None:
            assert self.config.metrics_port is not None
            self.metrics_port = await _serve(
                self.metrics_runner, self.config.metrics_host, self.config.metrics_port
            )

    async def stop(self) -> None:
        if self.metrics_runner is not None:
            await self.metrics_runner.cleanup()
        await self.runner.cleanup()


async def _serve(runner: web.AppRunner, host: str, port: int) -> int:
    """Listen; the real port (when 0 asked for a free one)."""
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    addresses = runner.addresses
    return addresses[0][1] if addresses else port
