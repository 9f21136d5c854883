"""A poll across two federated regions: posted by region A's bot into the club room it shares
with region B, answered there by a member of A and a member of B (from her own homeserver,
decrypting and encrypting on her side), her change of mind counted and not her vote sent
after the end; the end and the combined result reach her over federation."""

from __future__ import annotations

import re
import secrets

import pytest
from nio import UnknownEvent

from bot.polls.model import END_TYPE, START_TYPE, TEXT
from bot.store.polls import PollStore
from tests.conftest import vet
from tests.test_federation import cast, regions, sqlite_regions  # noqa: F401 - fixtures
from tests.test_polls import of_type, respond
from tests.test_territories import eventually

pytestmark = pytest.mark.integration


async def test_a_poll_in_a_shared_room_counts_both_regions_members(
    regions,  # noqa: F811
    cast,  # noqa: F811
):
    sud, occitanie, _ = regions
    sfx = secrets.token_hex(3)
    admin_a = await cast.person(sud.hs, "admin")
    admin_b = await cast.person(occitanie.hs, "admin")
    nurse_a = await cast.person(sud.hs, "ide")
    midwife_b = await cast.person(occitanie.hs, "sagefemme")
    for someone in (nurse_a, midwife_b):  # the poll's events are read as they come
        someone.client.add_event_callback(someone._on_event, UnknownEvent)

    async def vetted(region_b) -> None:
        await vet(region_b, midwife_b.user_id, f"herault-{sfx}")

    shared = await cast.club(
        sud, occitanie, sfx, (admin_a, admin_b), b_users=(midwife_b.user_id,), b_started=vetted
    )
    region_a, room, club = shared.region_a, shared.room, shared.club
    await midwife_b.wait_for(lambda: room in midwife_b.invites, "asked into the club", 60)
    await midwife_b.accept_invite(room)
    await vet(region_a, nurse_a.user_id, club)
    await region_a.vetting.outcomes.provision(nurse_a.user_id)
    await nurse_a.wait_for(lambda: room in nurse_a.invites or room in nurse_a.client.rooms, "")
    if room not in nurse_a.client.rooms:
        await nurse_a.accept_invite(room)
    for someone in (nurse_a, midwife_b):
        await region_a.gateway.wait_for_member(room, someone.user_id)

    control = region_a.control.room_id
    answer, reaction = await admin_a.command(
        control, f'!vote "Atelier en visio ?" "Oui" "Non" --territoire {club}'
    )
    assert reaction == "✅" and "publié dans 1 salon" in answer.body, answer.body
    n = int(re.search(r"n°(\d+)", answer.body).group(1))
    polls = PollStore(region_a.store)

    # The poll reaches B's midwife as a poll, decrypted on her homeserver.
    (start,) = await midwife_b.wait_for(
        lambda: of_type(midwife_b, room, START_TYPE), "the poll, over federation", 90
    )
    assert start.encrypted
    content = start.content[START_TYPE]
    assert content["question"][TEXT] == "Atelier en visio ?"
    ids = {a[TEXT]: a["id"] for a in content["answers"]}

    async def recorded(k: int) -> bool:
        return len(await polls.responses(n)) >= k

    # Both regions answer; she changes her mind: her latest response is her vote.
    await respond(nurse_a, room, start.event_id, ids["Oui"])
    await respond(midwife_b, room, start.event_id, ids["Non"])
    await respond(midwife_b, room, start.event_id, ids["Oui"])
    await eventually(lambda: recorded(3), "the responses from both servers recorded", 90)
    voters = {r.sender for r in await polls.responses(n)}
    assert voters == {nurse_a.user_id, midwife_b.user_id}

    answer, reaction = await admin_a.command(control, f"!vote fin {n}")
    assert reaction == "✅" and f"Vote n°{n} clos" in answer.body, answer.body
    (end,) = await midwife_b.wait_for(
        lambda: of_type(midwife_b, room, END_TYPE), "the poll's end, over federation", 90
    )
    assert end.content["m.relates_to"] == {"rel_type": "m.reference", "event_id": start.event_id}
    # Sent after the end: it reaches the bot but does not count.
    await respond(midwife_b, room, start.event_id, ids["Non"])
    await eventually(lambda: recorded(4), "the late response received", 90)

    region_a.jobs.advance(region_a.config.polls.settle + 1)
    (result,) = await midwife_b.wait_for(
        lambda: [s for s in midwife_b.seen if s.room_id == room and s.body.startswith("📊")],
        "the combined result, over federation",
        90,
    )
    assert result.reply_to == start.event_id
    assert "2 personnes ont voté dans 1 salon" in result.body, result.body
    assert "- Oui : 2 voix (100 %)" in result.body and "- Non : 0 voix (0 %)" in result.body
