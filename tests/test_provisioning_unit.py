"""What the provisioning rules give a member, and what the planner does with it."""

import pytest

from bot.config import ConfigError, parse_config
from bot.territories.desired import desired_state
from bot.territories.model import Network, RoomSpec, Territory
from bot.territories.planner import ActualRoom, plan
from bot.vetting.provisioning import (
    MemberInfo,
    ProvisioningConfig,
    Rule,
    deliveries,
    entitlement,
)

NETWORK = Network(
    (
        Territory(
            "sud",
            "Sud",
            rooms=(RoomSpec("annonces", "Annonces", "announcements"),),
            territories=(
                Territory(
                    "vaucluse",
                    "Vaucluse",
                    rooms=(
                        RoomSpec("communaute", "Communauté", "community"),
                        RoomSpec("canicule", "Canicule", "group", visibility="private"),
                    ),
                    territories=(
                        Territory(
                            "pdsa",
                            "PDSA",
                            rooms=(
                                RoomSpec("mmg", "MMG", "oncall"),
                                RoomSpec("responsables", "Responsables", "oncall"),
                            ),
                        ),
                        Territory("cpts", "CPTS", rooms=(RoomSpec("echanges", "É", "community"),)),
                    ),
                ),
            ),
        ),
    )
)
RULES = ProvisioningConfig(
    rules=(
        Rule(rooms=("community", "announcements")),
        Rule(rooms=("pdsa.mmg",), professions=("medecin",), territories=("vaucluse",)),
        Rule(rooms=("pdsa.responsables",), users=("@coord:x",)),
    )
)


def test_kinds_resolve_in_the_members_territory_and_those_above():
    ent = entitlement(MemberInfo("@n:x", "cpts", "infirmier"), NETWORK, RULES)
    assert ent.spaces == ("sud", "vaucluse", "cpts")
    assert set(ent.rooms) == {"sud.annonces", "vaucluse.communaute", "cpts.echanges"}
    assert ent.allows("vaucluse.communaute") and not ent.allows("pdsa.mmg")
    # A private group of their own territory keeps its own list: not theirs by territory.
    assert not ent.allows("vaucluse.canicule")


def test_a_private_room_is_given_by_name_only():
    by_kind = ProvisioningConfig(rules=(Rule(rooms=("group",)),))
    member = MemberInfo("@n:x", "vaucluse", "infirmier")
    assert "vaucluse.canicule" not in entitlement(member, NETWORK, by_kind).rooms
    by_key = ProvisioningConfig(rules=(Rule(rooms=("vaucluse.canicule",)),))
    assert entitlement(member, NETWORK, by_key).allows("vaucluse.canicule")
    invited = MemberInfo("@n:x", "vaucluse", "infirmier", frozenset({"vaucluse.canicule"}))
    assert entitlement(invited, NETWORK, ProvisioningConfig()).allows("vaucluse.canicule")


def test_profession_territory_and_user_rules_give_rooms_below_with_their_space():
    doctor = entitlement(MemberInfo("@d:x", "cpts", "medecin"), NETWORK, RULES)
    assert "pdsa.mmg" in doctor.rooms and "pdsa" in doctor.spaces
    assert doctor.allows("pdsa.mmg") and not doctor.allows("pdsa.responsables")
    elsewhere = entitlement(MemberInfo("@d:x", "sud", "medecin"), NETWORK, RULES)
    assert "pdsa.mmg" not in elsewhere.rooms  # the rule names vaucluse and below
    coordinator = entitlement(MemberInfo("@coord:x", "sud", "agent-ars"), NETWORK, RULES)
    assert "pdsa.responsables" in coordinator.rooms


def test_admitted_territories_and_group_grants_count():
    ent = entitlement(
        MemberInfo("@m:x", "cpts", "medecin", frozenset({"pdsa", "vaucluse.canicule"})),
        NETWORK,
        ProvisioningConfig(),
    )
    assert "pdsa" in ent.spaces and ent.allows("pdsa.responsables")
    assert "vaucluse.canicule" in ent.rooms


