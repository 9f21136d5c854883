"""A local feed server for the tests (aiohttp): RSS and Atom that change between fetches,
304 answers to conditional requests, malformed XML, a slow answer, an oversize body, a 500."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from aiohttp import web


def rss(items: list[tuple[str, str, str, int]], title: str = "ARS Sud") -> bytes:
    """items: (guid, title, html description, day of November 2026)."""
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
    ]
    for guid, headline, description, day in items:
        escaped = description.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts.append(
            f"<item><guid>{guid}</guid><title>{headline}</title>"
            f"<link>https://ars.example/{guid}</link><description>{escaped}</description>"
            f"<pubDate>{['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][(day + 6) % 7]}, "
            f"{day:02d} Nov 2026 08:00:00 GMT</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def atom(entries: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<entry><id>urn:dgs:{eid}</id><title>{title}</title>"
        f"<updated>2026-11-2{i}T08:00:00Z</updated><content type='html'>&lt;p&gt;{title}&lt;/p&gt;"
        f"</content></entry>"
        for i, (eid, title) in enumerate(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>DGS</title><id>urn:dgs</id><updated>2026-11-22T08:00:00Z</updated>{body}</feed>"
    ).encode()


@dataclass
class FeedServer:
    documents: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path → (body, type)
    failing: dict[str, int] = field(default_factory=dict)  # path → HTTP status to answer
    slow: set[str] = field(default_factory=set)
    hits: dict[str, int] = field(default_factory=dict)
    not_modified: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  # path → Location
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if path in self.slow:
            await asyncio.sleep(30)
        if path in self.failing:
            return web.Response(status=self.failing[path], text="boom")
        if path in self.redirects:
            return web.Response(status=302, headers={"Location": self.redirects[path]})
        if path not in self.documents:
            return web.Response(status=404)
        body, content_type = self.documents[path]
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            self.not_modified[path] = self.not_modified.get(path, 0) + 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type=content_type, headers={"ETag": etag})

    async def start(self, port: int) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return runner
