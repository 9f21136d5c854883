"""Pure: which spaces and rooms a vetted member is given, and which they may be in.

A member has a home territory (the one their request named). ``vetting.provisioning.rules``
give rooms: a rule matches on profession, territory (the member's home territory is one of the
listed ones or below one) and user id, all optional; its ``rooms`` are room kinds (resolved in
the member's territories: their home territory, the territories above it and those an animator
admitted them into) or room keys (``pdsa84.responsables``).

Delivery follows Synapse's invite limits (``rc_invites.per_user``: a burst of 5): a member is
invited to the spaces only (and to invite-only rooms given to them); the restricted rooms of a
space are joinable by its members, so nobody is invited to every room one by one. With
``force_join`` local accounts are joined straight into their spaces and rooms instead, through
Agora's Synapse module (or the admin API).

A member may be in: every space and room of their home territory and of the territories above
it, the territories an animator admitted them into, and the rooms given to them (with the spaces
of those rooms). Private groups and managerial rooms keep their own member list: only the
members given them by name (a rule naming the room's key, a group invitation, a manager's team)
may be in them; a rule by room kind never gives one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.matrix.ids import is_local
from bot.store.vetting import MemberInfo
from bot.territories.model import Network, RoomSpec, Territory

DEFAULT_ROOM_KINDS = ("community", "announcements")


@dataclass(frozen=True)
class Rule:
    rooms: tuple[str, ...]  # room kinds or room keys
    professions: tuple[str, ...] = ()  # empty: any profession
    territories: tuple[str, ...] = ()  # empty: any territory (else: these and below)
    users: tuple[str, ...] = ()  # empty: anyone

    def matches(self, member: MemberInfo, lineage: tuple[str, ...]) -> bool:
        return (
            (not self.professions or member.profession in self.professions)
            and (not self.territories or any(t in lineage for t in self.territories))
            and (not self.users or member.user_id in self.users)
        )


@dataclass(frozen=True)
class ProvisioningConfig:
    force_join: bool = False
    rules: tuple[Rule, ...] = (Rule(rooms=DEFAULT_ROOM_KINDS),)


@dataclass(frozen=True)
class Entitlement:
    spaces: tuple[str, ...]  # territory keys, parents first
    rooms: tuple[str, ...]  # room keys given (delivered)
    scope: tuple[str, ...] = ()  # territories whose every space and room they may be in
    extra: frozenset[str] = field(default_factory=frozenset)  # rooms and spaces given beyond

    private: frozenset[str] = field(default_factory=frozenset)  # the network's private rooms

    def allows(self, key: str) -> bool:
        """A private room only when given by name (a rule naming its key, a grant); any other
        space or room of their territories too."""
        if key in self.extra:
            return True
        return key.partition(".")[0] in self.scope and key not in self.private


def _index(network: Network) -> tuple[dict[str, tuple[str, ...]], dict[str, Territory]]:
    return network.lines, network.by_id


def entitlement(member: MemberInfo, network: Network, config: ProvisioningConfig) -> Entitlement:
    lines, by_id = _index(network)
    home = lines.get(member.territory, ())
    admitted = tuple(g for g in sorted(member.grants) if "." not in g)
    scope = tuple(dict.fromkeys((*home, *admitted)))
    rooms: dict[str, None] = {}
    for rule in config.rules:
        if not rule.matches(member, home):
            continue
        for entry in rule.rooms:
            if "." in entry:
                tid = entry.split(".", 1)[0]
                if tid in by_id and any(f"{tid}.{r.id}" == entry for r in by_id[tid].rooms):
                    rooms[entry] = None
                continue
            for tid in scope:
                for r in by_id[tid].rooms if tid in by_id else ():
                    if r.kind == entry and not r.private:  # private rooms: by key only
                        rooms[f"{tid}.{r.id}"] = None
    for g in sorted(member.grants):
        if "." in g:
            rooms[g] = None
    wanted_spaces = set(scope) | {k.split(".", 1)[0] for k in rooms}
    spaces = tuple(t for t in network.lines if t in wanted_spaces)  # parents first
    return Entitlement(
        spaces=spaces,
        rooms=tuple(rooms),
        scope=scope,
        extra=frozenset((*spaces, *rooms)),
        private=network.private_keys(),
    )


def _room(by_id: dict[str, Territory], key: str) -> RoomSpec | None:
    tid, _, rid = key.partition(".")
    t = by_id.get(tid)
    return next((r for r in t.rooms if r.id == rid), None) if t else None


@dataclass(frozen=True)
class Delivery:
    key: str
    op: str  # join (the bot's privileges, local accounts with force_join) | invite


def deliveries(
    member: MemberInfo, network: Network, config: ProvisioningConfig, server_name: str
) -> list[Delivery]:
    """How the member is given their spaces and rooms: spaces first, parents before children."""
    ent = entitlement(member, network, config)
    local = is_local(member.user_id, server_name)
    if config.force_join and local:
        return [Delivery(k, "join") for k in (*ent.spaces, *ent.rooms)]
    _, by_id = _index(network)
    out = [Delivery(k, "invite") for k in ent.spaces]
    for key in ent.rooms:
        spec = _room(by_id, key)
        if spec is not None and spec.invite_only:
            out.append(Delivery(key, "invite"))
    return out


def rule_problems(
    rules: tuple[Rule, ...], network: Network, professions: set[str], kinds: tuple[str, ...]
) -> list[tuple[str, str, str]]:
    """(path suffix, what was expected, value) for every reference that names nothing."""
    lines, by_id = _index(network)
    out: list[tuple[str, str, str]] = []
    for i, rule in enumerate(rules):
        for j, entry in enumerate(rule.rooms):
            if "." in entry:
                if _room(by_id, entry) is None:
                    out.append((f"[{i}].rooms[{j}]", "a declared room key (territory.room)", entry))
            elif entry not in kinds:
                out.append(
                    (f"[{i}].rooms[{j}]", "a room kind (" + ", ".join(kinds) + ") or key", entry)
                )
        for j, p in enumerate(rule.professions):
            if p not in professions:
                out.append(
                    (f"[{i}].professions[{j}]", "one of " + ", ".join(sorted(professions)), p)
                )
        for j, tid in enumerate(rule.territories):
            if tid not in lines:
                out.append((f"[{i}].territories[{j}]", "a declared territory id", tid))
    return out
