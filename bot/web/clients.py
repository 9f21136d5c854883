"""Who is asking: the client's address, taken from ``X-Forwarded-For`` only when the TCP peer
is one of the reverse proxies the operator trusts (``web.trusted_proxies``); anything else
could be forged by whoever sends the request. The address is then reduced to what a limit
should count (one IPv4 address, an IPv6 /64: one household or one machine)."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(specs: Collection[str]) -> tuple[Network, ...]:
    """``127.0.0.1``, ``10.0.0.0/8``, ``::1``… as networks (``ValueError`` names a bad one)."""
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in specs)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # [v6]:port
        text = text[1 : text.find("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Collection[Network]
) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the last
    address of ``X-Forwarded-For`` that is not itself a trusted proxy (each proxy appends the
    address it got the request from; what a client wrote there itself comes first and is
    ignored)."""
    ip = _ip(peer or "")
    if ip is None:
        return "?"

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in net for net in trusted)

    if not is_trusted(ip) or not forwarded_for:
        return str(ip)
    for hop in reversed(forwarded_for.split(",")):
        found = _ip(hop)
        if found is None:
            return str(ip)  # a malformed list: trust nothing in it
        if not is_trusted(found):
            return str(found)
        ip = found
    return str(ip)


def limit_key(address: str) -> str:
    """What one limit counts: the address, or its /64 for IPv6."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip) if ip else address
