"""Each person's language, against a real Synapse: `!langue en` (`!language`) makes every
answer and notice to that person English, in a direct chat as in the control room, while what
all admins read (cards, notices) stays in the region's language; `!forget` erases the choice."""

from __future__ import annotations

import secrets

import pytest

from tests.test_territories import eventually, seated_member
from tests.test_vetting import join_line, request_number

pytestmark = pytest.mark.integration


async def test_each_person_is_answered_and_told_in_their_own_language(person, start_bot):
    sfx = secrets.token_hex(3)
    agora, admin, member, _ids = await seated_member(person, start_bot, sfx)
    control = agora.control.room_id
    dm = await member.dm(agora.gateway.user_id)

    current, reaction = await member.command(dm, "!langue")
    assert reaction == "✅" and current.body.startswith("Je vous réponds en français"), current.body
    bad, reaction = await member.command(dm, "!langue klingon")
    assert reaction == "❌" and "Langue inconnue : « klingon »" in bad.body and "fr, en" in bad.body
    chosen, reaction = await member.command(dm, "!language en")
    assert reaction == "✅" and chosen.body == "Noted: I will answer you in English from now on."

    async def marked_read() -> bool:  # a handled command gets the bot's read receipt
        receipt = member.client.rooms[dm].read_receipts.get(agora.gateway.user_id)
        return receipt is not None and receipt.event_id == chosen.reply_to

    await eventually(marked_read, "the bot's read receipt on the command")
    unknown, reaction = await member.command(dm, "!nosuchcommand")
    assert reaction == "❌" and "Unknown command" in unknown.body, unknown.body
    helped, _ = await member.command(dm, "!help ping")
    assert "Check that the bot answers" in helped.body, helped.body
    # What a member may do in a direct chat: nothing of the admins'.
    overview, _ = await member.command(dm, "!help")
    assert overview.body.startswith("What you can do here (direct chat)"), overview.body
    assert "For every member" in overview.body and "!ack <alert>" in overview.body
    assert "Admins" not in overview.body and "!approve" not in overview.body

    # An admin who reads English: their own answers in the control room are English …
    said, reaction = await admin.command(control, "!language en")
    assert reaction == "✅" and "English" in said.body
    status, reaction = await admin.command(control, "!status")
    assert reaction == "✅" and "Up for:" in status.body and "En service" not in status.body
    # … but a card, which every admin reads, stays in the region's language.
    applicant = await person("candidate")
    reply, reaction = await applicant.command(
        await applicant.dm(agora.gateway.user_id), join_line(sfx, email=f"c.{sfx}@example.org")
    )
    assert reaction == "✅" and "Demande" in reply.body  # the applicant chose nothing: French
    number = request_number(reply.body)
    card = await admin.wait_for(
        lambda: [s for s in admin.seen if s.room_id == control and f"Demande #{number}" in s.body],
        "the card, in French",
    )
    assert card

    # A notice to the member: their revocation, in English.
    _, reaction = await admin.command(control, f"!revoke {member.user_id} Left the region")
    assert reaction == "✅"
    told = await member.wait_for(
        lambda: [s for s in member.seen if "revoked" in s.body], "the revocation, in English"
    )
    assert told[0].body == "Your access to the network has been revoked. Reason: Left the region"
    assert await agora.store.language_of(member.user_id) == "en"
    _, reaction = await admin.command(control, f"!forget {member.user_id}")
    assert reaction == "✅"
    assert await agora.store.language_of(member.user_id) is None  # erased with the rest
