"""Privileged actions only from verified devices, against a real Synapse.

An admin's phished password gives an attacker a new session: it must be able to do nothing as
an admin (commands, ✅ on cards, even unencrypted reactions) and read no new card, until the
admin signs it from a session they trust. The second session here is the Element-equivalent
client (matrix-js-sdk with Rust crypto), the first a nio person with a cross-signing identity.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest
import yaml

from bot.store.vetting import VettingStore
from tests.conftest import vet
from tests.element import ElementClient
from tests.people import Person
from tests.test_territories import eventually, room_ids
from tests.test_vetting import join_line, network, request_number, two_admins

pytestmark = pytest.mark.integration


@pytest.fixture
async def control(person, start_bot):
    return await two_admins(person, start_bot)


async def card_of(agora, admin: Person, person, sfx: str) -> tuple[int, str]:
    """Someone asks to join; returns the request number and its card's event id."""
    applicant = await person("infirmiere")
    dm = await applicant.dm(agora.gateway.user_id)
    line = join_line(sfx, email=f"x.{secrets.token_hex(3)}@example.org")
    reply, _ = await applicant.command(dm, line)
    number = request_number(reply.body)
    card = await admin.wait_for(
        lambda: [
            s
            for s in admin.seen
            if s.room_id == agora.control.room_id and f"Demande #{number} —" in s.body
        ],
        "the card",
    )
    return number, card[0].event_id


async def test_an_admins_unverified_session_is_refused_and_reads_no_card_until_signed(
    control, person, synapse
):
    agora, first, _, sfx = control
    room = agora.control.room_id
    element = await ElementClient.login(synapse.url, first.user_id, first.password)
    try:
        # A command from the new session: refused, said where it can read it, audited.
        sent = await element.send(room, "!requests")
        reply = await first.reply_to(sent)
        assert "session n'est pas vérifiée" in reply.body
        assert await first.reaction_to(sent) == "❌"
        dm = await eventually(lambda: agora.store.dm_with(first.user_id), "the direct chat")
        await element.wait_for_invite(room_id=dm)
        await element.join(dm)
        told = await element.wait_for_event(dm, body_contains="session n'est pas vérifiée")
        assert not told["decryptionFailure"] and "Vérifiez cette session" in told["body"]

        async def audited() -> bool:  # written just after the ❌ went out
            return any(
                a["detail"] == "trust.refused.unverified" for a in await agora.store.audit_entries()
            )

        await eventually(audited, "the refusal audited")

        # A new card reaches the trusted session only.
        number, card = await card_of(agora, first, person, sfx)
        seen = await element.wait_for_event(room, event_id=card)
        assert seen["decryptionFailure"]
        # Element sends its reactions unencrypted: its ✅ decides nothing, and the room is
        # told once to use !approve. An encrypted ✅ from an unsigned session is refused.
        await element.react(room, card, "✅")
        note = await first.wait_for(
            lambda: [s for s in first.seen if "non chiffrés" in s.body], "the unencrypted note"
        )
        assert "!approve" in note[0].body
        unsigned = await first.new_session(agora.data_dir.parent / "unsigned-admin")
        try:
            await unsigned.wait_for(lambda: room in unsigned.client.rooms, "the control room")
            await unsigned.react(room, card, "✅")
            refused = await first.wait_for(
                lambda: [s for s in first.replies_to(card) if "pas vérifiée" in s.body],
                "the refusal of the reaction",
            )
            assert refused
        finally:
            await unsigned.close()
        assert await VettingStore(agora.store).decisions(number) == []
        await first.react(room, card, "👍")  # the trusted session's, encrypted: it counts
        await first.wait_for(
            lambda: [s for s in first.replies_to(card) if "(1/2)" in s.body], "the approval"
        )
        decisions = await VettingStore(agora.store).decisions(number)
        assert [d.admin for d in decisions] == [first.user_id]
        state = await element.event_state(room, card)
        assert state["decryptionFailure"]  # still unreadable there

        # The admin verifies the new session from the first one: it is obeyed from now on.
        await first.sign_device(element.device_id)

        async def obeyed() -> bool:
            attempt = await element.send(room, "!ping")
            try:
                return await first.reaction_to(attempt, timeout=10) == "✅"
            except AssertionError:
                return False

        await eventually(obeyed, "the signed session to be obeyed", timeout=60)
        later_number, later = await card_of(agora, first, person, sfx)
        readable = await element.wait_for_event(room, event_id=later)
        assert not readable["decryptionFailure"] and "Demande #" in readable["body"]
        approved = await element.send(room, f"!approve {later_number}")
        answer = await element.wait_for_event(room, reply_to=approved)
        assert not answer["decryptionFailure"] and "(1/2)" in answer["body"]
    finally:
        await element.close()


