"""Working groups animators create at run time (`!group create`): rooms kept in the store and
merged into the declared network, so that the reconciler (the only writer of managed rooms'
structure) makes and keeps them like any room of the config.

A group's key is ``<territory>.<slug>`` with a slug made from its name; a slug never takes an
id the config uses (``g-`` is put in front when it would).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from bot.config import Config
from bot.store import Store
from bot.store.groups import Group, GroupStore
from bot.territories.model import Network, RoomSpec, Territory

MAX_GROUPS_PER_TERRITORY = 50


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    return "-".join(words)[:40].strip("-") or "groupe"


def free_key(territory: Territory, name: str, taken: set[str]) -> str:
    """A key for a new group of ``territory`` that no room of it has."""
    used = {r.id for r in territory.rooms} | {k.split(".", 1)[1] for k in taken}
    base = slug(name)
    if base in {r.id for r in territory.rooms}:
        base = f"g-{base}"[:40]
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base}-{n}"
        n += 1
    return f"{territory.id}.{candidate}"


def with_groups(network: Network, groups: list[Group]) -> Network:
    """The network with each group as a room (kind group) of its territory; groups whose
    territory is gone are left out (their room is archived like any undeclared room)."""
    by_territory: dict[str, list[Group]] = {}
    for g in groups:
        by_territory.setdefault(g.territory, []).append(g)

    def visit(t: Territory) -> Territory:
        extra = tuple(
            RoomSpec(g.room_id_part, g.name, "group", visibility=g.visibility, keeper=g.created_by)
            for g in by_territory.get(t.id, ())
            if g.room_id_part not in {r.id for r in t.rooms}
        )
        return dataclasses.replace(
            t, rooms=t.rooms + extra, territories=tuple(visit(c) for c in t.territories)
        )

    return Network(tuple(visit(t) for t in network.territories))


def effective(config: Config, groups: list[Group]) -> Config:
    return dataclasses.replace(config, network=with_groups(config.network, groups))


async def load_effective(config: Config, store: Store) -> Config:
    return effective(config, await GroupStore(store).all())
