"""The territories planner without a server: desired state, plans, archiving, limits."""

from bot.config import parse_config
from bot.territories.desired import desired_state, power_levels, server_acl
from bot.territories.planner import ActualRoom, creation_body, plan
from bot.territories.render import render_plan

BOT, ADMIN, ANIM = "@agora:sud.example:8448", "@admin:sud.example:8448", "@anim:sud.example:8448"
SERVER = "sud.example:8448"


def config(network, allowed=()):
    return parse_config(
        {
            "homeserver": {
                "embedded": False,
                "url": "https://sud.example",
                "server_name": SERVER,
                "password": "x",
                "module_secret": "m" * 32,
            },
            "admins": [ADMIN],
            "network": network,
            "federation": {"allowed_servers": list(allowed)},
        },
        env={},
    )


NETWORK = {
    "territories": [
        {
            "id": "sud",
            "name": "Sud",
            "rooms": [{"id": "annonces", "name": "Annonces", "kind": "announcements"}],
            "territories": [
                {
                    "id": "vaucluse",
                    "name": "Vaucluse",
                    "animators": [ANIM],
                    "rooms": [
                        {"id": "communaute", "name": "Communauté", "kind": "community"},
                        {
                            "id": "equipe",
                            "name": "Équipe",
                            "kind": "managerial",
                            "manager": "@chef:sud.example:8448",
                        },
                    ],
                }
            ],
        }
    ]
}


def actual_from(desired, mapping, bot=BOT):
    """What the homeserver would hold after a perfect apply."""
    rooms = {}
    for d in desired:
        parent = mapping.get(d.parent) if d.parent else None
        body = creation_body(
            d, SERVER, bot, server_acl(SERVER, ()), parent, creator_privileged=False
        )
        events = [
            {
                "type": "m.room.create",
                "state_key": "",
                "sender": bot,
                "content": {"room_version": "10", **body.get("creation_content", {})},
            },
            {"type": "m.room.name", "state_key": "", "content": {"name": d.name}},
            {
                "type": "m.room.canonical_alias",
                "state_key": "",
                "content": {"alias": f"#{d.key}:{SERVER}"},
            },
            {
                "type": "m.room.power_levels",
                "state_key": "",
                "content": body["power_level_content_override"],
            },
            *body["initial_state"],
        ]
        if d.topic:
            events.append({"type": "m.room.topic", "state_key": "", "content": {"topic": d.topic}})
        events += [
            {"type": "m.room.member", "state_key": u, "content": {"membership": "invite"}}
            for u in d.invites
        ]
        for child in d.children:
            events.append(
                {
                    "type": "m.space.child",
                    "state_key": mapping[child],
                    "content": {
                        "via": [SERVER],
                        **(
                            {"suggested": True}
                            if any(x.key == child and x.suggested for x in desired)
                            else {}
                        ),
                    },
                }
            )
        rooms[d.key] = ActualRoom.from_state_events(mapping[d.key], events)
    return rooms


def test_desired_rules_per_kind():
    rooms = {d.key: d for d in desired_state(config(NETWORK).network, (ADMIN,))}
    assert [k for k in rooms] == [
        "sud",
        "sud.annonces",
        "vaucluse",
        "vaucluse.communaute",
        "vaucluse.equipe",
    ]
    assert rooms["vaucluse"].is_space and rooms["vaucluse"].parent == "sud"
    assert rooms["vaucluse"].invites == (ADMIN, ANIM)
    assert rooms["vaucluse.communaute"].join_rule == "restricted"
    assert rooms["vaucluse.equipe"].join_rule == "invite"
    assert "@chef:sud.example:8448" in rooms["vaucluse.equipe"].invites
    assert rooms["sud.annonces"].events_default == 50
    levels = power_levels(rooms["vaucluse.communaute"], BOT, frozenset())
    assert levels["users"] == {ADMIN: 100, BOT: 100, ANIM: 50}
    assert levels["events"]["m.room.server_acl"] == 100
    assert power_levels(rooms["vaucluse.communaute"], BOT, frozenset([BOT]))["users"] == {
        ADMIN: 100,
        ANIM: 50,
    }  # a v12 creator is above levels and not listed