def test_invites_go_to_spaces_and_invite_only_rooms_joins_only_for_local_accounts():
    member = MemberInfo("@m:x", "vaucluse", "medecin", frozenset({"vaucluse.canicule"}))
    invited = deliveries(member, NETWORK, RULES, "x")
    assert [(d.key, d.op) for d in invited] == [
        ("sud", "invite"),
        ("vaucluse", "invite"),
        ("pdsa", "invite"),
        ("vaucluse.canicule", "invite"),
    ]
    forced = ProvisioningConfig(force_join=True, rules=RULES.rules)
    assert {d.op for d in deliveries(member, NETWORK, forced, "x")} == {"join"}
    remote = MemberInfo("@m:other.example", "vaucluse", "medecin")
    assert {d.op for d in deliveries(remote, NETWORK, forced, "x")} == {"invite"}


def test_the_planner_asks_members_in_once_and_never_back_after_they_left():
    member = MemberInfo("@m:x", "vaucluse", "infirmier")
    desired = desired_state(NETWORK, ("@admin:x",), [member], ProvisioningConfig(), "x")
    space = next(d for d in desired if d.key == "vaucluse")
    assert space.member_invites == ("@m:x",)

    def actual(membership: str | None) -> dict[str, ActualRoom]:
        rooms = {}
        for d in desired:
            room = ActualRoom(f"!{d.key}:x")
            if membership and d.key == "vaucluse":
                room.state[("m.room.member", "@m:x")] = {"membership": membership}
            rooms[d.key] = room
        return rooms

    mapping = {d.key: f"!{d.key}:x" for d in desired}

    def member_actions(membership: str | None) -> list[tuple[str, str]]:
        return [
            (a.op, a.key)
            for a in plan(desired, actual(membership), mapping, bot="@agora:x", server_name="x")
            if a.user == "@m:x"
        ]

    assert ("invite", "vaucluse") in member_actions(None)
    assert member_actions("leave") == member_actions("join") == member_actions("invite")
    assert ("invite", "vaucluse") not in member_actions("leave")


def test_rules_naming_nothing_are_refused_with_their_path():
    base = {
        "homeserver": {"server_name": "x"},
        "network": {"territories": [{"id": "a", "name": "A"}]},
    }
    for rule, message in [
        ({"rooms": ["a.nope"]}, "vetting.provisioning.rules[0].rooms[0]: expected a declared room"),
        ({"rooms": ["lounge"]}, "vetting.provisioning.rules[0].rooms[0]: expected a room kind"),
        ({"rooms": ["community"], "professions": ["astronaute"]}, "professions[0]"),
        ({"rooms": ["community"], "territories": ["b"]}, "territories[0]: expected a declared"),
        ({"rooms": []}, "vetting.provisioning.rules[0].rooms: expected at least one"),
    ]:
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_config({**base, "vetting": {"provisioning": {"rules": [rule]}}}, env={})


def test_the_networks_index_is_its_walk_read_once():
    # What every member's entitlement reads: lines (ancestors first), ids, private rooms,
    # parents before children, the same however often asked (walked once: a network is frozen).
    assert NETWORK.lines == {
        "sud": ("sud",),
        "vaucluse": ("sud", "vaucluse"),
        "pdsa": ("sud", "vaucluse", "pdsa"),
        "cpts": ("sud", "vaucluse", "cpts"),
    }
    assert NETWORK.find("pdsa") is NETWORK.by_id["pdsa"] and NETWORK.find("nowhere") is None
    assert [t.id for t, _ in NETWORK.walk()] == list(NETWORK.lines)
    assert list(NETWORK.walk()) == list(NETWORK.walk())
    assert NETWORK.private_keys() == {"vaucluse.canicule"}
    assert Network().lines == {} and list(Network().walk()) == []
