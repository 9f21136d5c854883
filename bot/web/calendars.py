"""Calendar feeds on the web (`GET /calendrier/<secret>.ics`, `/calendrier/<secret>/<territory>.ics`):
what a calendar application subscribes to. The secret is the only key: an unknown, revoked or
foreign link answers 404 like a page that does not exist."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

FEED_HEADERS = {
    "Cache-Control": "private, max-age=300",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class CalendarServices(Protocol):
    async def calendar(self, token: str, territory: str | None) -> bytes | None: ...


class CalendarPages:
    def __init__(self, services: CalendarServices):
        self.services = services

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/calendrier/{file}", self.mine)
        app.router.add_get("/calendrier/{token}/{file}", self.territory)

    async def mine(self, request: web.Request) -> web.Response:
        return await self._feed(request.match_info["file"], None)

    async def territory(self, request: web.Request) -> web.Response:
        return await self._feed(request.match_info["file"], request.match_info["token"])

    async def _feed(self, file: str, token: str | None) -> web.Response:
        name, dot, ext = file.rpartition(".")
        if dot != "." or ext != "ics" or not name or len(file) > 200:
            raise web.HTTPNotFound()
        body = await (
            self.services.calendar(name, None)
            if token is None
            else self.services.calendar(token, name)
        )
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers=FEED_HEADERS,
        )
