"""Provisioning of vetted members against a real Synapse: the rooms the rules give, joined
through Agora's Synapse module (force_join; the bot is no server admin) or invited to the
spaces, and re-provisioning when the rules change."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import yaml
from nio import JoinResponse

from tests.test_territories import eventually, room_ids
from tests.test_vetting import request_number

pytestmark = pytest.mark.integration


def tree(sfx: str) -> dict[str, Any]:
    """A department with an on-call room and a private group, and a CPTS below it."""
    return {
        "territories": [
            {
                "id": f"dep-{sfx}",
                "name": "Département",
                "rooms": [
                    {"id": "communaute", "name": "Dép · Communauté", "kind": "community"},
                    {"id": "annonces", "name": "Dép · Annonces", "kind": "announcements"},
                    {"id": "garde", "name": "Dép · Garde", "kind": "oncall"},
                    {
                        "id": "prive",
                        "name": "Dép · Groupe",
                        "kind": "group",
                        "visibility": "private",
                    },
                ],
                "territories": [
                    {
                        "id": f"cpts-{sfx}",
                        "name": "CPTS",
                        "rooms": [
                            {"id": "echanges", "name": "CPTS · Échanges", "kind": "community"}
                        ],
                    }
                ],
            }
        ]
    }


def rules(sfx: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"rooms": ["community", "announcements"]},
        {"professions": ["medecin"], "rooms": [f"dep-{sfx}.garde"]},
        *extra,
    ]


async def admitted(agora, applicant, first, second, line: str) -> int:
    """The applicant asks in a direct chat; both admins approve."""
    dm = await applicant.dm(agora.gateway.user_id)
    reply, reaction = await applicant.command(dm, line)
    assert reaction == "✅", reply.body
    number = request_number(reply.body)
    for admin in (first, second):
        _, reaction = await admin.command(agora.control.room_id, f"!approve {number}")
        assert reaction == "✅"
    await applicant.wait_for(
        lambda: [s for s in applicant.seen if s.room_id == dm and "Bonne nouvelle" in s.body],
        "the good news",
    )
    return number


async def memberships(agora, user_id: str) -> dict[str, str]:
    """key → the user's membership in each managed room."""
    out = {}
    for key, room_id in (await room_ids(agora)).items():
        members = await agora.gateway.members(room_id)
        if user_id in members:
            out[key] = members[user_id]
    return out


@pytest.fixture
async def admins(person):
    return await person("admin"), await person("admin")


async def start(start_bot, admins, sfx: str, **provisioning: Any):
    first, second = admins
    agora = await start_bot(
        [first.user_id, second.user_id],
        network=tree(sfx),
        vetting={"provisioning": {"rules": rules(sfx), **provisioning}},
    )
    for admin in admins:
        await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    return agora


