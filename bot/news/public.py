"""A territory's public news page: what public feeds relayed and `!news --public` posted,
for the territory itself and posted above it for everything below. Never alerts, never
anything said in a room."""

from __future__ import annotations

from typing import Any

from bot.errors import NotFound
from bot.news.audience import ALL
from bot.store.news import NewsStore
from bot.territories.model import Network

PAGE_SIZE = 30


async def public_items(
    news: NewsStore, network: Network, territory: str, limit: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    lineage = next(
        (
            [*(a.id for a in ancestors), t.id]
            for t, ancestors in network.walk()
            if t.id == territory
        ),
        None,
    )
    if lineage is None:
        raise NotFound("news.unknown_territory", target=territory, choices="")
    return await news.public_items(territory, [*lineage, ALL], limit)
