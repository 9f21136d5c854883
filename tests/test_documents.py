"""Documents against a real Synapse, with E2EE clients: files posted in two encrypted rooms of
a territory are indexed; `!docs` shows a member only the files of the rooms they joined (and
none posted before they were asked in), with links to the messages; a query filters; a
redacted file leaves the index; an animator's pins make one index message in the resources
room, edited (not posted again) when a second file is pinned; the bot's store never holds
an encrypted file's mxc URL or key; a file posted while the bot is down is indexed when it is
back, and a forgotten member's files leave the index."""

from __future__ import annotations

import re
import secrets
import sqlite3

import pytest
from nio import JoinResponse

from bot.store.vetting import VettingStore
from tests.conftest import vet
from tests.test_territories import eventually, room_ids

pytestmark = pytest.mark.integration

TITLE = "📌 Documents épinglés"


def region(sfx: str, animator: str) -> dict:
    return {
        "territories": [
            {
                "id": f"cpts-{sfx}",
                "name": "CPTS du Grand Avignon",
                "animators": [animator],
                "rooms": [
                    {"id": "communaute", "name": "CPTS · Échanges", "kind": "community"},
                    {"id": "canicule", "name": "CPTS · Canicule", "kind": "group",
                     "visibility": "open"},
                    {"id": "ressources", "name": "CPTS · Ressources", "kind": "resources"},
                ],
            }
        ]
    }  # fmt: skip


async def join(agora, someone, space: str, *rooms: str) -> None:
    """A vetted member in the territory's space, then in these of its rooms."""
    await agora.vetting.outcomes.provision(someone.user_id)
    if space not in someone.client.rooms:
        await someone.accept_invite(space)
    for room in rooms:
        assert isinstance(await someone.client.join(room), JoinResponse)
        await someone.wait_for(lambda r=room: r in someone.client.rooms, f"{room} joined")


async def seen_joining(agora, room: str, *people) -> None:
    """Until the bot has recorded these people joining the room: the files they may find are
    those of the rooms it saw them join."""

    async def recorded() -> bool:
        async with agora.store.db.execute(
            "SELECT count(*) FROM document_readers WHERE room_id = ? AND membership = 'join' "
            f"AND user_id IN ({', '.join('?' for _ in people)})",
            (room, *(p.user_id for p in people)),
        ) as cur:
            (n,) = await cur.fetchone()
        return n == len(people)

    await eventually(recorded, "the bot seeing them join", 60)


async def indexed(agora) -> list[tuple]:
    async with agora.store.db.execute(
        "SELECT id, name, room_id, event_id FROM documents ORDER BY id"
    ) as cur:
        return list(await cur.fetchall())


def number(listing: str, name: str) -> int:
    found = re.search(rf"n°(\d+) · {re.escape(name)}", listing)
    assert found, listing
    return int(found.group(1))


def link_to(room_id: str, event_id: str) -> str:
    return f"https://matrix.to/#/%21{room_id[1:]}/%24{event_id[1:]}"


