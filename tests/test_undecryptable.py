"""Messages the bot cannot decrypt yet: kept, read when their key comes, the sender told
after a while when it never does."""

from __future__ import annotations

import asyncio
import uuid

import pytest

pytestmark = pytest.mark.integration


def _withhold_next_key(person, room_id: str, device: tuple[str, str]) -> None:
    """The person's next message in the room goes out under a new session whose key their
    client does not send to ``device`` (as a to-device message lost on the way would)."""
    olm = person.client.olm
    olm.outbound_group_sessions.pop(room_id, None)
    olm.create_outbound_group_session(room_id)
    olm.outbound_group_sessions[room_id].users_ignored.add(device)


async def test_a_command_whose_key_comes_late_is_answered_and_one_never_readable_is_reported(
    network,
):
    bot, admin, control = network.bot, network.admin, network.control
    bot.unreadables.notice_after = 8.0
    device = (bot.gateway.user_id, bot.gateway.device_id)

    _withhold_next_key(admin, control, device)
    lost = await admin.say(control, "!ping")  # its key never reaches the bot

    _withhold_next_key(admin, control, device)
    olm = admin.client.olm
    session = olm.outbound_group_sessions[control]
    room_key = {  # the key as the first message needs it, before any is sent
        "algorithm": "m.megolm.v1.aes-sha2",
        "room_id": control,
        "session_id": session.id,
        "session_key": session.session_key,
    }
    late = await admin.say(control, "!ping")
    await asyncio.sleep(1)
    # The key reaches the bot late, over Olm from the admin's device, as a delayed to-device.
    bot_device = olm.device_store[device[0]][device[1]]
    encrypted = olm._olm_encrypt(
        olm.session_store.get(bot_device.curve25519), bot_device, "m.room_key", room_key
    )
    await admin._api(
        "PUT",
        f"/_matrix/client/v3/sendToDevice/m.room.encrypted/late-{uuid.uuid4().hex}",
        {"messages": {device[0]: {device[1]: encrypted}}},
    )

    answer = await admin.reply_to(late, 60)
    assert answer.body.startswith("pong") and await admin.reaction_to(late) == "✅"
    told = await admin.wait_for(lambda: admin.replies_to(lost), "the note about the lost one", 60)
    assert "Je n'ai pas pu lire ce message" in told[0].body and told[0].encrypted
    await asyncio.sleep(2)
    assert len(admin.replies_to(late)) == 1 and len(admin.replies_to(lost)) == 1
    assert not admin.reactions_to(lost)  # nothing was done with what could not be read
    metrics = bot.metrics.render().decode()
    assert "agora_undecryptable_recovered_total 1.0" in metrics
    entries = await bot.store.audit_entries()
    assert any(e["action"] == "undecryptable" and e["outcome"] == "told" for e in entries)
    async with bot.store.db.execute(
        "SELECT status FROM events WHERE kind = 'unreadable' AND event_id = ?", (lost,)
    ) as cur:
        assert (await cur.fetchone())[0] == "pending"  # still kept, in case its key comes
