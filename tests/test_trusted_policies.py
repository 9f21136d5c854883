"""Ban rules across regions: region A's bot publishes a ban in its policy room; region B's bot,
which trusts that list (`federation.trusted_policy_rooms`), removes the user from B's rooms
and refuses their requests; withdrawing the rule lifts the refusal. (Both bots run on one
Synapse here; the federation tests carry the same rooms over federation.)"""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import BotAccount, register, vet
from tests.test_enforcement import gone
from tests.test_territories import eventually, room_ids, seated_member, tree


@pytest.mark.integration
async def test_a_ban_published_by_a_peer_region_removes_the_user_here(person, start_bot, synapse):
    sfx = secrets.token_hex(3)
    # Region A's bot account exists first, so that B can name A's list before A makes it.
    bot_a, password_a = await register(synapse, "agora")
    account_a = BotAccount(bot_a[1:].split(":")[0], password_a)
    alias_a = f"#{account_a.localpart}-policy:{synapse.server_name}"
    region_b, admin_b, member, ids = await seated_member(
        person, start_bot, sfx, federation={"trusted_policy_rooms": [alias_a], "peer_bots": [bot_a]}
    )
    admin_a = await person("admin-a")
    region_a = await start_bot(
        [admin_a.user_id],
        account=account_a,
        federation={"peer_bots": [region_b.gateway.user_id]},
    )
    await admin_a.accept_invite(region_a.control.room_id)

    async def following() -> bool:  # A invited B's bot to its list; B joined it
        return region_a.moderation.policy.room_id in region_b.moderation.policy.followed

    await eventually(following, "B to follow A's list")
    listed, _ = await admin_b.command(region_b.control.room_id, "!policy trusted")
    assert alias_a in listed.body and "suivie" in listed.body

    answer, reaction = await admin_a.command(
        region_a.control.room_id, f"!policy ban {member.user_id} Usurpation d'identité"
    )
    assert reaction == "✅" and "Règle publiée" in answer.body
    community = ids[f"vaucluse-{sfx}.communaute"]
    await gone(region_b, community, member.user_id)
    await gone(region_b, ids[f"vaucluse-{sfx}"], member.user_id)
    note = await admin_b.wait_for(
        lambda: [s for s in admin_b.seen if member.user_id in s.body and "bannissement" in s.body],
        "B's note",
    )
    assert "Usurpation" in note[0].body
    dm = await member.dm(region_b.gateway.user_id)
    refused, reaction = await member.command(dm, "!join")
    assert reaction == "❌" and "ne peut pas être enregistrée" in refused.body

    answer, reaction = await admin_a.command(
        region_a.control.room_id, f"!policy unban {member.user_id}"
    )
    assert reaction == "✅" and "retirée" in answer.body

    async def lifted() -> bool:
        return not await region_b.moderation.policy.rules.rules(
            {region_a.moderation.policy.room_id}
        )

    await eventually(lifted, "the rule to be withdrawn in B")
    # Lifted, not undone: B's admins decide; someone invited back now stays.
    await admin_b.client.room_invite(ids[f"vaucluse-{sfx}"], member.user_id)
    await member.accept_invite(ids[f"vaucluse-{sfx}"])
    await region_b.settled()
    assert (await region_b.gateway.members(ids[f"vaucluse-{sfx}"]))[member.user_id] == "join"

    # A restart keeps both lists: the bot neither leaves its own nor the peer's as a stray.
    await region_b.stop()
    again = await start_bot(
        [admin_b.user_id],
        account=region_b.account,
        data_dir=region_b.data_dir,
        network=tree(sfx),
        federation={"trusted_policy_rooms": [alias_a], "peer_bots": [bot_a]},
    )

    async def still_following() -> bool:
        return region_a.moderation.policy.room_id in again.moderation.policy.followed

    await eventually(still_following, "the peer's list followed again after the restart")
    for room in (again.moderation.policy.room_id, region_a.moderation.policy.room_id):
        assert (await again.gateway.members(room)).get(again.gateway.user_id) == "join"


@pytest.mark.integration
async def test_many_small_rules_from_a_peer_add_up_and_a_strangers_withdrawal_lifts_nothing(
    person, start_bot, synapse
):
    """Eleven one-person rules from a peer's bot within the hour are a sweep of eleven: the
    eleventh waits for !confirm. Someone else than that bot withdrawing a rule in its list
    lifts nothing here."""
    from bot.homeserver.privileges import privileges_for

    sfx = secrets.token_hex(3)
    bot_a, password_a = await register(synapse, "agora")
    account_a = BotAccount(bot_a[1:].split(":")[0], password_a)
    alias_a = f"#{account_a.localpart}-policy:{synapse.server_name}"
    admin_b = await person("admin-b")
    region_b = await start_bot(
        [admin_b.user_id],
        network=tree(sfx),
        federation={"trusted_policy_rooms": [alias_a], "peer_bots": [bot_a]},
    )
    await admin_b.accept_invite(region_b.control.room_id)
    await region_b.settled()
    admin_a = await person("admin-a")
    region_a = await start_bot(
        [admin_a.user_id], account=account_a, federation={"peer_bots": [region_b.gateway.user_id]}
    )
    ids = await room_ids(region_b)
    community = ids[f"vaucluse-{sfx}.communaute"]
    members = []
    privileges = privileges_for(region_b.config, region_b.gateway, region_b.data_dir)
    for i in range(11):
        user_id, _ = await register(synapse, f"m{i}")
        await vet(region_b, user_id, f"vaucluse-{sfx}")
        await privileges.join(ids[f"vaucluse-{sfx}"], user_id)
        await privileges.join(community, user_id)
        members.append(user_id)

    async def following() -> bool:
        return region_a.moderation.policy.room_id in region_b.moderation.policy.followed

    await eventually(following, "B to follow A's list")
    policy_a = region_a.moderation.policy.room_id
    for user_id in members:
        await region_a.gateway.put_state(
            policy_a,
            "m.policy.rule.user",
            {"entity": user_id, "recommendation": "m.ban", "reason": "un par un"},
            f"rule:{user_id}",
        )
    held = await admin_b.wait_for(
        lambda: [s for s in admin_b.seen if "dans l'heure" in s.body], "the eleventh, held"
    )
    assert members[-1] in held[0].body
    for user_id in members[:-1]:
        await gone(region_b, community, user_id)
    assert (await region_b.gateway.members(community))[members[-1]] == "join"

    # A's admin (not A's bot) withdraws a rule in A's list: B keeps applying it.
    await admin_a.accept_invite(policy_a)
    await admin_a.client.room_put_state(
        policy_a, "m.policy.rule.user", {}, state_key=f"rule:{members[0]}"
    )
    await admin_b.wait_for(
        lambda: [s for s in admin_b.seen if "ignorées" in s.body], "the ignored sender"
    )
    rules = await region_b.moderation.policy.rules.rules({policy_a})
    assert any(r.entity == members[0] for r in rules)