async def test_files_are_found_in_the_askers_rooms_and_pinned_into_the_resources_room(
    person, start_bot
):
    sfx = secrets.token_hex(3)
    admin, animator = await person("admin"), await person("animatrice")
    alice, bob = await person("alice"), await person("bob")
    agora = await start_bot([admin.user_id], network=region(sfx, animator.user_id))
    await admin.accept_invite(agora.control.room_id)
    for member in (alice, bob):
        await vet(agora, member.user_id, f"cpts-{sfx}")
    await agora.settled()
    ids = await room_ids(agora)
    space = ids[f"cpts-{sfx}"]
    community, heat = ids[f"cpts-{sfx}.communaute"], ids[f"cpts-{sfx}.canicule"]
    resources = ids[f"cpts-{sfx}.ressources"]
    await join(agora, alice, space, community, heat)
    await join(agora, bob, space, community)
    await join(agora, animator, space, community, heat, resources)  # animators join too

    # Files posted in two encrypted rooms by their members.
    protocol = await alice.send_file(community, "Protocole AVK été.pdf", b"%PDF-1.7 avk")
    plan = await alice.send_file(heat, "Plan canicule 2027.csv", b"jour;equipe\n")
    phones = await bob.send_file(community, "Annuaire CPTS.csv", b"nom;tel\n")
    await eventually(lambda: _count(agora, 3), "three files indexed", 60)
    await seen_joining(agora, community, alice, bob, animator)
    await seen_joining(agora, heat, alice, animator)

    # Bob is not in the heat-wave group: its file is not his to find.
    bob_dm = await bob.dm(agora.gateway.user_id)
    listed, reaction = await bob.command(bob_dm, "!docs")
    assert reaction == "✅", listed.body
    assert "Protocole AVK été.pdf" in listed.body and "Annuaire CPTS.csv" in listed.body
    assert "Plan canicule" not in listed.body
    assert "CPTS · Échanges" in listed.body and alice.user_id in listed.body
    assert link_to(community, protocol) in listed.body
    assert listed.body.index("Annuaire") < listed.body.index("Protocole")  # newest first

    # Alice is in both; a query filters, accents and case aside.
    alice_dm = await alice.dm(agora.gateway.user_id)
    found, _ = await alice.command(alice_dm, "!docs CANICULE")
    assert "Plan canicule 2027.csv" in found.body and link_to(heat, plan) in found.body
    assert "Protocole" not in found.body and "Annuaire" not in found.body
    found, _ = await alice.command(alice_dm, "!files ete avk")
    assert "Protocole AVK été.pdf" in found.body and "Plan canicule" not in found.body
    # Asked in a room, where everyone reads the answer: that room's files only.
    here, _ = await alice.command(heat, "!docs")
    assert "Plan canicule 2027.csv" in here.body and "Protocole" not in here.body, here.body

    # Someone asked in after the files were posted finds none of them.
    carol = await person("carol")
    await vet(agora, carol.user_id, f"cpts-{sfx}")
    await join(agora, carol, space, community)
    carol_dm = await carol.dm(agora.gateway.user_id)
    nothing, _ = await carol.command(carol_dm, "!docs")
    assert nothing.body == "Aucun document dans vos salons pour l'instant.", nothing.body

    # Bob withdraws his file: out of the index.
    await bob.redact(community, phones)
    await eventually(lambda: _count(agora, 2), "the redacted file out of the index", 60)
    gone, _ = await bob.command(bob_dm, "!docs annuaire")
    assert "Aucun document ne correspond à « annuaire »" in gone.body, gone.body

    # The animator pins the protocol: one index message in the resources room, pinned there,
    # and the file pinned in its own room.
    animator_dm = await animator.dm(agora.gateway.user_id)
    mine, _ = await animator.command(animator_dm, "!docs")
    first = number(mine.body, "Protocole AVK été.pdf")
    pinned, reaction = await animator.command(animator_dm, f"!docs épingler {first}")
    assert reaction == "✅" and "épinglé dans CPTS · Ressources" in pinned.body, pinned.body
    board = await animator.wait_for(
        lambda: [s for s in animator.seen if s.room_id == resources and s.body.startswith(TITLE)],
        "the index message",
        60,
    )
    assert len(board) == 1 and "Protocole AVK été.pdf" in board[0].body
    assert link_to(community, protocol) in board[0].body
    index_id = board[0].event_id

    async def pinned_in(room: str, event_id: str) -> bool:
        state = await agora.gateway.get_state(room, "m.room.pinned_events") or {}
        return event_id in state.get("pinned", [])

    await eventually(lambda: pinned_in(community, protocol), "the file pinned in its room")
    await eventually(lambda: pinned_in(resources, index_id), "the index pinned")

    # A second pin edits that message in place; nothing is posted again.
    _, reaction = await animator.command(animator_dm, f"!docs pin {link_to(heat, plan)}")
    assert reaction == "✅"  # named by its link this time
    edit = await animator.wait_for(
        lambda: [
            s
            for s in animator.seen
            if s.room_id == resources
            and s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"
            and s.content["m.relates_to"].get("event_id") == index_id
        ],
        "the index message edited",
        60,
    )
    new = edit[-1].content["m.new_content"]["body"]
    assert "Protocole AVK été.pdf" in new and "Plan canicule 2027.csv" in new
    assert [s for s in animator.seen if s.room_id == resources and s.body.startswith(TITLE)] == (
        board
    )
    # Unpinned: the message edited once more, the file no longer pinned in its room.
    _, reaction = await animator.command(animator_dm, f"!docs désépingler {first}")
    assert reaction == "✅"
    edits = await animator.wait_for(
        lambda: [
            s
            for s in animator.seen
            if s.room_id == resources
            and s.content.get("m.relates_to", {}).get("event_id") == index_id
            and "Protocole" not in s.content["m.new_content"]["body"]
        ],
        "the index message edited again",
        60,
    )
    assert "Plan canicule 2027.csv" in edits[-1].content["m.new_content"]["body"]
    await eventually(lambda: _not(pinned_in(community, protocol)), "the file unpinned in its room")
    # A member who is no animator may not pin.
    refused, reaction = await bob.command(bob_dm, f"!docs épingler {first}")
    assert reaction == "❌", refused.body

    # The store holds the files' names, never where the encrypted files are nor their keys.
    sent = [s for s in alice.seen if s.event_id in (protocol, plan)]
    assert len(sent) == 2
    with sqlite3.connect(agora.data_dir / "agora.db") as db:
        dump = "\n".join(db.iterdump())
    assert "Protocole AVK été.pdf" in dump
    for s in sent:
        secret = s.content["file"]
        assert secret["url"] not in dump
        assert secret["key"]["k"] not in dump
        assert secret["iv"] not in dump


