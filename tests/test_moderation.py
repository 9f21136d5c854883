"""Revocation and ban rules against a real Synapse: a revoked member is out of every room and
cannot come back; a rule published in the policy room by hand is honoured, globs included."""

from __future__ import annotations

import re
import secrets

import aiohttp
import pytest
from nio import JoinError

from tests.test_enforcement import gone
from tests.test_territories import eventually, seated_member, state_of

pytestmark = pytest.mark.integration


async def test_a_revoked_member_is_out_of_every_room_and_cannot_come_back(person, start_bot):
    sfx = secrets.token_hex(3)
    agora, admin, member, ids = await seated_member(person, start_bot, sfx)
    control = agora.control.room_id
    dept, community = ids[f"vaucluse-{sfx}"], ids[f"vaucluse-{sfx}.communaute"]
    # A pending invitation elsewhere, to be withdrawn.
    await admin.accept_invite(ids[f"sud-{sfx}"])
    await admin.client.room_invite(ids[f"sud-{sfx}"], member.user_id)
    await member.wait_for(lambda: ids[f"sud-{sfx}"] in member.invites, "the region's invite")

    refused, reaction = await admin.command(control, f"!revoke {member.user_id}")
    assert reaction == "❌" and "motif" in refused.body.lower()  # a reason is required
    answer, reaction = await admin.command(
        control, f"!revoke {member.user_id} Radiation du tableau de l'Ordre"
    )
    assert reaction == "✅" and "Révocation" in answer.body
    done = await admin.wait_for(
        lambda: [s for s in admin.seen if s.room_id == control and "terminée" in s.body],
        "the end of the revocation",
    )
    assert "retiré·e de 3 espace(s) ou salon(s)" in done[0].body  # space, room, invitation
    for room in (dept, community, ids[f"sud-{sfx}"]):
        assert (await agora.gateway.members(room)).get(member.user_id) == "leave"
    await member.accept_direct_chat(agora.gateway.user_id)
    told = await member.wait_for(
        lambda: [s for s in member.seen if "révoqué" in s.body], "the member to be told"
    )
    assert told[0].encrypted and "Radiation du tableau de l'Ordre" in told[0].body

    # The ban rule is in the region's policy room.
    rule = (await state_of(agora, agora.moderation.policy.room_id)).get(
        "m.policy.rule.user", f"rule:{member.user_id}"
    )
    assert rule == {
        "entity": member.user_id,
        "recommendation": "m.ban",
        "reason": "Radiation du tableau de l'Ordre",
    }
    assert await agora.vetting.requests.member_territory(member.user_id) is None

    # Coming back: the rooms are closed to them, an invitation is undone, a request refused.
    assert isinstance(await member.client.join(community), JoinError)
    await admin.client.room_invite(dept, member.user_id)
    await gone(agora, dept, member.user_id)
    dm = await member.dm(agora.gateway.user_id)
    again, reaction = await member.command(
        dm,
        f'!join nom="M" profession=medecin rpps=10101234564 territoire=vaucluse-{sfx} '
        "email=m@example.org",
    )
    assert reaction == "❌" and "ne peut pas être enregistrée" in again.body


async def test_deactivate_closes_a_local_account(person, start_bot):
    sfx = secrets.token_hex(3)
    agora, admin, member, _ = await seated_member(person, start_bot, sfx)  # no server admin
    answer, reaction = await admin.command(
        agora.control.room_id, f"!revoke {member.user_id} Compte compromis --deactivate"
    )
    assert reaction == "✅" and "Révocation" in answer.body

    async def deactivated():
        """The account is closed: the member's session is gone and their password no longer
        logs them in (a deactivation removes both)."""
        url = member.client.homeserver
        async with aiohttp.ClientSession() as http:
            async with http.get(
                url + "/_matrix/client/v3/account/whoami",
                headers={"Authorization": f"Bearer {member.client.access_token}"},
            ) as resp:
                session_gone = resp.status == 401
            async with http.post(
                url + "/_matrix/client/v3/login",
                json={
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": member.user_id},
                    "password": member.password,
                },
            ) as resp:
                return session_gone and resp.status == 403

    await eventually(deactivated, "the account to be deactivated")
    remote, reaction = await admin.command(
        agora.control.room_id, "!revoke @someone:elsewhere.example Spam --deactivate"
    )
    assert reaction == "❌" and "comptes locaux" in remote.body


async def test_a_glob_rule_set_by_hand_waits_for_confirm_then_removes_whoever_it_matches(
    person, start_bot
):
    """A state event proves nothing of the device it came from: a rule set by hand in the
    region's list is held, with who it would remove, until an admin's (verified) !confirm."""
    sfx = secrets.token_hex(3)
    agora, admin, member, ids = await seated_member(person, start_bot, sfx)
    community = ids[f"vaucluse-{sfx}.communaute"]
    await admin.accept_invite(agora.moderation.policy.room_id)
    localpart = member.user_id[1:].split(":")[0]
    pattern = f"@{localpart[:-3]}*:{member.user_id.split(':', 1)[1]}"
    resp = await admin.client.room_put_state(
        agora.moderation.policy.room_id,
        "m.policy.rule.user",
        {"entity": pattern, "recommendation": "m.ban", "reason": "usurpation"},
        state_key="rule:glob",
    )
    assert not hasattr(resp, "status_code"), resp
    held = await admin.wait_for(
        lambda: [s for s in admin.seen if "Règle en attente" in s.body and pattern in s.body],
        "the held rule's notice",
    )
    assert member.user_id in held[0].body and "1 personne" in held[0].body
    assert (await agora.gateway.members(community)).get(member.user_id) == "join"
    number = int(re.search(r"n° (\d+)", held[0].body).group(1))
    answer, reaction = await admin.command(agora.control.room_id, f"!confirm {number}")
    assert reaction == "✅" and "appliquée" in answer.body
    await gone(agora, community, member.user_id)
    note = await admin.wait_for(
        lambda: [
            s for s in admin.seen if member.user_id in s.body and "règle de bannissement" in s.body
        ],
        "the note in the control room",
    )
    assert "usurpation" in note[0].body
    # Withdrawing it by hand waits for a confirmation too (peers would follow the withdrawal).
    await admin.client.room_put_state(
        agora.moderation.policy.room_id, "m.policy.rule.user", {}, state_key="rule:glob"
    )
    lifted = await admin.wait_for(
        lambda: [s for s in admin.seen if "Levée en attente" in s.body], "the held withdrawal"
    )
    assert not await _no_rules(agora)  # still in force meanwhile
    number = int(re.search(r"n° (\d+)", lifted[0].body).group(1))
    _, reaction = await admin.command(agora.control.room_id, f"!confirm {number}")
    assert reaction == "✅"
    await eventually(lambda: _no_rules(agora), "the withdrawn rule to leave the store", timeout=20)
    assert await agora.vetting.requests.member_territory(member.user_id)


async def _no_rules(agora) -> bool:
    return not await agora.moderation.policy.rules.rules({agora.moderation.policy.room_id})
