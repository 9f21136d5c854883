"""Pure: ``plan(desired, actual) -> list[Action]``. No I/O; the executor applies the actions.

The actual state of a room is read from its full state (one request per room). Rooms the
config no longer declares are archived, never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.matrix.content import ENCRYPTION_ALGORITHM
from bot.matrix.ids import creators
from bot.territories.desired import (
    HISTORY_VISIBILITY,
    DesiredRoom,
    power_levels,
    server_acl,
)
from bot.territories.model import DUTY_MARK

ARCHIVED_PREFIX = "[Archivé] "
# The top-level power-level settings the planner owns (besides `users` and `events`).
LEVEL_SETTINGS = (
    "users_default",
    "events_default",
    "state_default",
    "invite",
    "kick",
    "ban",
    "redact",
)
WATCHED_STATE = frozenset(
    {
        "m.room.power_levels",
        "m.room.join_rules",
        "m.room.server_acl",
        "m.space.child",
        "m.space.parent",
        "m.room.name",
        "m.room.topic",
        "m.room.history_visibility",
        "m.room.guest_access",
        "m.room.encryption",
        "m.room.canonical_alias",
    }
)


@dataclass
class ActualRoom:
    room_id: str
    room_version: str = "1"
    creators: frozenset[str] = frozenset()
    is_space: bool = False
    state: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    senders: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_state_events(cls, room_id: str, events: list[dict[str, Any]]) -> ActualRoom:
        room = cls(room_id)
        for ev in events:
            key = (ev["type"], ev.get("state_key", ""))
            room.state[key] = ev.get("content", {})
            room.senders[key] = ev.get("sender", "")
        create = room.state.get(("m.room.create", ""), {})
        room.room_version = str(create.get("room_version", "1"))
        room.is_space = create.get("type") == "m.space"
        room.creators = creators(
            {"sender": room.senders.get(("m.room.create", ""), ""), "content": create},
            room.room_version,
        )
        return room

    @classmethod
    def from_summary(
        cls, room_id: str, events: list[dict[str, Any]], members: dict[str, str]
    ) -> ActualRoom:
        """The room from its state but its members, and the memberships of the people a
        plan asks about (all a plan reads of its members)."""
        room = cls.from_state_events(room_id, events)
        for user, membership in members.items():
            room.state[("m.room.member", user)] = {"membership": membership}
        return room

    def get(self, event_type: str, state_key: str = "") -> dict[str, Any] | None:
        return self.state.get((event_type, state_key))

    def membership(self, user_id: str) -> str | None:
        content = self.get("m.room.member", user_id)
        return content.get("membership") if content else None

    def children(self) -> dict[str, dict[str, Any]]:
        return {sk: c for (t, sk), c in self.state.items() if t == "m.space.child" and c}


@dataclass(frozen=True)
class Action:
    """One change. ``target`` is a key whose room id is the state key (resolved at run time:
    a child created earlier in the same run has no id when the plan is made)."""

    op: str  # create | adopt | state | invite | force_join | archive
    key: str
    event_type: str = ""
    state_key: str = ""
    target: str | None = None
    content: dict[str, Any] | None = None
    user: str | None = None
    what: tuple[str, ...] = ()  # message id and parameters, for the readable plan

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", ())}


def _alias(key: str, server_name: str) -> str:
    return f"#{key}:{server_name}"


def creation_body(
    d: DesiredRoom,
    server_name: str,
    bot: str,
    acl: dict[str, Any],
    parent_room_id: str | None,
    *,
    creator_privileged: bool,
) -> dict[str, Any]:
    """The ``createRoom`` body that makes a room right in one request (the child link in the
    parent space is the one thing that has to follow)."""
    initial: list[dict[str, Any]] = [
        {
            "type": "m.room.encryption",
            "state_key": "",
            "content": {"algorithm": ENCRYPTION_ALGORITHM},
        },
        {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
        {
            "type": "m.room.history_visibility",
            "state_key": "",
            "content": {"history_visibility": HISTORY_VISIBILITY},
        },
        {"type": "m.room.server_acl", "state_key": "", "content": acl},
        {"type": "m.room.join_rules", "state_key": "", "content": join_rules(d, parent_room_id)},
    ]
    if parent_room_id:
        initial.append(
            {
                "type": "m.space.parent",
                "state_key": parent_room_id,
                "content": {"via": [server_name], "canonical": True},
            }
        )
    body: dict[str, Any] = {
        "name": d.name,
        "room_alias_name": d.alias_localpart,
        "preset": "private_chat",
        "visibility": "private",
        "initial_state": initial,
        # The override replaces `users` whole: the bot stays listed unless, as creator of a
        # v12+ room, it is above levels and must not be.
        "power_level_content_override": power_levels(
            d, bot, frozenset([bot]) if creator_privileged else frozenset()
        ),
    }
    if d.topic:
        body["topic"] = d.topic
    if d.is_space:
        body["creation_content"] = {"type": "m.space"}
    return body


def join_rules(d: DesiredRoom, parent_room_id: str | None) -> dict[str, Any]:
    if d.join_rule == "restricted" and parent_room_id:
        return {
            "join_rule": "restricted",
            "allow": [{"type": "m.room_membership", "room_id": parent_room_id}],
        }
    return {"join_rule": "invite"}


def within_reach(
    wanted: dict[str, Any], current: dict[str, Any], bot: str, creators: frozenset[str]
) -> dict[str, Any]:
    """Keep what the bot may not change: in an adopted room, entries above its own level (a
    v12 creator's tombstone at 150, a user above the bot) stay as they are."""
    if bot in creators:
        return wanted
    mine = current.get("users", {}).get(bot, current.get("users_default", 0))
    out = {**wanted, "events": dict(wanted["events"]), "users": dict(wanted["users"])}
    for event_type, level in current.get("events", {}).items():
        if level > mine:
            out["events"][event_type] = level
    for user, level in current.get("users", {}).items():
        if level > mine or (level == mine and user != bot and user not in out["users"]):
            out["users"][user] = level  # the same or higher power: not ours to lower
    for key in LEVEL_SETTINGS:
        if current.get(key, 0) > mine:
            out[key] = current[key]
    return out


def _pl_changes(current: dict[str, Any], wanted: dict[str, Any]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    cur_users, new_users = current.get("users", {}), wanted["users"]
    default = current.get("users_default", 0)
    for user in sorted(set(cur_users) | set(new_users)):
        before, after = cur_users.get(user, default), new_users.get(user, 0)
        if before != after:
            out.append(("plan.power_user", user, str(before), str(after)))
    for key in LEVEL_SETTINGS:
        if current.get(key) != wanted[key]:
            out.append(("plan.power_setting", key, str(current.get(key)), str(wanted[key])))
    if (
        current.get("events") != wanted["events"]
        or current.get("notifications") != wanted["notifications"]
    ):
        out.append(("plan.power_events",))
    return out


def plan(
    desired: list[DesiredRoom],
    actual: dict[str, ActualRoom],
    mapping: dict[str, str],
    *,
    bot: str,
    server_name: str,
    allowed_servers: tuple[str, ...] = (),
    archived: frozenset[str] = frozenset(),
    archive_missing: bool | frozenset[str] = True,
) -> list[Action]:
    """Compare each desired room with what the homeserver has and list what to change.
    ``archive_missing``: archive the mapped rooms no longer declared (all, none, or those of
    these keys: a partial run archives only what it is about)."""
    acl = server_acl(server_name, allowed_servers)
    actions: list[Action] = []
    by_key = {d.key: d for d in desired}
    for d in desired:
        a = actual.get(d.key)
        parent_id = mapping.get(d.parent) if d.parent else None
        if a is None:
            if d.adopt:
                actions.append(
                    Action("adopt", d.key, target=d.adopt, what=("plan.adopt", d.name, d.adopt))
                )
            else:
                actions.append(
                    Action(
                        "create",
                        d.key,
                        what=(
                            "plan.create_space" if d.is_space else "plan.create_room",
                            d.name,
                            _alias(d.key, server_name),
                        ),
                    )
                )
            if d.parent:
                actions.append(_link(d, server_name))
            actions.extend(
                Action("invite", d.key, user=u, what=("plan.invite", u, d.name)) for u in d.invites
            )
            actions.extend(_provision(d, None))
            continue
        child_ids = {mapping[c] for c in d.children if c in mapping}
        actions.extend(_diff(d, a, parent_id, acl, bot, server_name, child_ids))
        actions.extend(_provision(d, a))
        if d.parent and parent_id and d.parent in actual:
            link = actual[d.parent].get("m.space.child", a.room_id)
            if (
                not link
                or link.get("via") != [server_name]
                or bool(link.get("suggested")) != d.suggested
            ):
                actions.append(_link(d, server_name))
    for key in mapping:
        if key in by_key or key in archived or not archive_missing:
            continue
        if isinstance(archive_missing, frozenset) and key not in archive_missing:
            continue
        a = actual.get(key)
        name = (a.get("m.room.name") or {}).get("name", key) if a else key
        actions.append(Action("archive", key, what=("plan.archive", name)))
    return actions


def _provision(d: DesiredRoom, a: ActualRoom | None) -> list[Action]:
    """Members given this room who were never in it (a member who left is not asked back; a
    member merely invited is joined when force_join applies to them)."""
    out: list[Action] = []
    staff = set(d.invites)
    for user in d.member_joins:
        if user not in staff and (a is None or a.membership(user) in (None, "invite")):
            out.append(
                Action("force_join", d.key, user=user, what=("plan.force_join", user, d.name))
            )
    for user in d.member_invites:
        if user not in staff and (a is None or a.membership(user) is None):
            out.append(Action("invite", d.key, user=user, what=("plan.invite", user, d.name)))
    return out


def _link(d: DesiredRoom, server_name: str) -> Action:
    content: dict[str, Any] = {"via": [server_name]}
    if d.suggested:
        content["suggested"] = True
    return Action(
        "state",
        d.parent or "",
        "m.space.child",
        target=d.key,
        content=content,
        what=("plan.link", d.name, d.parent or ""),
    )


def _diff(
    d: DesiredRoom,
    a: ActualRoom,
    parent_id: str | None,
    acl: dict[str, Any],
    bot: str,
    server_name: str,
    child_ids: set[str],
) -> list[Action]:
    out: list[Action] = []

    def state(
        event_type: str, content: dict[str, Any], what: tuple[str, ...], state_key: str = ""
    ) -> None:
        out.append(Action("state", d.key, event_type, state_key, content=content, what=what))

    if (a.get("m.room.name") or {}).get("name") != d.name:
        state(
            "m.room.name",
            {"name": d.name},
            ("plan.rename", (a.get("m.room.name") or {}).get("name", ""), d.name),
        )
    topic = (a.get("m.room.topic") or {}).get("topic", "")
    if d.kind == "oncall":  # the line naming who is on duty is the rosters' own
        topic = topic.split(DUTY_MARK, 1)[0].rstrip("\n")
    if topic != d.topic:
        state("m.room.topic", {"topic": d.topic}, ("plan.topic", d.name))
    if not a.get("m.room.encryption"):
        state("m.room.encryption", {"algorithm": ENCRYPTION_ALGORITHM}, ("plan.encrypt", d.name))
    if (a.get("m.room.guest_access") or {}).get("guest_access") != "forbidden":
        state("m.room.guest_access", {"guest_access": "forbidden"}, ("plan.guests", d.name))
    if (a.get("m.room.history_visibility") or {}).get("history_visibility") != HISTORY_VISIBILITY:
        state(
            "m.room.history_visibility",
            {"history_visibility": HISTORY_VISIBILITY},
            ("plan.history", d.name),
        )
    wanted_rules = join_rules(d, parent_id)
    if _norm_rules(a.get("m.room.join_rules")) != _norm_rules(wanted_rules):
        state(
            "m.room.join_rules",
            wanted_rules,
            (
                "plan.join_rule",
                d.name,
                (a.get("m.room.join_rules") or {}).get("join_rule", "?"),
                wanted_rules["join_rule"],
            ),
        )
    current_pl = a.get("m.room.power_levels") or {}
    wanted_pl = within_reach(power_levels(d, bot, a.creators), current_pl, bot, a.creators)
    changes = _pl_changes(current_pl, wanted_pl)
    if changes:
        out.append(
            Action(
                "state",
                d.key,
                "m.room.power_levels",
                content=wanted_pl,
                what=("plan.power", d.name, *("|".join(c) for c in changes)),
            )
        )
    current_acl = a.get("m.room.server_acl") or {}
    if (
        sorted(current_acl.get("allow", [])),
        current_acl.get("deny", []),
        current_acl.get("allow_ip_literals", True),
    ) != (acl["allow"], [], acl["allow_ip_literals"]):
        state("m.room.server_acl", acl, ("plan.acl", d.name, ", ".join(acl["allow"])))
    alias = _alias(d.key, server_name)
    if (a.get("m.room.canonical_alias") or {}).get("alias") != alias:
        out.append(
            Action(
                "state",
                d.key,
                "m.room.canonical_alias",
                content={"alias": alias},
                what=("plan.alias", d.name, alias),
            )
        )
    if parent_id:
        parent_link = a.get("m.space.parent", parent_id)
        if not parent_link or parent_link.get("via") != [server_name]:
            state(
                "m.space.parent",
                {"via": [server_name], "canonical": True},
                ("plan.parent", d.name),
                state_key=parent_id,
            )
    for (event_type, state_key), content in a.state.items():
        if event_type == "m.space.parent" and content and state_key != parent_id:
            state("m.space.parent", {}, ("plan.unparent", d.name), state_key=state_key)
    if d.is_space:
        for child in sorted(set(a.children()) - child_ids):
            state("m.space.child", {}, ("plan.unlink", child, d.name), state_key=child)
    for user in d.invites:
        if a.membership(user) not in ("join", "invite", "ban"):
            out.append(Action("invite", d.key, user=user, what=("plan.invite", user, d.name)))
    return out


def _norm_rules(content: dict[str, Any] | None) -> tuple[str, tuple[str, ...]]:
    content = content or {}
    allow = tuple(
        sorted(
            a.get("room_id", "")
            for a in content.get("allow", [])
            if a.get("type") == "m.room_membership"
        )
    )
    rule = content.get("join_rule", "invite")
    return rule, allow if rule in ("restricted", "knock_restricted") else ()
