"""Webhooks (`POST /hooks/news`, `POST /hooks/alert`) and the public news page
(`GET /news/<territory>`, `.rss`, `.json`).

The public page shows only what was relayed from feeds marked public and `!news --public`
items: never alerts, never anything said in a room. It is plain HTML, readable without
JavaScript, and may be framed by an intranet page.
"""

from __future__ import annotations

import email.utils
import json
import time
import xml.etree.ElementTree as ET
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import Config
from bot.errors import UserError
from bot.i18n import day_text
from bot.news.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, problem
from bot.web.join import _locale, _render

PAGE_HEADERS = {
    "Cache-Control": "public, max-age=60",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *",
}


class NewsServices(Protocol):
    @property
    def config(self) -> Config: ...

    async def hook_post(
        self, hook: str, data: dict[str, Any], signature: str
    ) -> dict[str, Any]: ...

    async def hook_refused(self, hook: str, why: str, remote: str) -> None: ...

    async def public_items(self, territory: str) -> list[dict[str, Any]]: ...


class NewsPages:
    def __init__(self, services: NewsServices):
        self.services = services

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/hooks/{hook}", self.hook)
        app.router.add_get("/news/{name}", self.page)

    async def hook(self, request: web.Request) -> web.Response:
        hook = request.match_info["hook"]
        secret = self.services.config.hooks.secret(hook)
        if hook not in ("news", "alert") or secret is None:
            return web.json_response({"error": "no such hook"}, status=404)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:  # over the app's client_max_size
            return web.json_response({"error": f"body too large: {exc.text}"}, status=413)
        why = problem(
            secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
            time.time(),
            self.services.config.hooks.max_age,
        )
        if why:
            await self.services.hook_refused(hook, why, request.remote or "?")
            return web.json_response({"error": why}, status=401)
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return web.json_response({"error": f"malformed JSON: {exc}"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        try:
            done = await self.services.hook_post(hook, data, request.headers[SIGNATURE_HEADER])
        except UserError as exc:
            status = 401 if exc.key == "hook.replayed" else 400
            if status == 401:
                await self.services.hook_refused(hook, "replayed signature", request.remote or "?")
            return web.json_response({"error": exc.render("en")}, status=status)
        return web.json_response(done, status=202)

    async def page(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        territory, _, fmt = name.partition(".")
        locale = _locale(request, self.services.config.locale)
        tz = ZoneInfo(self.services.config.rosters.timezone)
        found = self.services.config.network.find(territory)
        if found is None or fmt not in ("", "rss", "json"):
            raise web.HTTPNotFound(text="no such territory")
        items = await self.services.public_items(territory)
        base = self.services.config.web.public_url
        if fmt == "json":
            return web.json_response(
                {
                    "version": "https://jsonfeed.org/version/1.1",
                    "title": found.name,
                    "home_page_url": f"{base}/news/{territory}",
                    "feed_url": f"{base}/news/{territory}.json",
                    "language": locale,
                    "items": [
                        {
                            "id": i["message"],
                            "title": i["title"],
                            "content_text": i["summary"] or i["title"],
                            **({"url": i["link"]} if i["link"] else {}),
                            "date_published": _iso(i["published"]),
                        }
                        for i in items
                    ],
                },
                content_type="application/feed+json",
                headers=PAGE_HEADERS,
            )
        if fmt == "rss":
            return web.Response(
                body=_rss(found.name, f"{base}/news/{territory}", locale, items),
                content_type="application/rss+xml",
                charset="utf-8",
                headers=PAGE_HEADERS,
            )
        resp = _render(
            "news.html",
            locale,
            title=found.name,
            territory=territory,
            items=[
                {**i, "when": _human(i["published"], locale, tz), "link": _safe(i["link"])}
                for i in items
            ],
        )
        resp.headers.update(PAGE_HEADERS)
        del resp.headers["X-Frame-Options"]
        return resp


def _safe(url: str) -> str:
    return url if url.lower().startswith(("https://", "http://")) else ""


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _human(ts: float, locale: str, tz: ZoneInfo) -> str:
    return day_text(ts, locale, tz)


def _rss(title: str, link: str, locale: str, items: list[dict[str, Any]]) -> bytes:
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = title
    ET.SubElement(channel, "language").text = locale
    for i in items:
        entry = ET.SubElement(channel, "item")
        ET.SubElement(entry, "title").text = i["title"]
        if i["link"]:
            ET.SubElement(entry, "link").text = i["link"]
        ET.SubElement(entry, "description").text = i["summary"]
        ET.SubElement(entry, "guid", isPermaLink="false").text = i["message"]
        ET.SubElement(entry, "pubDate").text = email.utils.formatdate(i["published"], usegmt=True)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(rss, encoding="utf-8")
