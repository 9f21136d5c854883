"""Matrix identifiers and room-version rules (``bot.matrix.ids``) and edits (``content``)."""

from bot.matrix.content import edit, notice
from bot.matrix.ids import creators, host_of, is_local, localpart, server_of


def test_ids_are_split_with_their_port_kept():
    assert server_of("@alice:example.org:8448") == "example.org:8448"
    assert server_of("#annuaire:localhost") == "localhost" and server_of("nobody") == ""
    assert localpart("@alice:example.org") == "alice"
    assert is_local("@a:region.fr", "region.fr") and not is_local("@a:region.fr:8448", "region.fr")
    assert not is_local("@a:evil-region.fr", "region.fr")  # not a suffix match
    assert host_of("example.org:8448") == "example.org" and host_of("[::1]:8448") == "[::1]:8448"


def test_creators_outrank_power_levels_from_room_version_12_only():
    create = {"sender": "@bot:x", "content": {"additional_creators": ["@co:x"]}}
    assert creators(create, "12") == {"@bot:x", "@co:x"}
    assert creators(create, "11") == frozenset() and creators(create, "org.custom") == frozenset()


def test_an_edit_of_a_notice_carries_the_new_text_and_notifies_nobody():
    changed = edit("$card", "Demande #3 — approuvée")
    assert changed["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$card"}
    assert changed["m.new_content"] == notice("Demande #3 — approuvée")
    assert changed["body"].startswith("* ") and changed["m.mentions"] == {}