def test_acl_names_hosts_with_and_without_ports_and_always_this_server():
    assert server_acl(SERVER, ("occitanie.example:8448", "sud.example:8448")) == {
        "allow": [
            "occitanie.example",
            "occitanie.example:8448",
            "sud.example",
            "sud.example:8448",
        ],
        "deny": [],
        "allow_ip_literals": False,
    }
    # Regions named by IP literals (local trials): allowed, and only then.
    local = server_acl("127.0.0.1:8448", ("127.0.0.2:8449",))
    assert local["allow_ip_literals"] and "127.0.0.2" in local["allow"]


def test_fresh_network_plans_creates_links_and_invites_in_tree_order():
    desired = desired_state(config(NETWORK).network, (ADMIN,))
    actions = plan(desired, {}, {}, bot=BOT, server_name=SERVER)
    creates = [a.key for a in actions if a.op == "create"]
    assert creates == ["sud", "sud.annonces", "vaucluse", "vaucluse.communaute", "vaucluse.equipe"]
    links = [(a.key, a.target) for a in actions if a.event_type == "m.space.child"]
    assert ("vaucluse", "vaucluse.communaute") in links and ("sud", "vaucluse") in links
    text = render_plan(actions, "fr")
    assert "créer l'espace « Vaucluse » (#vaucluse:sud.example:8448)" in text
    assert "inviter @anim:sud.example:8448 dans « Vaucluse »" in text


def test_matching_homeserver_gives_an_empty_plan():
    desired = desired_state(config(NETWORK).network, (ADMIN,))
    mapping = {d.key: f"!{d.key}:{SERVER}" for d in desired}
    assert plan(desired, actual_from(desired, mapping), mapping, bot=BOT, server_name=SERVER) == []
    assert render_plan([], "en") == "Nothing to do: the homeserver matches the configuration."


def test_a_room_read_without_its_members_plans_as_its_whole_state():
    """The module's ``rooms/state`` answer: the state but the member events, and the
    memberships of the people the plan asks about; the same plan as from the whole state."""
    desired = desired_state(config(NETWORK).network, (ADMIN,))
    mapping = {d.key: f"!{d.key}:{SERVER}" for d in desired}
    whole = actual_from(desired, mapping)
    summaries = {}
    for d in desired:
        room = whole[d.key]
        events = [
            {"type": t, "state_key": k, "content": c, "sender": room.senders.get((t, k), "")}
            for (t, k), c in room.state.items()
            if t != "m.room.member"
        ]
        asked = {*d.member_joins, *d.member_invites, *d.invites}
        members = {u: m for u in asked if (m := room.membership(u)) is not None}
        summaries[d.key] = ActualRoom.from_summary(mapping[d.key], events, members)
    assert plan(desired, summaries, mapping, bot=BOT, server_name=SERVER) == []
    # Someone asked about and never in a room: invited, as from the whole state.
    del summaries["vaucluse"].state[("m.room.member", ANIM)]
    actions = plan(desired, summaries, mapping, bot=BOT, server_name=SERVER)
    assert [(a.op, a.key, a.user) for a in actions] == [("invite", "vaucluse", ANIM)]


def test_drift_and_renames_are_planned_back():
    desired = desired_state(config(NETWORK).network, (ADMIN,))
    mapping = {d.key: f"!{d.key}:{SERVER}" for d in desired}
    actual = actual_from(desired, mapping)
    room = actual["vaucluse.communaute"]
    room.state[("m.room.power_levels", "")] = {
        **room.get("m.room.power_levels"),
        "users": {BOT: 100, ADMIN: 100, ANIM: 0},
    }
    room.state[("m.room.join_rules", "")] = {"join_rule": "public"}
    room.state[("m.room.name", "")] = {"name": "Ancien nom"}
    actual["vaucluse"].state[("m.space.child", "!intrus:ailleurs")] = {"via": ["ailleurs"]}
    actions = plan(desired, actual, mapping, bot=BOT, server_name=SERVER)
    kinds = {(a.key, a.event_type) for a in actions}
    assert kinds == {
        ("vaucluse.communaute", "m.room.power_levels"),
        ("vaucluse.communaute", "m.room.join_rules"),
        ("vaucluse.communaute", "m.room.name"),
        ("vaucluse", "m.space.child"),
    }
    text = render_plan(actions, "fr")
    assert "niveau de @anim:sud.example:8448 : 0 → 50" in text
    assert "règle d'accès de « Communauté » : public → restricted" in text
    assert "renommer « Ancien nom » en « Communauté »" in text
    assert "retirer !intrus:ailleurs de l'espace « Vaucluse »" in text


