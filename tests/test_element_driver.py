"""The long-lived Element-equivalent client (tests/element.py: matrix-js-sdk with Rust crypto)
and a nio person talk in an encrypted room, both ways: messages and a reaction."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from nio import RoomCreateResponse

from tests.conftest import register
from tests.element import ElementClient
from tests.people import ENCRYPTION_STATE

pytestmark = pytest.mark.integration


async def test_element_client_and_a_nio_person_talk_encrypted(synapse, person):
    element = await ElementClient.login(synapse.url, *await register(synapse, "element"))
    try:
        alice = await person("alice")
        created = await alice.client.room_create(
            invite=[element.user_id], initial_state=[ENCRYPTION_STATE]
        )
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id

        assert await element.wait_for_invite(from_user=alice.user_id) == room_id
        await element.join(room_id)
        await alice.wait_for(
            lambda: element.user_id in alice.client.rooms[room_id].users, "the js client's join"
        )
        # (nio sends in clear until its sync has shown it the encryption state)
        await alice.wait_for(lambda: alice.client.rooms[room_id].encrypted, "an encrypted room")

        # Several requests in flight at once: the wait is answered once alice has spoken.
        waiting = asyncio.create_task(
            element.wait_for_event(room_id, sender=alice.user_id, body_contains="Bonjour")
        )
        hello = await alice.say(room_id, "Bonjour depuis nio")
        seen = await waiting
        assert seen["eventId"] == hello
        assert seen["encrypted"] and not seen["decryptionFailure"], seen
        assert seen["body"] == "Bonjour depuis nio" and seen["type"] == "m.room.message"
        assert (await element.event_state(room_id, hello))["body"] == "Bonjour depuis nio"

        sent = await element.send(room_id, "Salut depuis Element")
        mine = await element.wait_for_event(room_id, event_id=sent)
        assert mine["encrypted"] and mine["wireType"] == "m.room.encrypted", mine
        got = await alice.wait_for(
            lambda: [s for s in alice.seen if s.event_id == sent], "the js client's message"
        )
        assert got[0].body == "Salut depuis Element" and got[0].encrypted

        reaction = await element.react(room_id, hello, "👍")
        assert await alice.reaction_to(hello) == "👍"
        assert (await element.wait_for_event(room_id, relates_to=hello))["eventId"] == reaction
    finally:
        await element.close()


async def test_element_client_reports_what_it_cannot_decrypt(synapse, person):
    element = await ElementClient.login(synapse.url, *await register(synapse, "element"))
    try:
        alice = await person("alice")
        created = await alice.client.room_create(
            invite=[element.user_id], initial_state=[ENCRYPTION_STATE]
        )
        assert isinstance(created, RoomCreateResponse), created
        room_id = await element.join(await element.wait_for_invite(room_id=created.room_id))
        # An encrypted event from a session nobody ever shared.
        sent = await alice._api(
            "PUT",
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.encrypted/{secrets.token_hex(8)}",
            {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEnA" + secrets.token_hex(40),
                "session_id": secrets.token_hex(16),
                "sender_key": "x" * 43,
                "device_id": alice.client.device_id,
            },
        )
        seen = await element.wait_for_event(room_id, sender=alice.user_id, type="m.room.encrypted")
        assert seen["eventId"] == sent["event_id"] and seen["decryptionFailure"], seen
        assert seen["body"] is None and seen["decryptionFailureReason"], seen
        with pytest.raises(AssertionError, match="timed out"):
            await element.wait_for_event(room_id, sender=alice.user_id, body_contains="", timeout=1)
        assert (await element.event_state(room_id, sent["event_id"]))["decryptionFailure"]
        with pytest.raises(AssertionError, match="not known"):
            await element.event_state(room_id, "$nope")
    finally:
        await element.close()
