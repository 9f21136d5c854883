"""A request's discussion in its card's thread, against a real Synapse with E2EE clients: the
bot's answers to a ❌, an admin's question relayed to the applicant and their answer relayed
back, and a command typed in the thread answered there; the card stays the summary."""

from __future__ import annotations

import pytest

from tests.test_vetting import file_request, two_admins

pytestmark = pytest.mark.integration


def in_thread_of(seen, root: str) -> bool:
    relation = seen.content.get("m.relates_to", {})
    return relation.get("rel_type") == "m.thread" and relation.get("event_id") == root


async def test_a_requests_discussion_happens_in_its_cards_thread(person, start_bot):
    agora, first, second, sfx = await two_admins(person, start_bot)
    control = agora.control.room_id
    nurse = await person("infirmiere")
    dm, number, card = await file_request(agora, nurse, first, sfx)

    # ❌ on the card: the reason is asked for in its thread, not in the room's timeline.
    await second.react(control, card.event_id, "❌")
    asked = await second.wait_for(
        lambda: [s for s in second.seen if in_thread_of(s, card.event_id)], "the reason asked"
    )
    assert f"#{number}" in asked[0].body and "motif" in asked[0].body.lower(), asked[0].body

    # A question relayed to the applicant; their answer comes back into the thread.
    sent, reaction = await first.command(
        control, f"!question {number} Dans quelle structure exercez-vous le mercredi ?"
    )
    assert reaction == "✅" and nurse.user_id in sent.body
    question = await nurse.wait_for(
        lambda: [s for s in nurse.seen if s.room_id == dm and s.body.startswith("❓")],
        "the question, in the applicant's direct chat",
    )
    assert "Dans quelle structure exercez-vous le mercredi ?" in question[0].body
    await nurse.say(dm, "À la maison de santé de Carpentras.")
    thanked = await nurse.wait_for(
        lambda: [s for s in nurse.seen if s.room_id == dm and "transmise" in s.body],
        "the applicant thanked",
    )
    assert f"#{number}" in thanked[0].body
    relayed = await first.wait_for(
        lambda: [
            s for s in first.seen if in_thread_of(s, card.event_id) and s.body.startswith("💬")
        ],
        "the answer in the card's thread",
    )
    assert relayed[0].body == f"💬 Réponse de {nurse.user_id} : À la maison de santé de Carpentras."
    record = [s for s in first.seen if in_thread_of(s, card.event_id) and "❓" in s.body]
    assert record and first.user_id in record[0].body  # who asked what, kept in the thread

    # A command typed in the thread is answered in the thread.
    async with first._sending:
        resp = await first.client.room_send(
            control,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": f"!approve {number}",
                "m.relates_to": {
                    "rel_type": "m.thread",
                    "event_id": card.event_id,
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": card.event_id},
                },
            },
            ignore_unverified_devices=True,
        )
    answer = await first.reply_to(resp.event_id)
    assert in_thread_of(answer, card.event_id) and "(1/2)" in answer.body, answer.content
    # The card itself, edited in place, is still the summary in the room.
    assert (await agora.vetting.get(number)).card_event == card.event_id
