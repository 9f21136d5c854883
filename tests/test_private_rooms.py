"""Private means private, against a real Synapse: a private working group and a managerial room
keep their own member list; vetted members of the territory who are not on it are removed, and
members cannot bring anyone in. Open groups stay open to the territory's vetted members."""

from __future__ import annotations

import secrets

import pytest
from nio import JoinResponse

from tests.conftest import vet
from tests.test_enforcement import gone
from tests.test_territories import eventually, room_ids

pytestmark = pytest.mark.integration


def tree(sfx: str, regional: str, animator: str, manager: str) -> dict:
    return {
        "territories": [
            {
                "id": f"sud-{sfx}",
                "name": "Sud",
                "animators": [regional],
                "territories": [
                    {
                        "id": f"vaucluse-{sfx}",
                        "name": "Vaucluse",
                        "animators": [animator],
                        "rooms": [
                            {"id": "communaute", "name": "Communauté", "kind": "community"},
                            {
                                "id": "direction",
                                "name": "Équipe de direction",
                                "kind": "managerial",
                                "manager": manager,
                            },
                        ],
                    }
                ],
            }
        ]
    }


@pytest.fixture
async def territory(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, regional, animator, manager = (
        await person("admin"),
        await person("anim-sud"),
        await person("anim"),
        await person("directrice"),
    )
    agora = await start_bot(
        [admin.user_id],
        network=tree(sfx, regional.user_id, animator.user_id, manager.user_id),
    )
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    listed, outsider = await person("membre"), await person("voisine")
    for someone in (listed, outsider, manager):
        await vet(agora, someone.user_id, f"vaucluse-{sfx}")
    return agora, admin, regional, animator, manager, listed, outsider, sfx


async def test_a_private_group_keeps_its_own_list(territory):
    agora, admin, regional, animator, _, listed, outsider, sfx = territory
    dm = await animator.dm(agora.gateway.user_id)
    _, reaction = await animator.command(dm, '!group create "Cellule de crise" --private')
    assert reaction == "✅"
    key = f"vaucluse-{sfx}.cellule-de-crise"
    room = (await room_ids(agora))[key]
    _, reaction = await animator.command(dm, f"!group invite {key} {listed.user_id}")
    assert reaction == "✅"
    await listed.accept_invite(room)
    members = await agora.gateway.members(room)
    assert members.get(regional.user_id) is None  # an animator above is not asked in
    levels = await agora.gateway.get_state(room, "m.room.power_levels")
    assert levels["invite"] == 50 and regional.user_id not in levels["users"]

    # A member cannot bring anyone in; an invitation by hand to a vetted member of the
    # territory who is not on the list is withdrawn.
    refused = await listed.client.room_invite(room, outsider.user_id)
    assert getattr(refused, "status_code", None) == "M_FORBIDDEN"
    await admin.client.room_invite(room, outsider.user_id)
    await gone(agora, room, outsider.user_id)

    # The list, as its animator and a member see it.
    shown, reaction = await animator.command(dm, f"!group members {key}")
    assert reaction == "✅" and listed.user_id in shown.body and outsider.user_id not in shown.body
    member_dm = await listed.dm(agora.gateway.user_id)
    mine, reaction = await listed.command(member_dm, "!group list")
    assert reaction == "✅" and "Cellule de crise" in mine.body and "vous en êtes" in mine.body
    theirs, reaction = await regional.command(
        await regional.dm(agora.gateway.user_id), f"!group remove {key} {listed.user_id}"
    )
    assert reaction == "❌" and "groupe privé" in theirs.body  # not its keeper

    _, reaction = await animator.command(dm, f"!group remove {key} {listed.user_id}")
    assert reaction == "✅"
    await gone(agora, room, listed.user_id)
    _, reaction = await animator.command(dm, f"!group invite {key} {listed.user_id}")
    assert reaction == "✅"
    await listed.wait_for(lambda: room in listed.invites, "the new invitation")
    left, reaction = await listed.command(member_dm, f"!group leave {key}")
    assert reaction == "✅" and "quitté" in left.body
    await gone(agora, room, listed.user_id)

    plan, reaction = await animator.command(dm, f"!group archive {key} --dry-run")
    assert reaction == "✅" and "Rien n'est fait" in plan.body
    assert not (await agora.gateway.get_state(room, "m.room.name"))["name"].startswith("[")
    _, reaction = await animator.command(dm, f"!group archive {key}")
    assert reaction == "✅"

    async def archived() -> bool:
        name = (await agora.gateway.get_state(room, "m.room.name") or {}).get("name", "")
        return name.startswith("[Archivé]")

    await eventually(archived, "the group's room archived")
    listing, _ = await animator.command(dm, "!group list")
    assert "Cellule de crise" not in listing.body


async def test_an_open_group_stays_open_to_the_territorys_members(territory):
    agora, _, _, animator, _, _, outsider, sfx = territory
    dm = await animator.dm(agora.gateway.user_id)
    _, reaction = await animator.command(dm, '!group create "Canicule" --open')
    assert reaction == "✅"
    ids = await room_ids(agora)
    space, room = ids[f"vaucluse-{sfx}"], ids[f"vaucluse-{sfx}.canicule"]
    await outsider.accept_invite(space)
    assert isinstance(await outsider.client.join(room), JoinResponse)
    await agora.settled()
    _, reaction = await animator.command(dm, "!ping")  # the bot went past the join
    assert (await agora.gateway.members(room))[outsider.user_id] == "join"


async def test_a_manager_names_their_team_and_nobody_else_stays(territory):
    agora, admin, _, animator, manager, listed, outsider, sfx = territory
    key = f"vaucluse-{sfx}.direction"
    room = (await room_ids(agora))[key]
    await manager.accept_invite(room)
    dm = await manager.dm(agora.gateway.user_id)
    added, reaction = await manager.command(dm, f"!equipe ajouter {listed.user_id}")
    assert reaction == "✅" and "Équipe de direction" in added.body
    await listed.accept_invite(room)
    team, _ = await manager.command(dm, "!team list")
    assert listed.user_id in team.body
    # Neither the territory's animator nor a vetted member off the team belongs here.
    await admin.client.room_invite(room, outsider.user_id)
    await admin.client.room_invite(room, animator.user_id)
    await gone(agora, room, outsider.user_id)
    await gone(agora, room, animator.user_id)
    assert (await agora.gateway.members(room))[listed.user_id] == "join"
    refused, reaction = await animator.command(
        await animator.dm(agora.gateway.user_id), f"!team add {outsider.user_id}"
    )
    assert reaction == "❌" and "ne gérez aucun" in refused.body  # not a manager
    _, reaction = await manager.command(dm, f"!team remove {listed.user_id}")
    assert reaction == "✅"
    await gone(agora, room, listed.user_id)