async def _count(agora, n: int) -> bool:
    return len(await indexed(agora)) == n


async def _not(check) -> bool:
    return not await check


async def test_a_file_posted_while_the_bot_is_down_is_indexed_once_it_is_back(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, animator, alice = await person("admin"), await person("anim"), await person("alice")
    network = region(sfx, animator.user_id)
    agora = await start_bot([admin.user_id], network=network)
    await admin.accept_invite(agora.control.room_id)
    await vet(agora, alice.user_id, f"cpts-{sfx}")
    await agora.settled()
    ids = await room_ids(agora)
    community = ids[f"cpts-{sfx}.communaute"]
    await join(agora, alice, ids[f"cpts-{sfx}"], community)
    dm = await alice.dm(agora.gateway.user_id)
    await alice.send_file(community, "Avant.pdf", b"%PDF before")
    await eventually(lambda: _count(agora, 1), "the first file indexed", 60)

    await agora.stop()
    posted = await alice.send_file(community, "Pendant l'arrêt.pdf", b"%PDF while down")
    again = await start_bot(
        [admin.user_id], account=agora.account, data_dir=agora.data_dir, network=network
    )
    await eventually(lambda: _count(again, 2), "the file posted while down indexed", 60)
    found, reaction = await alice.command(dm, "!docs arret")
    assert reaction == "✅" and "Pendant l'arrêt.pdf" in found.body, found.body
    assert link_to(community, posted) in found.body
    # Nothing indexed twice, however often the bot starts.
    assert [name for _, name, _, _ in await indexed(again)] == ["Avant.pdf", "Pendant l'arrêt.pdf"]

    # Revoked, then forgotten: their files leave the index.
    control = again.control.room_id
    _, reaction = await admin.command(control, f"!revoke {alice.user_id} départ")
    assert reaction == "✅"
    members = VettingStore(again.store)
    await eventually(lambda: _not(members.is_member(alice.user_id)), "the revocation", 60)
    assert len(await indexed(again)) == 2  # revoked: still in the rooms' history
    erased, reaction = await admin.command(control, f"!forget {alice.user_id}")
    assert reaction == "✅", erased.body
    assert await indexed(again) == []


async def test_a_territory_without_a_resources_room_pins_onto_the_one_above(person, start_bot):
    """A CPTS with no resources room of its own: its animator's pin lands in the resources
    room of the department above (the nearest up the tree), and that animator can take it off
    again though they do not animate the department."""
    sfx = secrets.token_hex(3)
    admin, lead, animator = await person("admin"), await person("dept"), await person("anim")
    alice = await person("alice")
    network = {
        "territories": [
            {
                "id": f"vaucluse-{sfx}",
                "name": "Vaucluse",
                "animators": [lead.user_id],
                "rooms": [{"id": "ressources", "name": "Vaucluse · Ressources",
                           "kind": "resources"}],
                "territories": [
                    {
                        "id": f"cpts-{sfx}",
                        "name": "CPTS du Grand Avignon",
                        "animators": [animator.user_id],
                        "rooms": [{"id": "communaute", "name": "CPTS · Échanges",
                                   "kind": "community"}],
                    }
                ],
            }
        ]
    }  # fmt: skip
    agora = await start_bot([admin.user_id], network=network)
    await admin.accept_invite(agora.control.room_id)
    for someone in (alice, animator, lead):
        await vet(agora, someone.user_id, f"cpts-{sfx}")
    await agora.settled()
    ids = await room_ids(agora)
    space, community = ids[f"cpts-{sfx}"], ids[f"cpts-{sfx}.communaute"]
    resources = ids[f"vaucluse-{sfx}.ressources"]
    await join(agora, alice, space, community)
    await join(agora, animator, space, community)
    await agora.vetting.outcomes.provision(lead.user_id)
    await lead.accept_invite(ids[f"vaucluse-{sfx}"])
    assert isinstance(await lead.client.join(resources), JoinResponse)
    await lead.wait_for(lambda: resources in lead.client.rooms, "the resources room joined")

    await seen_joining(agora, community, alice, animator)
    protocol = await alice.send_file(community, "Protocole plaies.pdf", b"%PDF plaies")
    await eventually(lambda: _count(agora, 1), "the file indexed", 60)
    dm = await animator.dm(agora.gateway.user_id)
    mine, _ = await animator.command(dm, "!docs")
    n = number(mine.body, "Protocole plaies.pdf")
    pinned, reaction = await animator.command(dm, f"!docs épingler {n}")
    assert reaction == "✅" and "épinglé dans Vaucluse · Ressources" in pinned.body, pinned.body
    (board,) = await lead.wait_for(
        lambda: [s for s in lead.seen if s.room_id == resources and s.body.startswith(TITLE)],
        "the index message in the department's resources room",
        60,
    )
    assert "Protocole plaies.pdf" in board.body and link_to(community, protocol) in board.body

    # The CPTS's animator takes it off again: the index edited, the file unpinned in its room.
    unpinned, reaction = await animator.command(dm, f"!docs désépingler {n}")
    assert reaction == "✅", unpinned.body
    await lead.wait_for(
        lambda: [
            s
            for s in lead.seen
            if s.room_id == resources
            and s.content.get("m.relates_to", {}).get("event_id") == board.event_id
            and "Protocole" not in s.content["m.new_content"]["body"]
        ],
        "the index message edited",
        60,
    )

    async def pinned_in_its_room() -> bool:
        state = await agora.gateway.get_state(community, "m.room.pinned_events") or {}
        return protocol in state.get("pinned", [])

    await eventually(lambda: _not(pinned_in_its_room()), "the file unpinned in its room", 60)
    # Taken off, it is not pinned anywhere: a second try says so.
    again, reaction = await animator.command(dm, f"!docs désépingler {n}")
    assert reaction == "❌" and "n'est épinglé dans aucun territoire" in again.body, again.body
