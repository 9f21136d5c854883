"""Evolution requests on a board shared by two regions on two real homeservers: filed and voted
on by each region's people through their own region's bot, merged and qualified by the club's
animator, ranked the same by both bots, and exported for the editor."""

from __future__ import annotations

import csv
import io
import secrets

import pytest

from bot.evolutions.board import REGIONS
from bot.store.vetting import VettingStore
from tests import test_federation as federation
from tests.conftest import agora_cli, vet
from tests.people import Person
from tests.test_territories import eventually

pytestmark = pytest.mark.integration

# The two regions of the federation tests (their homeservers start once for this module).
sqlite_regions = federation.sqlite_regions
workers_sud = federation.workers_sud
regions = federation.regions
cast = federation.cast


async def test_a_request_voted_on_in_two_regions_is_merged_qualified_ranked_and_exported(
    regions, cast, tmp_path
):
    sud, occitanie, _ = regions
    sfx = secrets.token_hex(3)
    admin_a = await cast.person(sud.hs, "admin")
    admin_b = await cast.person(occitanie.hs, "admin")
    animator_a = await cast.person(sud.hs, "animateur")
    doctor_a = await cast.person(sud.hs, "medecin")
    midwife_b = await cast.person(occitanie.hs, "sagefemme")
    nurse_b = await cast.person(occitanie.hs, "infirmiere")
    bot_a, bot_b = sud.bot_account[0], occitanie.bot_account[0]
    shared = await cast.club(
        sud, occitanie, sfx, (admin_a, admin_b), animators=(animator_a.user_id,)
    )
    region_a, region_b, room = shared.region_a, shared.region_b, shared.room
    club, home_b, club_alias = shared.club, shared.home_b, shared.alias
    # The owning region opened the board: its regions, as its config shares the room.
    published = {"regions": {sud.server: bot_a, occitanie.server: bot_b}, "weight": "region"}

    async def board_opened() -> bool:
        return await region_a.gateway.get_state(room, REGIONS) == published

    await eventually(board_opened, "the board opened by A", timeout=60)

    # Each region's people in the club: A's doctor asked in by A, B's by B's bot.
    await vet(region_a, doctor_a.user_id, club)
    await region_a.gateway.invite(room, doctor_a.user_id)
    await doctor_a.accept_invite(room)
    await animator_a.accept_invite(room)  # asked in by the reconciler, as an animator
    for someone in (midwife_b, nurse_b):
        await vet(region_b, someone.user_id, home_b)
    await region_b.federation.shared.follow()
    for someone in (midwife_b, nurse_b):
        await someone.accept_invite(room)
    for someone in (midwife_b, nurse_b):
        await doctor_a.wait_for(
            lambda who=someone: who.user_id in doctor_a.client.rooms[room].users,
            "B's people in the club",
            60,
        )

    typed: list[tuple[Person, str]] = []

    async def command(who: Person, text: str, expect: str = "✅") -> str:
        """A command in the club, answered by the sender's own region's bot only."""
        event_id = await who.say(room, text)
        typed.append((who, event_id))
        reply = await who.reply_to(event_id, timeout=60)
        reaction = await who.reaction_to(event_id, timeout=60)
        assert reaction == expect, reply.body
        own = bot_a if who.user_id.endswith(":" + sud.server) else bot_b
        assert reply.event.sender == own, (text, reply.event.sender)
        return reply.body

    said = await command(
        doctor_a, '!evolution proposer "Export PDF des comptes rendus" depuis la fiche patient'
    )
    assert "n°1" in said, said

    # B's bot reads A's request from the room's state over federation.
    async def seen_by_b(n: int) -> bool:
        return (await region_b.evolutions.board(room)).by_number(n) is not None

    await eventually(lambda: seen_by_b(1), "request 1 in B", timeout=60)
    said = await command(midwife_b, "!evolution voter 1")
    assert "n°1" in said and "1 vote" in said, said
    said = await command(midwife_b, '!evolution proposer "Exporter les comptes rendus en PDF"')
    assert "n°2" in said, said
    said = await command(nurse_b, '!evolution propose "Agenda partagé entre CPTS" for the clubs')
    assert "n°3" in said, said
    await command(midwife_b, "!evolution voter 2")  # she backs both: counted once after the merge
    await command(nurse_b, "!evolution voter 2")
    await command(nurse_b, "!evolution voter 3")
    said = await command(nurse_b, "!evolution voter 3", expect="❌")
    assert "déjà voté" in said, said

    async def seen_by_a_votes(n: int, count: int) -> bool:
        board = await region_a.evolutions.board(room)
        request = board.by_number(n)
        return request is not None and len(board.voters(request.id)) == count

    await eventually(lambda: seen_by_a_votes(1, 1), "B's vote for 1 in A", timeout=60)
    await eventually(lambda: seen_by_a_votes(2, 2), "B's votes for 2 in A", timeout=60)
    await command(doctor_a, "!evolution voter 1")

    # Only the club's animators, in the owning region, merge and qualify; not B's people.
    said = await command(nurse_b, "!evolution fusionner 2 1", expect="❌")
    said = await command(doctor_a, "!evolution fusionner 2 1", expect="❌")
    said = await command(animator_a, "!evolution fusionner 2 1")
    assert "n°2" in said and "n°1" in said and "3 vote" in said, said
    said = await command(animator_a, "!evolution statut 1 qualifiée vu à l'atelier de mars")
    assert "qualifiée" in said, said

    # A vote on the duplicate goes to the request it joined, where the nurse's vote already
    # is (hers for the duplicate); a withdrawal is taken back, and a vote given again.
    said = await command(nurse_b, "!evolution voter 2", expect="❌")
    assert "déjà voté pour la demande n°1" in said, said
    said = await command(nurse_b, "!evolution retirer 3")
    assert "retiré" in said, said
    await command(nurse_b, "!evolution voter 3")

    # Both bots read the same ranking from the room's state.
    async def same_listing() -> str | None:
        mine = await region_a.evolutions.listing(room, "", 1, "fr")
        theirs = await region_b.evolutions.listing(room, "", 1, "fr")
        return mine if mine == theirs and "vu à l'atelier de mars" in mine else None

    listing = await eventually(same_listing, "the same ranking in both regions", timeout=60)
    lines = [line for line in listing.splitlines() if line.startswith("•")]
    # #1: A's one voter of one (1) + B's two voters of two (1) = 2; #3: B's one of two.
    assert lines[0].startswith("• 1. n°1 «") and "score 2 (3 vote(s)" in lines[0], listing
    assert "avec #2" in lines[0] and "qualifiée" in lines[0], listing
    assert lines[1].startswith("• 2. n°3 «") and "score 0.50" in lines[1], listing
    assert len(lines) == 2, listing  # the duplicate is shown with #1, not on its own
    by_a = await command(doctor_a, "!evolutions")
    by_b = await command(midwife_b, "!evolutions top")
    assert by_a == by_b == listing

    # Nobody was answered twice: the other region's bot left each command to theirs.
    for who, event_id in typed:
        assert len(who.replies_to(event_id)) == 1, event_id

    # The editor's CSV, through the homeserver with A's session: votes per region.
    output = tmp_path / "evolutions.csv"
    done = await agora_cli(
        "export-evolutions",
        "--config",
        str(region_a.config_path),  # type: ignore[attr-defined]
        "--data-dir",
        str(region_a.data_dir),
        "--room",
        club_alias,
        "--output",
        str(output),
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert [r["number"] for r in rows] == ["1", "3"]
    first = rows[0]
    assert first[f"votes {sud.server}"] == "1" and first[f"votes {occitanie.server}"] == "2"
    assert first["status"] == "qualified" and first["note"] == "vu à l'atelier de mars"
    assert first["merged"] == "2" and first["votes"] == "3" and first["score"] == "2"
    assert rows[1][f"votes {sud.server}"] == "0" and rows[1][f"votes {occitanie.server}"] == "1"

    # A refused request takes no more votes, and B's people find it under its status.
    said = await command(animator_a, "!evolution statut 3 refusée hors du périmètre du logiciel")
    assert "refusée" in said, said

    async def refused_in_b() -> bool:
        board = await region_b.evolutions.board(room)
        request = board.by_number(3)
        return request is not None and board.status(request.id).status == "refused"

    await eventually(refused_in_b, "the refusal in B", timeout=60)
    said = await command(doctor_a, "!evolution voter 3", expect="❌")
    assert "close" in said, said
    said = await command(midwife_b, "!evolutions refusée")
    assert "n°3" in said and "hors du périmètre" in said and "n°1" not in said, said

    # Someone forgotten: their name off every board their region's bot wrote it on.
    _, reaction = await admin_a.command(
        region_a.control.room_id, f"!revoke {doctor_a.user_id} départ"
    )
    assert reaction == "✅"

    async def revoked() -> bool:
        return not await VettingStore(region_a.store).is_member(doctor_a.user_id)

    await eventually(revoked, "the revocation", 60)
    erased, reaction = await admin_a.command(
        region_a.control.room_id, f"!forget {doctor_a.user_id}"
    )
    assert reaction == "✅", erased.body

    async def forgotten_in_b() -> bool:
        board = await region_b.evolutions.board(room)
        votes = {u for users in board.votes.values() for u in users}
        proposers = {r.proposer for r in board.requests.values()}
        return doctor_a.user_id not in votes | proposers

    await eventually(forgotten_in_b, "the forgotten doctor off the board in B", timeout=60)
    board = await region_b.evolutions.board(room)
    assert board.by_number(1) is not None and board.by_number(1).proposer.endswith(sud.server)
