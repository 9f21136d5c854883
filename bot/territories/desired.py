"""Pure: from the declared network to the desired state of every space and room.

Rules (documented in the README):
- every territory is an invite-only space; every room is a child of its territory's space;
- community, announcements, on-call, replacements and open groups are ``restricted`` to the
  members of their territory's space; private groups and managerial rooms are invite-only;
- all rooms are end-to-end encrypted, guests forbidden, history visible from the invitation on
  (``invited``: a newcomer does not read what was said before they were asked in);
- power: bot and admins 100, the territory's animators (and those of the territories above) 50,
  a managerial room's manager 50, members 0; announcements need 50 to post (reactions stay open,
  to acknowledge alerts); state needs 50, encryption, ACL, history and tombstone need 100;
- private groups and managerial rooms keep their own member list: only their keepers (the
  manager; the group's animator) are at 50 and asked in there besides the admins, and inviting
  needs 50 (members cannot bring anyone in);
- server ACL: this server and ``federation.allowed_servers``, never excluding this server;
- a space or room ``shared_with`` peer servers is invite-only, and the peers' bots
  (``federation.peer_bots``) are asked in at 50: each asks its own vetted members in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.matrix.ids import host_of, server_of
from bot.territories.model import Network, RoomSpec, Territory, room_keepers
from bot.vetting.provisioning import Delivery, MemberInfo, ProvisioningConfig, deliveries

ADMIN, ANIMATOR = 100, 50
HISTORY_VISIBILITY = "invited"


@dataclass(frozen=True)
class DesiredRoom:
    key: str
    is_space: bool
    kind: str  # "space" or a room kind
    territory: str
    parent: str | None  # key of the space this belongs under
    name: str
    topic: str
    join_rule: str  # invite | restricted
    users: dict[str, int]  # power levels of named users (creator rules applied by the planner)
    events_default: int
    invites: tuple[str, ...]  # who the bot invites (admins, animators, manager)
    suggested: bool = False
    adopt: str | None = None  # room id or alias to take over instead of creating
    children: tuple[str, ...] = field(default=())
    # Vetted members given this room (bot.vetting.provisioning): asked in once, if they were
    # never in it (someone who left is not asked back).
    member_invites: tuple[str, ...] = ()
    member_joins: tuple[str, ...] = ()  # force_join: joined by the bot's privileges
    # Power needed to invite: members may not in private rooms (the bot and keepers do).
    invite_level: int = 0
    shared: bool = False  # with peer regions (their bots in it)

    @property
    def alias_localpart(self) -> str:
        return self.key


def server_host(server_name: str) -> str:
    """ACL patterns match server names without their port."""
    return host_of(server_name).lower()


def server_acl(server_name: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """IP literals are refused, unless a region itself is named by one (local trials). A
    server name with an explicit port is listed with and without it: servers match ACLs on
    the host alone, but Synapse checks its own name, port included, before accepting one."""
    names = (server_name, *allowed)
    allow = sorted({server_host(n) for n in names} | {n.lower() for n in names if ":" in n})
    literal = any(_is_ip(h) for h in allow)
    return {"allow": allow, "deny": [], "allow_ip_literals": literal}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# State of a room shared between regions that only its own region's bot may write (the peers'
# bots are animators there): the evolution board's regions and statuses (bot.evolutions), which
# a peer could otherwise replace, state being kept per type and key whoever sends it.
OWNER_ONLY_STATE = ("fr.agora.evolution.regions", "fr.agora.evolution.status")


def power_levels(d: DesiredRoom, bot: str, creators: frozenset[str]) -> dict[str, Any]:
    """The full power-levels content for a room. Creators of a v12+ room are above levels and
    must not be listed (MSC4289)."""
    users = {u: level for u, level in {bot: ADMIN, **d.users}.items() if u not in creators}
    return {
        "users": dict(sorted(users.items())),
        "users_default": 0,
        "events_default": d.events_default,
        "state_default": ANIMATOR,
        "invite": d.invite_level,
        "kick": ANIMATOR,
        "ban": ANIMATOR,
        "redact": ANIMATOR,
        "events": {
            **dict.fromkeys(OWNER_ONLY_STATE if d.shared else (), ADMIN),
            "m.room.encryption": ADMIN,
            "m.room.server_acl": ADMIN,
            "m.room.history_visibility": ADMIN,
            "m.room.tombstone": ADMIN,
            "m.room.power_levels": ANIMATOR,
            "m.room.name": ANIMATOR,
            "m.room.topic": ANIMATOR,
            "m.room.avatar": ANIMATOR,
            "m.room.join_rules": ANIMATOR,
            "m.room.canonical_alias": ANIMATOR,
            "m.room.pinned_events": ANIMATOR,
            "m.space.child": ANIMATOR,
            "m.space.parent": ANIMATOR,
            "m.reaction": 0,
            "m.room.redaction": 0,
        },
        "notifications": {"room": ANIMATOR},
    }


PeerBots = Callable[[str], "str | None"]  # server → that region's bot


def _peers(shared_with: tuple[str, ...], peer_bot: PeerBots | None) -> tuple[str, ...]:
    bots = (peer_bot(server) for server in shared_with) if peer_bot else ()
    return tuple(b for b in bots if b)


def _room(
    t: Territory,
    ancestors: tuple[Territory, ...],
    spec: RoomSpec,
    users: dict[str, int],
    admins: tuple[str, ...],
    peer_bot: PeerBots | None,
) -> DesiredRoom:
    room_users = dict(users)
    invites: tuple[str, ...] = ()
    if spec.private:
        # Its own member list: the admins, and its keepers (a managerial room's manager, a
        # group's animator), not every animator above.
        keepers = room_keepers(t, ancestors, spec)
        room_users = {a: ADMIN for a in admins}
        for k in keepers:
            room_users.setdefault(k, ANIMATOR)
        users = {k: ANIMATOR for k in keepers if k not in admins}
    if spec.manager:
        room_users.setdefault(spec.manager, ANIMATOR)
        invites = (spec.manager,)
    peers = _peers(spec.shared_with, peer_bot)
    for bot in peers:
        room_users.setdefault(bot, ANIMATOR)
    if spec.invite_only:
        # Nobody reaches an invite-only room from the space: admins and animators are asked in.
        invites = tuple(
            dict.fromkeys((*admins, *(u for u in users if u not in admins), *invites, *peers))
        )
    return DesiredRoom(
        key=f"{t.id}.{spec.id}",
        is_space=False,
        kind=spec.kind,
        territory=t.id,
        parent=t.id,
        name=spec.name,
        topic=spec.topic,
        join_rule="invite" if spec.invite_only else "restricted",
        users=room_users,
        events_default=ANIMATOR if spec.kind == "announcements" else 0,
        invites=invites,
        invite_level=ANIMATOR if spec.private else 0,
        suggested=spec.kind in ("community", "announcements"),
        adopt=spec.adopt_room or spec.adopt_alias,
        shared=bool(peers),
    )


def desired_state(
    network: Network,
    admins: tuple[str, ...],
    members: Sequence[MemberInfo] = (),
    provisioning: ProvisioningConfig | None = None,
    server_name: str = "",
    peer_bot: PeerBots | None = None,
) -> list[DesiredRoom]:
    """Parents before children, each space before its rooms."""
    out = _structure(network, admins, peer_bot)
    if not members:
        return out
    provisioning = provisioning or ProvisioningConfig()
    invites: dict[str, list[str]] = {}
    joins: dict[str, list[str]] = {}
    # Members alike (territory, profession, grants, homeserver; their id only when a rule
    # names people) are given the same: worked out once.
    by_name = any(rule.users for rule in provisioning.rules)
    given: dict[tuple[Any, ...], list[Delivery]] = {}
    for member in members:
        alike = (
            member.territory,
            member.profession,
            member.grants,
            server_of(member.user_id),
            member.user_id if by_name else None,
        )
        if alike not in given:
            given[alike] = deliveries(member, network, provisioning, server_name)
        for d in given[alike]:
            (joins if d.op == "join" else invites).setdefault(d.key, []).append(member.user_id)
    return [
        replace(
            d,
            member_invites=tuple(invites.get(d.key, ())),
            member_joins=tuple(joins.get(d.key, ())),
        )
        if d.key in invites or d.key in joins
        else d
        for d in out
    ]


def _structure(
    network: Network, admins: tuple[str, ...], peer_bot: PeerBots | None
) -> list[DesiredRoom]:
    out: list[DesiredRoom] = []
    for t, ancestors in network.walk():
        animators = tuple(dict.fromkeys(a for x in (*ancestors, t) for a in x.animators))
        users = {a: ADMIN for a in admins}
        for a in animators:
            users.setdefault(a, ANIMATOR)
        peers = _peers(t.shared_with, peer_bot)
        space_users = {**users, **{b: ANIMATOR for b in peers if b not in users}}
        children = tuple(f"{t.id}.{r.id}" for r in t.rooms) + tuple(c.id for c in t.territories)
        out.append(
            DesiredRoom(
                key=t.id,
                is_space=True,
                kind="space",
                territory=t.id,
                parent=ancestors[-1].id if ancestors else None,
                name=t.name,
                topic=t.topic,
                join_rule="invite",
                users=space_users,
                events_default=ANIMATOR,
                invites=tuple(dict.fromkeys((*admins, *animators, *peers))),
                children=children,
            )
        )
        out.extend(_room(t, ancestors, spec, users, admins, peer_bot) for spec in t.rooms)
    return out
