"""Working groups animators create at run time (`!group create`): rooms kept in the store and
merged into the declared network, so that the reconciler (the only writer of managed rooms'
structure) makes and keeps them like any room of the config.

A group's key is ``<territory>.<slug>`` with a slug made from its name; a slug never takes an
id the config uses (``g-`` is put in front when it would).
"""

from __future__ import annotations

import dataclasses
import re
import time
import unicodedata
from dataclasses import dataclass

from bot.config import Config
from bot.store import Store
from bot.territories.model import Network, RoomSpec, Territory

MAX_GROUPS_PER_TERRITORY = 50


@dataclass(frozen=True)
class Group:
    key: str
    territory: str
    name: str
    visibility: str  # open | private
    created_by: str

    @property
    def room_id_part(self) -> str:
        return self.key.split(".", 1)[1]


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


class GroupStore:
    def __init__(self, store: Store):
        self.store = store

    async def all(self, *, include_archived: bool = False) -> list[Group]:
        """The live groups (``include_archived``: those archived too, whose keys stay taken)."""
        sql = "SELECT key, territory, name, visibility, created_by FROM groups"
        if not include_archived:
            sql += " WHERE archived IS NULL"
        async with self.store.db.execute(sql + " ORDER BY created") as cur:
            return [Group(*r) for r in await cur.fetchall()]

    async def archive(self, key: str) -> bool:
        """Out of the network: the reconciler archives its room (history kept)."""
        cur = await self.store._write(
            "UPDATE groups SET archived = ? WHERE key = ? AND archived IS NULL", (time.time(), key)
        )
        return cur.rowcount == 1

    async def add(self, group: Group) -> None:
        await self.store._write(
            "INSERT INTO groups (key, territory, name, visibility, created_by, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                group.key,
                group.territory,
                group.name,
                group.visibility,
                group.created_by,
                time.time(),
            ),
        )

    async def get(self, key: str) -> Group | None:
        async with self.store.db.execute(
            "SELECT key, territory, name, visibility, created_by FROM groups WHERE key = ? "
            "AND archived IS NULL",
            (key,),
        ) as cur:
            row = await cur.fetchone()
        return Group(*row) if row else None


async def load_effective(config: Config, store: Store) -> Config:
    return effective(config, await GroupStore(store).all())