async def test_a_changed_identity_is_refused_until_another_admin_accepts_it(control):
    agora, first, second, _ = control
    room = agora.control.room_id
    old = second.cross_signing
    await second.set_up_cross_signing()  # a reset: new keys, this device signed with them
    notice = await first.wait_for(
        lambda: [s for s in first.seen if "a changé" in s.body and second.user_id in s.body],
        "the announcement",
    )
    new = second.cross_signing
    assert old is not None and new is not None
    from bot.matrix.crosssigning import fingerprint, public_b64

    assert fingerprint(public_b64(old.master)) in notice[0].body
    assert fingerprint(public_b64(new.master)) in notice[0].body
    # Until then the control room's keys do not reach them: the refusal is read by the other
    # admin here, and by them in their direct chat.
    sent = await second.say(room, "!requests")
    refused = await first.reply_to(sent)
    assert "identité de signature croisée a changé" in refused.body
    assert await first.reaction_to(sent) == "❌"
    await second.accept_direct_chat(agora.gateway.user_id)
    await second.wait_for(
        lambda: [s for s in second.seen if "identité de signature croisée a changé" in s.body],
        "the refusal in the direct chat",
    )
    himself = await first.reply_to(await second.say(room, f"!trust {second.user_id}"))
    assert "autre administrateur" in himself.body
    accepted, reaction = await first.command(room, f"!trust {second.user_id}")
    assert reaction == "✅" and fingerprint(public_b64(new.master)) in accepted.body
    _answer, reaction = await second.command(room, "!requests")
    assert reaction == "✅"


async def test_members_need_no_verified_session_but_animators_do(person, start_bot, synapse):
    sfx = secrets.token_hex(3)
    admin = await person("admin")
    animator = await person("anim")
    tree = network(sfx)
    tree["territories"][0]["animators"] = [animator.user_id]
    agora = await start_bot([admin.user_id], network=tree)
    await admin.accept_invite(agora.control.room_id)
    # A member whose client never set up cross-signing: their own commands work.
    member = await person("membre")
    plain = await member.new_session(agora.data_dir.parent / "plain-member")
    try:
        dm = await plain.dm(agora.gateway.user_id)
        _answer, reaction = await plain.command(dm, "!ping")
        assert reaction == "✅"
        # The animator's second, unsigned session: refused in the direct chat, told why.
        second = await animator.new_session(agora.data_dir.parent / "anim-second")
        try:
            anim_dm = await second.dm(agora.gateway.user_id)
            refused, reaction = await second.command(anim_dm, "!feeds")
            assert reaction == "❌" and "session n'est pas vérifiée" in refused.body
            _fine, reaction = await animator.command(
                await animator.dm(agora.gateway.user_id), "!feeds"
            )
            assert reaction == "✅"
        finally:
            await second.close()
    finally:
        await plain.close()


async def test_an_admin_taken_out_of_admins_keeps_nothing(control, person):
    agora, first, second, sfx = control
    room = agora.control.room_id
    space = (await room_ids(agora))[f"vaucluse-{sfx}"]
    await second.accept_invite(space)
    await second.accept_invite(agora.moderation.policy.room_id)
    members = await agora.gateway.members(space)
    assert members[second.user_id] == "join"

    config = yaml.safe_load(agora.config_path.read_text())
    config["admins"] = [first.user_id]
    agora.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    _answer, reaction = await first.command(room, "!reload")
    assert reaction == "✅"
    note = await first.wait_for(
        lambda: [s for s in first.seen if "n'est plus administrateur" in s.body],
        "the notice",
    )
    assert second.user_id in note[0].body

    async def stripped() -> bool:
        control_members = await agora.gateway.members(room)
        levels = await agora.gateway.get_state(room, "m.room.power_levels") or {}
        space_levels = await agora.gateway.get_state(space, "m.room.power_levels") or {}
        policy = await agora.gateway.members(agora.moderation.policy.room_id)
        return (
            control_members.get(second.user_id) == "leave"
            and second.user_id not in levels.get("users", {})
            and second.user_id not in space_levels.get("users", {})
            and (await agora.gateway.members(space)).get(second.user_id) == "leave"
            and policy.get(second.user_id) == "leave"
        )

    await eventually(stripped, "the former admin stripped of everything", timeout=60)
    # A vetted member who was admin keeps what a member has, nothing more.
    await vet(agora, second.user_id, f"vaucluse-{sfx}")
    _, card = await card_of(agora, first, person, sfx)
    await asyncio.sleep(1)
    assert not [s for s in second.seen if s.event_id == card]


