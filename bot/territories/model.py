"""The network a region declares: a tree of territories, each with rooms (``network:`` in config).

Stable ids make stable keys: a territory's key is its id (``vaucluse``), a room's key is
``<territory>.<room>`` (``vaucluse.communaute``). Keys are also the local parts of the canonical
aliases (``#vaucluse:server``, ``#vaucluse.communaute:server``), so they must be unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from bot.matrix.ids import server_of

ROOM_KINDS = (
    "community", "announcements", "oncall", "replacements", "group", "managerial", "resources",
)  # fmt: skip
# An on-call room's topic is the declared one, then a line from this mark on that the rosters
# keep up to date (who is on duty now); the reconciler compares only what comes before it.
DUTY_MARK = "🩺 "
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
ROOM_ID_RE = re.compile(r"^![A-Za-z0-9._~\-+/=]+(:[A-Za-z0-9.\-]+(:\d{1,5})?)?$")
ALIAS_RE = re.compile(r"^#[^:\s]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")
MAX_NAME = 120
MAX_TOPIC = 1000
MAX_WELCOME = 4000  # a territory's welcome text (its rules)


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
    # Peer regions' servers this room is shared with (its territory's included, see config).
    shared_with: tuple[str, ...] = ()
    # A working group made at run time: the animator who made it and keeps it.
    keeper: str | None = None

    @property
    def private(self) -> bool:
        """A private working group or a managerial room: its own member list, nobody else
        (``keepers`` and the admins excepted), even vetted members of the territory."""
        return self.kind == "managerial" or (self.kind == "group" and self.visibility == "private")

    @property
    def invite_only(self) -> bool:
        """Private groups, managerial rooms, and shared rooms: their members come from several
        regions, and each region's bot asks its own people in."""
        return (
            self.kind == "managerial"
            or (self.kind == "group" and self.visibility == "private")
            or bool(self.shared_with)
        )


