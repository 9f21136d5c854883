"""The network a region declares: a tree of territories, each with rooms (``network:`` in config).

Stable ids make stable keys: a territory's key is its id (``vaucluse``), a room's key is
``<territory>.<room>`` (``vaucluse.communaute``). Keys are also the local parts of the canonical
aliases (``#vaucluse:server``, ``#vaucluse.communaute:server``), so they must be unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ROOM_KINDS = ("community", "announcements", "oncall", "replacements", "group", "managerial")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
ROOM_ID_RE = re.compile(r"^![A-Za-z0-9._~\-+/=]+(:[A-Za-z0-9.\-]+(:\d{1,5})?)?$")
ALIAS_RE = re.compile(r"^#[^:\s]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")
MAX_NAME = 120
MAX_TOPIC = 1000


@dataclass(frozen=True)
class RoomSpec:
    id: str
    name: str
    kind: str
    topic: str = ""
    visibility: str | None = None  # groups: open | private
    manager: str | None = None  # managerial rooms
    adopt_room: str | None = None  # "!id:server": take this existing room over
    adopt_alias: str | None = None  # "#alias:server": the same, found by alias

    @property
    def invite_only(self) -> bool:
        return self.kind == "managerial" or (self.kind == "group" and self.visibility == "private")


@dataclass(frozen=True)
class Territory:
    id: str
    name: str
    topic: str = ""
    animators: tuple[str, ...] = ()
    rooms: tuple[RoomSpec, ...] = ()
    territories: tuple[Territory, ...] = ()


@dataclass(frozen=True)
class Network:
    territories: tuple[Territory, ...] = ()

    def walk(self) -> Iterator[tuple[Territory, tuple[Territory, ...]]]:
        """Every territory with its ancestors (root first), parents before children."""

        def visit(t: Territory, ancestors: tuple[Territory, ...]):
            yield t, ancestors
            for child in t.territories:
                yield from visit(child, (*ancestors, t))

        for top in self.territories:
            yield from visit(top, ())

    def find(self, territory_id: str) -> Territory | None:
        return next((t for t, _ in self.walk() if t.id == territory_id), None)

    def subtree(self, territory_id: str) -> list[Territory]:
        top = self.find(territory_id)
        if top is None:
            return []
        return [t for t, _ in Network((top,)).walk()]


@dataclass(frozen=True)
class FederationConfig:
    allowed_servers: tuple[str, ...] = ()
    # Peer regions' policy rooms (ids or aliases) whose ban rules this bot applies.
    trusted_policy_rooms: tuple[str, ...] = ()
    # Peer regions' bots, invited to this region's policy room (to trust it).
    peer_bots: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
