"""Fetching a feed over HTTP (aiohttp): conditional GET (ETag, Last-Modified), a total timeout,
a maximum body size read as it streams (never the whole of an oversize body), and a limited
number of redirects."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

USER_AGENT = "Agora/1 (+https://github.com/agora-sante; feed relay)"


@dataclass(frozen=True)
class Fetched:
    status: int  # 200 or 304
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None


class FetchError(Exception):
    """Why a fetch failed, in a few words for the control room and `!feeds`."""


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    timeout: float,
    max_bytes: int,
    max_redirects: int,
) -> Fetched:
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, "
        "application/feed+json, application/json, application/xml, text/xml, */*;q=0.5",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with session.get(
            url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            max_redirects=max_redirects,
            allow_redirects=max_redirects > 0,
        ) as resp:
            if resp.status == 304:
                return Fetched(304, etag=etag, last_modified=last_modified)
            if resp.status != 200:
                raise FetchError(f"HTTP {resp.status}")
            declared = resp.content_length
            if declared is not None and declared > max_bytes:
                raise FetchError(f"too large ({declared} bytes > {max_bytes})")
            chunks, size = [], 0
            async for chunk in resp.content.iter_chunked(65536):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"too large (over {max_bytes} bytes)")
                chunks.append(chunk)
            return Fetched(
                200,
                b"".join(chunks),
                resp.headers.get("Content-Type", ""),
                resp.headers.get("ETag"),
                resp.headers.get("Last-Modified"),
            )
    except TimeoutError:
        raise FetchError(f"no answer within {timeout:.0f} s") from None
    except aiohttp.TooManyRedirects:
        raise FetchError(f"more than {max_redirects} redirects") from None
    except aiohttp.ClientError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}"[:200]) from None
