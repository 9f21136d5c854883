"""Animators against a real Synapse: admitting a vetted member into their territory, endorsing
someone new, removing, and working groups — without admins, in a direct chat with the bot."""

from __future__ import annotations

import secrets

import pytest
from nio import JoinError, JoinResponse

from tests.conftest import vet
from tests.test_enforcement import gone
from tests.test_territories import eventually, room_ids
from tests.test_vetting import request_number

pytestmark = pytest.mark.integration


def region(sfx: str, animator: str) -> dict:
    return {
        "territories": [
            {
                "id": f"sud-{sfx}",
                "name": "Sud",
                "territories": [
                    {
                        "id": f"vaucluse-{sfx}",
                        "name": "Vaucluse",
                        "animators": [animator],
                        "rooms": [
                            {
                                "id": "communaute",
                                "name": "Vaucluse · Communauté",
                                "kind": "community",
                            }
                        ],
                    },
                    {
                        "id": f"var-{sfx}",
                        "name": "Var",
                        "rooms": [
                            {"id": "communaute", "name": "Var · Communauté", "kind": "community"}
                        ],
                    },
                ],
            }
        ]
    }


@pytest.fixture
async def animated(person, start_bot):
    sfx = secrets.token_hex(3)
    first, second, animator = await person("admin"), await person("admin"), await person("anim")
    agora = await start_bot([first.user_id, second.user_id], network=region(sfx, animator.user_id))
    for admin in (first, second):
        await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    dm = await animator.dm(agora.gateway.user_id)
    agora.second_admin = second  # type: ignore[attr-defined]
    return agora, first, animator, dm, sfx


async def test_an_animator_admits_a_vetted_member_and_removes_them(animated, person):
    agora, _, animator, dm, sfx = animated
    member = await person("membre")
    await vet(agora, member.user_id, f"var-{sfx}")
    ids = await room_ids(agora)
    space, community = ids[f"vaucluse-{sfx}"], ids[f"vaucluse-{sfx}.communaute"]

    refused, reaction = await animator.command(dm, f"!admit {member.user_id} var-{sfx}")
    assert reaction == "❌" and "Vous n'animez pas « Var »" in refused.body
    answer, reaction = await animator.command(dm, f"!admit {member.user_id}")
    assert reaction == "✅" and "admis·e dans « Vaucluse »" in answer.body
    await member.accept_invite(space)
    assert isinstance(await member.client.join(community), JoinResponse)
    await agora.settled()
    assert (await agora.gateway.members(community))[member.user_id] == "join"  # allowed now

    answer, reaction = await animator.command(dm, f"!remove {member.user_id}")
    assert reaction == "✅" and "2 espace(s) ou salon(s)" in answer.body
    for room in (space, community):
        assert (await agora.gateway.members(room))[member.user_id] == "leave"
    assert isinstance(await member.client.join(community), JoinError)
    assert await agora.vetting.requests.member_territory(member.user_id) == f"var-{sfx}"

    staff, reaction = await animator.command(dm, f"!remove {agora.config.admins[0]}")
    assert reaction == "❌" and "pas de retrait" in staff.body