@pytest.mark.topologies
async def test_force_join_lands_a_doctor_in_the_rooms_the_rules_give(person, start_bot, admins):
    sfx = secrets.token_hex(3)
    agora = await start(start_bot, admins, sfx, force_join=True)
    first, second = admins
    doctor = await person("medecin")
    line = (
        f'!join nom="Paul Garde" profession=medecin rpps=10101234564 territoire=cpts-{sfx} '
        f"email=p.garde.{sfx}@example.org"
    )
    await admitted(agora, doctor, first, second, line)
    given = {
        f"dep-{sfx}",
        f"cpts-{sfx}",
        f"dep-{sfx}.communaute",
        f"dep-{sfx}.annonces",
        f"cpts-{sfx}.echanges",
        f"dep-{sfx}.garde",
    }
    got = await eventually(
        lambda: _joined_exactly(agora, doctor.user_id, given), "the doctor in their rooms"
    )
    assert f"dep-{sfx}.prive" not in got  # a private group is not given by these rules
    info, _ = await first.command(agora.control.room_id, f"!info {doctor.user_id}")
    assert "Espaces et salons donnés" in info.body and f"%23dep-{sfx}.garde:" in info.body

    # The doctor reads an encrypted message in the on-call room (the admin was invited there).
    garde = (await room_ids(agora))[f"dep-{sfx}.garde"]
    await first.accept_invite((await room_ids(agora))[f"dep-{sfx}"])
    assert isinstance(await first.client.join(garde), JoinResponse)
    await doctor.wait_for(lambda: garde in doctor.client.rooms, "the on-call room in sync")
    await doctor.wait_for(
        lambda: first.user_id in doctor.client.rooms[garde].users, "the admin in the room"
    )
    said = await first.say(garde, "Garde de ce soir : qui est disponible ?")
    seen = await doctor.wait_for(lambda: [s for s in doctor.seen if s.event_id == said], "it")
    assert seen[0].encrypted and seen[0].body.startswith("Garde de ce soir")

    # A new rule gives the private group to CPTS members: reloading re-provisions them,
    # through one reconcile.
    data = yaml.safe_load(agora.config_path.read_text())
    data["vetting"]["provisioning"]["rules"] = rules(
        sfx, {"territories": [f"cpts-{sfx}"], "rooms": [f"dep-{sfx}.prive"]}
    )
    agora.config_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    agora.reload()
    await agora.settled()
    await eventually(
        lambda: _joined_exactly(agora, doctor.user_id, given | {f"dep-{sfx}.prive"}),
        "the doctor in the private group",
    )

    # Someone who leaves a room given to them is not brought back by the next reconcile.
    community = (await room_ids(agora))[f"dep-{sfx}.communaute"]
    await doctor.client.room_leave(community)
    await eventually(
        lambda: _membership_is(agora, community, doctor.user_id, "leave"), "the doctor gone"
    )
    outcome = await agora.territories.reconciler.reconcile(source="test")
    assert not [a for a in outcome.actions if a.user == doctor.user_id]
    assert (await agora.gateway.members(community))[doctor.user_id] == "leave"


async def test_without_force_join_members_are_invited_to_spaces_and_join_rooms_themselves(
    person, start_bot, admins
):
    sfx = secrets.token_hex(3)
    agora = await start(start_bot, admins, sfx)
    first, second = admins
    nurse = await person("infirmiere")
    line = (
        f'!join nom="Inès Soin" profession=infirmier adeli=123456789 territoire=dep-{sfx} '
        f"email=i.soin.{sfx}@example.org"
    )
    await admitted(agora, nurse, first, second, line)
    got = await eventually(
        lambda: _with(agora, nurse.user_id, {f"dep-{sfx}"}), "the invitation to the space"
    )
    # Invited to the space only: one invite, within Synapse's default burst of 5; the rooms
    # are restricted to the space's members.
    assert got == {f"dep-{sfx}": "invite"}
    ids = await room_ids(agora)
    told = [s.body for s in nurse.seen if "Vos espaces et salons" in s.body]
    assert told and f"#dep-{sfx}.communaute:" in told[0].replace("%23", "#")
    await nurse.accept_invite(ids[f"dep-{sfx}"])
    assert isinstance(await nurse.client.join(ids[f"dep-{sfx}.communaute"]), JoinResponse)
    await agora.settled()
    members = await agora.gateway.members(ids[f"dep-{sfx}.communaute"])
    assert members[nurse.user_id] == "join"  # and enforcement let her stay


async def _joined_exactly(agora, user_id: str, keys: set[str]) -> set[str] | None:
    got = await memberships(agora, user_id)
    joined = {k for k, m in got.items() if m == "join"}
    return joined if joined == keys else None


async def _with(agora, user_id: str, keys: set[str]) -> dict[str, str] | None:
    got = await memberships(agora, user_id)
    return got if set(got) >= keys else None


async def _membership_is(agora, room_id: str, user_id: str, membership: str) -> bool:
    return (await agora.gateway.members(room_id)).get(user_id) == membership