async def test_a_reload_changes_the_command_prefix_everywhere(control):
    agora, first, _, _ = control
    room = agora.control.room_id
    config = yaml.safe_load(agora.config_path.read_text())
    config["commands"] = {"prefix": "?"}
    config["news"] = {"pace_per_second": 3}
    config["web"]["healthy_sync_age"] = 45  # read when the web server starts: said so
    agora.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    answer, reaction = await first.command(room, "!reload")
    assert reaction == "✅"
    assert "prochain démarrage" in answer.body and "web.healthy_sync_age" in answer.body
    assert "commands.prefix" not in answer.body  # applied at once
    pong, reaction = await first.command(room, "?ping")
    assert reaction == "✅" and pong.body.startswith("pong")
    ignored = await first.say(room, "!ping")
    await first.command(room, "?ping")  # answered after the one before, if any
    assert not first.replies_to(ignored)
    assert agora.news.broadcaster.pacer.rate == 3


async def test_with_checks_off_any_session_of_an_admin_is_obeyed(person, start_bot, synapse):
    """`security.verified_devices: off`, for a deployment that cannot ask it yet."""
    admin = await person("admin")
    agora = await start_bot([admin.user_id], security={"verified_devices": "off"})
    await admin.accept_invite(agora.control.room_id)
    plain = await admin.new_session(agora.data_dir.parent / "plain-admin")
    try:
        await plain.wait_for(lambda: agora.control.room_id in plain.client.rooms, "the room")
        answer, reaction = await plain.command(agora.control.room_id, "!requests")
        assert reaction == "✅" and answer.encrypted  # and it reads the answer
    finally:
        await plain.close()


async def test_a_ciphertext_posted_again_is_refused_after_a_restart(person, start_bot):
    """Someone with an admin's password re-posts an old encrypted command of the admin's
    verified session as a new event: it decrypts with a real session, yet does nothing, also
    once the bot restarted (nio's own replay check lives in memory only)."""
    admin = await person("admin")
    agora = await start_bot([admin.user_id])
    room = agora.control.room_id
    await admin.accept_invite(room)
    answer, _ = await admin.command(room, "!ping")
    original = answer.reply_to
    assert original
    wire = await agora.gateway.raw(
        "GET", f"/_matrix/client/v3/rooms/{room}/event/{original}", what="read the ciphertext"
    )
    assert wire["type"] == "m.room.encrypted"
    account, data_dir = agora.account, agora.data_dir
    await agora.stop()
    again = await start_bot([admin.user_id], account=account, data_dir=data_dir)
    replayed = await admin.send_raw(room, "m.room.encrypted", wire["content"])
    fresh = await admin.say(room, "!ping")
    await admin.reply_to(fresh)  # answered after anything sent before it
    assert not admin.replies_to(replayed)
    async with again.store.db.execute(
        "SELECT COUNT(*) FROM inbox WHERE event_id = ?", (replayed,)
    ) as cur:
        assert (await cur.fetchone())[0] == 0  # never recorded, so never run


async def test_new_room_keys_of_the_control_room_skip_unverified_sessions_too(person, start_bot):
    """nio makes a new Megolm session after 100 messages or a week: the new one must not reach
    a session the old one was withheld from."""
    admin = await person("admin")
    agora = await start_bot([admin.user_id])
    room = agora.control.room_id
    await admin.accept_invite(room)
    unsigned = await admin.new_session(agora.data_dir.parent / "unsigned")
    try:
        await unsigned.wait_for(lambda: room in unsigned.client.rooms, "the control room")
        sessions = agora.gateway.client.olm.outbound_group_sessions
        for _ in range(2):
            answer, _ = await admin.command(room, "!ping")
            before = sessions[room].id
            sessions[room].message_count = sessions[room].max_messages  # as if 100 were sent
            later, _ = await admin.command(room, "!ping")
            assert sessions[room].id != before  # a new session was made
            for reply in (answer, later):
                await unsigned.wait_for(
                    lambda r=reply: [s for s in unsigned.undecryptable if s.event_id == r.event_id],
                    "the reply, unreadable there",
                )
                assert not [s for s in unsigned.seen if s.event_id == reply.event_id]
    finally:
        await unsigned.close()