async def test_an_animators_endorsement_is_on_the_card_but_two_admins_decide(animated, person):
    """The agency's rule: two of its own project officers. An animator's endorsement is shown,
    and counts only when `vetting.animator_endorsement_counts` says so (off by default)."""
    agora, first, animator, dm, sfx = animated
    newcomer = await person("nouvelle")
    missing, reaction = await animator.command(dm, f"!admit {newcomer.user_id}")
    assert reaction == "❌" and "n'est pas membre vérifié·e" in missing.body
    fields = f'nom="Léa Martin" profession=sage-femme rpps=10101234564 email=lea.{sfx}@example.org'
    outside, reaction = await animator.command(
        dm, f"!admit {newcomer.user_id} {fields} territoire=var-{sfx}"
    )
    assert reaction == "❌" and "territoire : « var-" in outside.body  # the field is named
    assert "n'est pas un territoire que vous animez" in outside.body
    answer, reaction = await animator.command(dm, f"!admit {newcomer.user_id} {fields}")
    assert reaction == "✅" and "0/2 validation(s)" in answer.body
    number = request_number(answer.body)
    request = await agora.vetting.get(number)
    assert (request.territory, request.submitted_by) == (f"vaucluse-{sfx}", animator.user_id)
    card = await first.wait_for(
        lambda: [s for s in first.seen if f"Demande #{number} — Léa Martin" in s.body],
        "the card",
    )
    assert f"Appuyée par l'animateur·rice : {animator.user_id}" in card[0].body

    answer, reaction = await first.command(agora.control.room_id, f"!approve {number}")
    assert reaction == "✅" and "(1/2)" in answer.body  # one admin is not enough
    second = agora.second_admin
    answer, reaction = await second.command(agora.control.room_id, f"!approve {number}")
    assert reaction == "✅" and "acceptée" in answer.body
    space = (await room_ids(agora))[f"vaucluse-{sfx}"]
    await newcomer.wait_for(lambda: space in newcomer.invites, "the invitation to the space")
    await newcomer.accept_direct_chat(agora.gateway.user_id)
    await newcomer.wait_for(
        lambda: [s for s in newcomer.seen if "Bonne nouvelle" in s.body], "the good news"
    )


async def test_an_animator_makes_a_private_group_and_invites_a_member(animated, person):
    agora, _, animator, dm, sfx = animated
    member, outsider = await person("membre"), await person("exterieur")
    await vet(agora, member.user_id, f"vaucluse-{sfx}")

    unclear, reaction = await animator.command(dm, '!group create "Cellule canicule"')
    assert reaction == "❌" and "--open" in unclear.body
    answer, reaction = await animator.command(dm, '!group create "Cellule canicule" --private')
    assert reaction == "✅" and f"vaucluse-{sfx}.cellule-canicule" in answer.body
    key = f"vaucluse-{sfx}.cellule-canicule"
    group_room = (await room_ids(agora))[key]
    state = await agora.gateway.get_state(group_room, "m.room.join_rules")
    assert state["join_rule"] == "invite"
    assert await agora.gateway.get_state(group_room, "m.room.encryption")
    space = (await room_ids(agora))[f"vaucluse-{sfx}"]
    assert await agora.gateway.get_state(space, "m.space.child", group_room)

    refused, reaction = await animator.command(dm, f"!group invite {key} {outsider.user_id}")
    assert reaction == "❌" and "pas membre vérifié·e" in refused.body
    answer, reaction = await animator.command(
        dm, f"!group invite cellule-canicule {member.user_id}"
    )
    assert reaction == "✅" and "Cellule canicule" in answer.body
    await member.accept_invite(group_room)
    await animator.accept_invite(group_room)  # animators are asked into private groups
    await member.wait_for(
        lambda: animator.user_id in member.client.rooms[group_room].users, "the animator"
    )
    said = await animator.say(group_room, "Point canicule demain 9 h")
    seen = await member.wait_for(lambda: [s for s in member.seen if s.event_id == said], "it")
    assert seen[0].encrypted
    await agora.settled()
    assert (await agora.gateway.members(group_room))[member.user_id] == "join"

    # A second plan keeps the group (it is part of the network now), and a restart too.
    outcome = await agora.territories.reconciler.reconcile(dry_run=True)
    assert not [a for a in outcome.actions if a.key == key]

    # Someone let in by a member without the animator is removed, as anywhere.
    await member.client.room_invite(group_room, outsider.user_id)
    await gone(agora, group_room, outsider.user_id)
    await eventually(lambda: _is_group(agora, key), "the group in the store")


async def _is_group(agora, key: str) -> bool:
    return any(g.key == key for g in await agora.animation.groups.all())
