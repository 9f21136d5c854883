"""Federation without a server: shared rooms in the config, the desired state and policy for
them, the peers' side, and the directory's entries and search."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config
from bot.federation.directory import Entry, folded, matches
from bot.federation.shared import wanted
from bot.moderation.policy import lineage, may_be_in, may_be_in_peer_room
from bot.territories.desired import ANIMATOR, desired_state
from bot.territories.model import SharedRoomDecl
from bot.vetting.provisioning import MemberInfo, deliveries

SUD, OCC, BRE = "sud.example:8448", "occitanie.example", "bretagne.example"
BOT, PEER = f"@agora:{SUD}", f"@agora:{OCC}"
ADMIN = f"@admin:{SUD}"


def config(network, federation=None):
    return parse_config(
        {
            "homeserver": {
                "embedded": False,
                "url": "https://sud.example",
                "server_name": SUD,
                "password": "x",
                "module_secret": "m" * 32,
            },
            "admins": [ADMIN],
            "network": network,
            "federation": federation
            if federation is not None
            else {"allowed_servers": [OCC, BRE], "peer_bots": [PEER]},
        },
        env={},
    )


def network(shared_room=(OCC,), shared_territory=()):
    return {
        "territories": [
            {
                "id": "paca",
                "name": "Provence",
                "rooms": [{"id": "communaute", "name": "Communauté", "kind": "community"}],
                "territories": [
                    {
                        "id": "club",
                        "name": "Club inter-régional",
                        "shared_with": list(shared_territory),
                        "rooms": [
                            {
                                "id": "echanges",
                                "name": "Échanges",
                                "kind": "community",
                                "shared_with": list(shared_room),
                            },
                            {"id": "docs", "name": "Documents", "kind": "announcements"},
                        ],
                    }
                ],
            }
        ]
    }


def test_a_shared_room_is_invite_only_and_asks_the_peer_bot_in_at_50():
    cfg = config(network())
    rooms = {
        d.key: d
        for d in desired_state(cfg.network, cfg.admins, peer_bot=cfg.federation.peer_bot_for)
    }
    club = rooms["club.echanges"]
    assert club.join_rule == "invite"
    assert club.users[PEER] == ANIMATOR
    assert PEER in club.invites and ADMIN in club.invites
    # the region's own rooms do not concern the peer
    assert PEER not in rooms["club.docs"].users and rooms["club.docs"].join_rule == "restricted"
    assert PEER not in rooms["club"].invites


def test_a_shared_territory_shares_its_space_its_rooms_and_what_is_below():
    cfg = config(network(shared_room=(), shared_territory=(OCC,)))
    assert cfg.network.shared_with("club") == (OCC,)
    assert cfg.network.shared_with("club.docs") == (OCC,)
    assert (
        cfg.network.shared_with("paca") == () and cfg.network.shared_with("paca.communaute") == ()
    )
    rooms = {
        d.key: d
        for d in desired_state(cfg.network, cfg.admins, peer_bot=cfg.federation.peer_bot_for)
    }
    assert PEER in rooms["club"].invites and rooms["club"].users[PEER] == ANIMATOR
    assert rooms["club.docs"].join_rule == "invite" and PEER in rooms["club.docs"].invites
    assert sorted(cfg.network.shared()) == ["club", "club.docs", "club.echanges"]


def test_own_members_given_a_shared_room_are_invited_to_it():
    cfg = config(network())
    member = MemberInfo(f"@medecin:{SUD}", "club", "medecin")
    steps = deliveries(member, cfg.network, cfg.vetting.provisioning, SUD)
    assert ("club.echanges", "invite") in {(d.key, d.op) for d in steps}


@pytest.mark.parametrize(
    ("federation", "expected"),
    [
        ({"allowed_servers": [BRE], "peer_bots": [PEER]}, "federation.allowed_servers"),
        ({"allowed_servers": [OCC]}, "federation.peer_bots"),
    ],
)
def test_sharing_with_a_server_that_is_not_a_known_peer_is_refused_by_path(federation, expected):
    with pytest.raises(ConfigError) as err:
        config(network(), federation)
    assert "network.territories[0].territories[0].rooms[0].shared_with" in str(err.value)
    assert expected in str(err.value)


def test_sharing_with_the_own_server_is_refused():
    with pytest.raises(ConfigError, match="not this region's own"):
        config(network(shared_room=(SUD,)))


def test_shared_room_declarations_are_checked():
    fed = {
        "allowed_servers": [OCC],
        "shared_rooms": [{"room": "#club.echanges:occitanie.example", "professions": ["medecin"]}],
    }
    cfg = config(network(shared_room=()), fed)
    assert cfg.federation.shared_rooms[0] == SharedRoomDecl(
        "#club.echanges:occitanie.example", professions=("medecin",)
    )
    with pytest.raises(ConfigError, match=r"shared_rooms\[0\].room"):
        config(network(shared_room=()), {"shared_rooms": [{"room": "club"}]})
    with pytest.raises(ConfigError, match=r"shared_rooms\[0\].professions\[0\]"):
        config(network(shared_room=()), {"shared_rooms": [{"room": "#a:b", "professions": ["x"]}]})
    with pytest.raises(ConfigError, match=r"shared_rooms\[0\].territories\[0\]"):
        config(network(shared_room=()), {"shared_rooms": [{"room": "#a:b", "territories": ["x"]}]})
    with pytest.raises(ConfigError, match=r"federation.shared_room: expected no such key"):
        config(network(shared_room=()), {"shared_room": []})


def test_the_owner_admits_people_of_the_servers_a_room_is_shared_with_and_nobody_else():
    cfg = config(network())

    def may(user, key, member=None):
        return may_be_in(user, key, network=cfg.network, admins=cfg.admins, bot=BOT, member=member)

    assert may(f"@sagefemme:{OCC}", "club.echanges")  # vetted by their own region
    assert may(PEER, "club.echanges")
    assert not may(f"@intrus:{BRE}", "club.echanges")  # allowed to federate, not shared with
    assert not may(f"@sagefemme:{OCC}", "club.docs")  # not a shared room
    assert not may(f"@inconnu:{SUD}", "club.echanges")  # own people need vetting here
    assert may(f"@medecin:{SUD}", "club.echanges", MemberInfo(f"@medecin:{SUD}", "club"))


def test_a_peer_bot_answers_in_a_shared_room_for_its_own_server_only():
    cfg = config(network())

    def may(user, member=None):
        return may_be_in_peer_room(
            user, network=cfg.network, admins=cfg.admins, bot=BOT, member=member
        )

    assert may(f"@quelquun:{OCC}")  # the owner's business
    assert not may(f"@inconnu:{SUD}")
    assert may(f"@medecin:{SUD}", MemberInfo(f"@medecin:{SUD}", "paca"))
    assert may(ADMIN)


def test_a_declaration_picks_members_like_a_provisioning_rule():
    cfg = config(network(shared_room=()))
    lines = lineage(cfg.network)
    decl = SharedRoomDecl("#x:occitanie.example", professions=("medecin",), territories=("paca",))
    assert wanted(decl, MemberInfo(f"@a:{SUD}", "club", "medecin"), lines)  # club is below paca
    assert not wanted(decl, MemberInfo(f"@b:{SUD}", "club", "infirmier"), lines)
    assert wanted(SharedRoomDecl("#x:o"), MemberInfo(f"@c:{SUD}", "paca", "infirmier"), lines)


def test_directory_entries_are_read_strictly():
    content = {
        "user_id": f"@m:{OCC}",
        "name": "Marie Curie",
        "profession": "medecin",
        "territories": ["Hérault"],
        "region": "ignored: the id says where they are",
    }
    entry = Entry.from_content(f"@m:{OCC}", content)
    assert entry is not None and entry.region == OCC and entry.territories == ("Hérault",)
    assert Entry.from_content(f"@m:{OCC}", {}) is None  # withdrawn
    assert Entry.from_content(f"@other:{OCC}", content) is None  # keyed by someone else
    assert Entry.from_content(f"@m:{OCC}", {**content, "territories": "Hérault"}) is None
    assert set(entry.content()) == {"user_id", "name", "profession", "territories", "region"}


def test_search_ignores_case_and_accents_and_needs_every_word():
    entry = Entry(f"@m:{OCC}", "Élodie Durand", "sage-femme", ("Hérault", "Occitanie"), OCC)
    labels = {"sage-femme": "sage-femme"}
    assert folded("HÉRAULT") == "herault"
    assert matches(entry, "elodie herault", labels)
    assert matches(entry, "Sage-Femme", labels)
    assert matches(entry, "occitanie.example", labels)
    assert not matches(entry, "elodie gard", labels)
    assert matches(entry, "midwife", {"sage-femme": "midwife"})