@dataclass(frozen=True)
class Territory:
    id: str
    name: str
    topic: str = ""
    animators: tuple[str, ...] = ()
    rooms: tuple[RoomSpec, ...] = ()
    territories: tuple[Territory, ...] = ()
    # Shared with peer regions: its space, and (by inheritance, applied when the config is
    # read) its rooms and the territories below it.
    shared_with: tuple[str, ...] = ()
    # What a newcomer welcomed with `!accueil` is told first: the territory's rules, its ways.
    welcome: str = ""
    # Where it is: department codes (84, 2A, 974) and communes (names), which the national
    # directory's places of practice are matched against to suggest a territory.
    departments: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Network:
    territories: tuple[Territory, ...] = ()

    def walk(self) -> Iterator[tuple[Territory, tuple[Territory, ...]]]:
        """Every territory with its ancestors (root first), parents before children."""
        return iter(self._walked)

    @cached_property
    def _walked(self) -> tuple[tuple[Territory, tuple[Territory, ...]], ...]:
        # Walked once: a network is immutable, and what each member is given walks it (a
        # plan of 1,000 members walked it thousands of times, growing with members × size).
        out: list[tuple[Territory, tuple[Territory, ...]]] = []

        def visit(t: Territory, ancestors: tuple[Territory, ...]) -> None:
            out.append((t, ancestors))
            for child in t.territories:
                visit(child, (*ancestors, t))

        for top in self.territories:
            visit(top, ())
        return tuple(out)

    @cached_property
    def by_id(self) -> dict[str, Territory]:
        """Every territory by its id (the first declared, should two share one)."""
        found: dict[str, Territory] = {}
        for t, _ in self._walked:
            found.setdefault(t.id, t)
        return found

    @cached_property
    def lines(self) -> dict[str, tuple[str, ...]]:
        """Every territory's id with those of its ancestors, the top first."""
        found: dict[str, tuple[str, ...]] = {}
        for t, ancestors in self._walked:
            found.setdefault(t.id, (*(a.id for a in ancestors), t.id))
        return found

    def find(self, territory_id: str) -> Territory | None:
        return self.by_id.get(territory_id)

    def subtree(self, territory_id: str) -> list[Territory]:
        top = self.find(territory_id)
        if top is None:
            return []
        return [t for t, _ in Network((top,)).walk()]

    def room(self, key: str) -> tuple[Territory, RoomSpec] | None:
        territory_id, _, room_id = key.partition(".")
        t = self.find(territory_id)
        if t is None or not room_id:
            return None
        spec = next((r for r in t.rooms if r.id == room_id), None)
        return (t, spec) if spec else None

    def lineage(self, territory_id: str) -> list[Territory]:
        """The territory and those above it, the top first (empty for an unknown id)."""
        for t, ancestors in self.walk():
            if t.id == territory_id:
                return [*ancestors, t]
        return []

    def coordinators(self, territory_id: str) -> tuple[str, ...]:
        """Who coordinates a territory: its animators, else those of the nearest territory
        above it that has some."""
        for t in reversed(self.lineage(territory_id)):
            if t.animators:
                return t.animators
        return ()

    def name_of(self, key: str) -> str:
        """A space's (territory id) or room's (``territory.room``) name, else the key."""
        territory_id, _, room_id = key.partition(".")
        if not room_id:
            found = self.find(territory_id)
            return found.name if found else key
        room = self.room(key)
        return room[1].name if room else key

    def private_keys(self) -> frozenset[str]:
        return self._private_keys

    @cached_property
    def _private_keys(self) -> frozenset[str]:
        return frozenset(f"{t.id}.{r.id}" for t, _ in self.walk() for r in t.rooms if r.private)

    def keepers(self, key: str) -> tuple[str, ...]:
        """Who keeps a private room (besides the admins): a managerial room's manager; a
        working group's animator (who made it), or for a declared one, its territory's own
        animators. Empty for any other room."""
        found = self.room(key)
        if found is None or not found[1].private:
            return ()
        territory, spec = found
        above = next((a for t, a in self.walk() if t.id == territory.id), ())
        return room_keepers(territory, above, spec)

    def shared_with(self, key: str) -> tuple[str, ...]:
        """The peer servers a space (territory key) or room (``territory.room``) is shared
        with; empty for a region's own rooms."""
        territory_id, _, room_id = key.partition(".")
        t = self.find(territory_id)
        if t is None:
            return ()
        if not room_id:
            return t.shared_with
        return next((r.shared_with for r in t.rooms if r.id == room_id), ())

    def shared(self) -> list[str]:
        """Keys of every shared space and room."""
        out = []
        for t, _ in self.walk():
            if t.shared_with:
                out.append(t.id)
            out.extend(f"{t.id}.{r.id}" for r in t.rooms if r.shared_with)
        return out


def room_keepers(
    territory: Territory, ancestors: tuple[Territory, ...], spec: RoomSpec
) -> tuple[str, ...]:
    """Who keeps a private room besides the admins (see ``Network.keepers``)."""
    if not spec.private:
        return ()
    if spec.manager:
        return (spec.manager,)
    if spec.keeper and any(spec.keeper in x.animators for x in (*ancestors, territory)):
        return (spec.keeper,)
    # A declared group, or one whose animator no longer animates here: the territory's.
    return territory.animators


@dataclass(frozen=True)
class SharedRoomDecl:
    """A peer region's shared room this region's members are asked into
    (``federation.shared_rooms``): who among the vetted members goes, as a provisioning rule
    does (all optional; empty means every vetted member)."""

    room: str  # alias (#x:server) or room id
    professions: tuple[str, ...] = ()
    territories: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class FederationConfig:
    # Embedded: also the homeserver's federation allow-list, written when it starts.
    allowed_servers: tuple[str, ...] = field(
        default=(), metadata={"restart": lambda config: config.homeserver.embedded}
    )
    # Peer regions' policy rooms (ids or aliases) whose ban rules this bot applies.
    trusted_policy_rooms: tuple[str, ...] = ()
    # Peer regions' bots, invited to this region's policy room (to trust it).
    peer_bots: tuple[str, ...] = ()
    # Peer regions' shared rooms this region provisions its own members into.
    shared_rooms: tuple[SharedRoomDecl, ...] = ()

    def peer_bot_for(self, server: str) -> str | None:
        return next((b for b in self.peer_bots if server_of(b) == server), None)
