"""The ✅ on a command waits for a quiet room, and survives a restart (a real Synapse)."""

from __future__ import annotations

import asyncio

from nio import ReactionEvent

from bot.effects import stable_key
from tests.test_territories import eventually


async def test_commands_typed_back_to_back_get_their_answers_first_and_then_their_reactions(
    person, start_bot
):
    admin = await person("admin")
    # A longer wait than the default, so that a loaded machine cannot make the room look
    # quiet between two commands typed back to back.
    agora = await start_bot([admin.user_id], commands={"reaction_delay": 3.0})
    control = agora.control.room_id
    await admin.accept_invite(control)

    pings = [await admin.say(control, "!ping") for _ in range(3)]
    for event_id in pings:
        await admin.reply_to(event_id)

    async def all_owed() -> bool:  # the last answer may arrive before its command is recorded
        return sorted(e for _, e, _ in await agora.store.owed_reactions()) == sorted(pings)

    await eventually(all_owed, "the three reactions owed")
    assert all(admin.reactions_to(e) == [] for e in pings)  # owed, not sent yet

    for event_id in pings:
        assert await admin.reaction_to(event_id, timeout=20) == "✅"
    at = {s.event_id: n for n, s in enumerate(admin.seen)}
    last_reply = max(at[admin.replies_to(e)[0].event_id] for e in pings)
    reactions = [
        n
        for n, s in enumerate(admin.seen)
        if isinstance(s.event, ReactionEvent) and s.event.reacts_to in pings
    ]
    assert len(reactions) == 3 and min(reactions) > last_reply  # every answer came first

    async def none_owed() -> bool:
        return await agora.store.owed_reactions() == []

    await eventually(none_owed, "the reactions recorded as sent")

    # A refused command is owed its ❌ the same way.
    denied, _ = await admin.command(control, "!nosuchcommand")
    assert denied.body and await admin.reaction_to(denied.reply_to, timeout=20) == "❌"


async def test_a_reaction_owed_at_a_stop_is_sent_once_after_the_restart(person, start_bot):
    admin = await person("admin")
    first = await start_bot([admin.user_id], commands={"reaction_delay": 5.0})
    control = first.control.room_id
    await admin.accept_invite(control)
    sent_before = await admin.say(control, "!ping")  # its ✅ goes out, then the crash
    lost = await admin.say(control, "!ping")  # its ✅ never left before the stop
    for event_id in (sent_before, lost):
        await admin.reply_to(event_id)
    # The first reaction as the bot sends it, just before a crash that kept the store from
    # recording it: sent again after the restart, the homeserver keeps it once.
    txn = stable_key("reaction", sent_before)
    reaction_id = await first.gateway.react(control, sent_before, "✅", txn=txn)
    assert reaction_id.startswith("$")
    await first.stop()
    assert {e for _, e, _ in await _owed(first)} == {sent_before, lost}

    second = await start_bot(
        [admin.user_id],
        account=first.account,
        data_dir=first.data_dir,
        commands={"reaction_delay": 0},
    )
    for event_id in (sent_before, lost):
        assert await admin.reaction_to(event_id, timeout=20) == "✅"
    await admin.command(control, "!ping")  # a later command: the bot went past them
    await asyncio.sleep(1)
    assert len(admin.reactions_to(sent_before)) == 1
    assert len(admin.reactions_to(lost)) == 1
    # The homeserver took the resend as the same transaction (the same event, not a second
    # one refused as a duplicate annotation).
    assert await second.gateway.react(control, sent_before, "✅", txn=txn) == reaction_id

    async def none_owed() -> bool:
        return await second.store.owed_reactions() == []

    await eventually(none_owed, "the reactions recorded as sent")


async def _owed(agora) -> list[tuple[str, str, str]]:
    """What a stopped bot's store still owes (read from its database file)."""
    from bot.store import Store

    store = await Store.open(agora.data_dir / "agora.db")
    try:
        return await store.owed_reactions()
    finally:
        await store.close()
