"""Fetching a feed over HTTP (aiohttp): conditional GET (ETag, Last-Modified), a total timeout,
a maximum body size read as it streams (never the whole of an oversize body), and a limited
number of redirects, each followed here.

Every hop, redirects included, must reach a public address: loopback, private, link-local
(the cloud metadata service among them), multicast, reserved and unspecified addresses are
refused, whether the URL names them or a name resolves to them, unless the host is one the
operator listed (``news.allowed_feed_hosts``, for an intranet feed). The check is made on the
addresses the connection uses (a resolver of our own), so a name that resolves differently
the second time cannot slip through. What goes wrong is said in a few plain words: the
animator who added the feed never reads the bot's internal errors.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.i18n import t

USER_AGENT = "Agora/1 (+https://github.com/agora-sante; feed relay)"
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Fetched:
    status: int  # 200 or 304
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None


class FetchError(Exception):
    """Why a fetch failed: a message id (``feed.error.*``) and its values, shown in the control
    room and by `!feeds` in the reader's language."""

    def __init__(self, key: str, **params: Any):
        self.key, self.params = key, params
        super().__init__(key)

    def render(self, locale: str) -> str:
        return t(f"feed.error.{self.key}", locale, **self.params)


# IPv6 prefixes that carry an IPv4 address a gateway or the stack may reach: NAT64 (well-known
# and local-use), 6to4, IPv4-compatible. The IPv4 address inside is what counts.
_EMBEDDING = (
    (ipaddress.ip_network("64:ff9b::/96"), lambda ip: ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)),
    (ipaddress.ip_network("64:ff9b:1::/48"), None),
    (
        ipaddress.ip_network("2002::/16"),
        lambda ip: ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF),
    ),
    (ipaddress.ip_network("::/96"), lambda ip: ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)),
)


def public_address(address: str) -> bool:
    """An address a feed may be fetched from: globally routable, unicast (for an IPv6 address
    that carries an IPv4 one, that one too)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        else:
            for net, inner in _EMBEDDING:
                if ip in net:
                    if inner is None:
                        return False
                    embedded = inner(ip)
                    return embedded.is_global and not embedded.is_multicast
    return ip.is_global and not ip.is_multicast


class GuardedResolver(AbstractResolver):
    """The system's resolver, keeping only public addresses for hosts not listed as allowed."""

    def __init__(self, allowed_hosts: Collection[str]):
        self.allowed = {h.lower() for h in allowed_hosts}
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if host.lower() in self.allowed:
            return found
        kept = [r for r in found if public_address(r["host"])]
        if not kept:
            raise RefusedAddress(host)
        if len(kept) != len(found):  # one private address among public ones: refuse all
            raise RefusedAddress(host)
        return kept

    async def close(self) -> None:
        await self._inner.close()


class RefusedAddress(OSError):
    """A host that resolves to an address feeds may not reach."""


def session(allowed_hosts: Collection[str]) -> aiohttp.ClientSession:
    """The HTTP session feeds are fetched with: its connections reach public addresses only."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=GuardedResolver(allowed_hosts)),
        trust_env=False,  # no proxy from the environment: the addresses checked are the ones used
    )


def check_url(url: str, allowed_hosts: Collection[str]) -> None:
    """Refuse a URL (``FetchError``) that is not http(s), or names a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("scheme")
    host = parts.hostname.lower()
    if host in {h.lower() for h in allowed_hosts}:
        return
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise FetchError("refused_address")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:  # the old numeric forms resolvers still accept: 0x7f000001, 127.1, 2130706433
            host = socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return  # a name: the resolver checks what it resolves to
    if not public_address(host):
        raise FetchError("refused_address")


async def fetch(
    http: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    timeout: float,
    max_bytes: int,
    max_redirects: int,
    allowed_hosts: Collection[str] = (),
    into: BinaryIO | None = None,
) -> Fetched:
    """A conditional GET of ``url`` (``into``: the body written to that file as it comes,
    for a large one, instead of kept in memory)."""
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, "
        "application/feed+json, application/json, application/xml, text/xml, */*;q=0.5",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = aiohttp.ClientTimeout(total=timeout)
    try:
        for _hop in range(max_redirects + 1):
            check_url(url, allowed_hosts)
            async with http.get(
                url, headers=headers, timeout=deadline, allow_redirects=False
            ) as resp:
                if resp.status in REDIRECTS and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    continue
                return await _read(resp, etag, last_modified, max_bytes, into)
        raise FetchError("redirects", n=max_redirects)
    except TimeoutError:
        raise FetchError("timeout", seconds=round(timeout)) from None
    except RefusedAddress:
        raise FetchError("refused_address") from None
    except aiohttp.ClientConnectorError as exc:
        refused = isinstance(getattr(exc, "os_error", None), RefusedAddress)
        raise FetchError("refused_address" if refused else "unreachable") from None
    except (aiohttp.ClientError, OSError):
        raise FetchError("unreachable") from None


async def _read(
    resp: aiohttp.ClientResponse,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    into: BinaryIO | None = None,
) -> Fetched:
    if resp.status == 304:
        return Fetched(304, etag=etag, last_modified=last_modified)
    if resp.status != 200:
        raise FetchError("http", status=resp.status)
    declared = resp.content_length
    if declared is not None and declared > max_bytes:
        raise FetchError("too_large", n=max_bytes)
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError("too_large", n=max_bytes)
        if into is not None:
            into.write(chunk)
        else:
            chunks.append(chunk)
    return Fetched(
        200,
        b"".join(chunks),
        resp.headers.get("Content-Type", ""),
        resp.headers.get("ETag"),
        resp.headers.get("Last-Modified"),
    )