def test_removed_rooms_are_archived_once():
    desired = desired_state(config(NETWORK).network, (ADMIN,))
    mapping = {d.key: f"!{d.key}:{SERVER}" for d in desired}
    actual = actual_from(desired, mapping)
    fewer = [d for d in desired if d.key != "vaucluse.equipe"]
    actions = plan(fewer, actual, mapping, bot=BOT, server_name=SERVER)
    assert [(a.op, a.key) for a in actions] == [("archive", "vaucluse.equipe")]
    assert (
        plan(
            fewer,
            actual,
            mapping,
            bot=BOT,
            server_name=SERVER,
            archived=frozenset({"vaucluse.equipe"}),
        )
        == []
    )


def test_adoption_is_planned_for_declared_existing_rooms():
    network = {
        "territories": [
            {
                "id": "sud",
                "name": "Sud",
                "rooms": [
                    {"id": "garde", "name": "Garde", "kind": "oncall", "room": "!old:sud.example"}
                ],
            }
        ]
    }
    desired = desired_state(config(network).network, (ADMIN,))
    actions = plan(desired, {}, {}, bot=BOT, server_name=SERVER)
    assert ("adopt", "sud.garde", "!old:sud.example") in {(a.op, a.key, a.target) for a in actions}


def test_levels_above_the_bot_are_left_alone_in_adopted_rooms():
    desired = desired_state(config(NETWORK).network, (ADMIN,))
    mapping = {d.key: f"!{d.key}:{SERVER}" for d in desired}
    actual = actual_from(desired, mapping, bot="@someone:else")  # the bot is not the creator
    room = actual["vaucluse.communaute"]
    levels = room.get("m.room.power_levels")
    room.state[("m.room.power_levels", "")] = {
        **levels,
        "users": {**levels["users"], BOT: 100},
        "events": {**levels["events"], "m.room.tombstone": 150},
    }
    actions = [
        a
        for a in plan(desired, actual, mapping, bot=BOT, server_name=SERVER)
        if a.key == "vaucluse.communaute" and a.event_type == "m.room.power_levels"
    ]
    for action in actions:
        assert action.content["events"]["m.room.tombstone"] == 150


def test_network_config_errors_name_the_path():
    import pytest

    from bot.config import ConfigError

    bad = {
        "territories": [
            {
                "id": "sud",
                "name": "Sud",
                "territories": [
                    {
                        "id": "vaucluse",
                        "name": "V",
                        "rooms": [{"id": "x", "name": "X", "kind": "salon"}],
                    }
                ],
            }
        ]
    }
    with pytest.raises(
        ConfigError,
        match=r"^network\.territories\[0\]\.territories\[0\]\.rooms\[0\]"
        r"\.kind: expected one of community, announcements",
    ):
        config(bad)
    dup = {"territories": [{"id": "sud", "name": "Sud"}, {"id": "sud", "name": "Encore"}]}
    with pytest.raises(ConfigError, match=r"^network\.territories\[1\]\.id: expected an id used"):
        config(dup)
    group = {
        "territories": [
            {"id": "sud", "name": "Sud", "rooms": [{"id": "g", "name": "G", "kind": "group"}]}
        ]
    }
    with pytest.raises(ConfigError, match=r"rooms\[0\]\.visibility: expected one of open, private"):
        config(group)
