"""Enforcement against a real Synapse: nobody unvetted stays in a managed room."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from tests.test_territories import seated_member, tree

pytestmark = pytest.mark.integration


async def gone(agora, room_id: str, user: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (await agora.gateway.members(room_id)).get(user) in ("join", "invite"):
        assert time.monotonic() < deadline, f"{user} is still in {room_id}"
        await asyncio.sleep(0.2)


@pytest.fixture
async def territory(person, start_bot):
    sfx = secrets.token_hex(3)
    agora, admin, member, ids = await seated_member(person, start_bot, sfx)
    return agora, admin, member, sfx, ids


async def test_unvetted_person_invited_by_a_member_is_removed(territory, person):
    agora, admin, member, sfx, ids = territory
    outsider = await person("exterieur")
    community = ids[f"vaucluse-{sfx}.communaute"]
    resp = await member.client.room_invite(community, outsider.user_id)
    assert not hasattr(resp, "status_code"), resp  # members may invite: the bot decides
    await gone(agora, community, outsider.user_id)
    note = await admin.wait_for(
        lambda: [s for s in admin.seen if outsider.user_id in s.body and "retiré" in s.body],
        "the note in the control room",
    )
    assert f"vaucluse-{sfx}.communaute" in note[0].body
    assert any(
        e["action"] == "enforce.remove" and outsider.user_id in e["detail"]
        for e in await agora.store.audit_entries()
    )
    members = await agora.gateway.members(community)
    assert members[member.user_id] == "join"  # the vetted member who invited stays


async def test_member_of_a_territory_stays_out_of_a_neighbours_rooms(territory, person):
    agora, admin, member, sfx, ids = territory
    cpts_space = ids[f"cpts-{sfx}"]
    await admin.accept_invite(cpts_space)
    await admin.client.room_invite(cpts_space, member.user_id)  # vetted for Vaucluse, not CPTS
    await gone(agora, cpts_space, member.user_id)


async def test_people_who_slipped_in_while_the_bot_was_down_are_removed_at_start(
    territory, person, start_bot
):
    agora, admin, _, sfx, ids = territory
    outsider = await person("exterieur")
    await agora.stop()
    space = ids[f"vaucluse-{sfx}"]
    await admin.client.room_invite(space, outsider.user_id)
    await outsider.accept_invite(space)
    again = await start_bot(
        [admin.user_id], account=agora.account, data_dir=agora.data_dir, network=tree(sfx)
    )
    await gone(again, space, outsider.user_id, timeout=30)
