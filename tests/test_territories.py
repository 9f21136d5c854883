"""Territories against a real Synapse: spaces and encrypted rooms made, kept and archived."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from nio import JoinError, JoinResponse, RoomSendError, RoomSendResponse

from bot.territories.planner import ARCHIVED_PREFIX, ActualRoom
from tests.conftest import BotAccount, agora_cli, register, vet

pytestmark = pytest.mark.integration


def tree(sfx: str, *, animator: str | None = None) -> dict[str, Any]:
    """Region → department → CPTS, with the room kinds that behave differently."""
    return {
        "territories": [
            {
                "id": f"sud-{sfx}",
                "name": "Région Sud",
                "rooms": [{"id": "annonces", "name": "Sud · Annonces", "kind": "announcements"}],
                "territories": [
                    {
                        "id": f"vaucluse-{sfx}",
                        "name": "Vaucluse",
                        "animators": [animator] if animator else [],
                        "rooms": [
                            {
                                "id": "communaute",
                                "name": "Vaucluse · Communauté",
                                "kind": "community",
                                "topic": "Échanges entre professionnels du Vaucluse",
                            },
                            {
                                "id": "annonces",
                                "name": "Vaucluse · Annonces",
                                "kind": "announcements",
                            },
                            {
                                "id": "cellule",
                                "name": "Cellule de crise",
                                "kind": "group",
                                "visibility": "private",
                            },
                        ],
                        "territories": [
                            {
                                "id": f"cpts-{sfx}",
                                "name": "CPTS du Grand Avignon",
                                "rooms": [
                                    {
                                        "id": "echanges",
                                        "name": "CPTS · Échanges",
                                        "kind": "community",
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }


def keys(sfx: str) -> set[str]:
    return {
        f"sud-{sfx}",
        f"sud-{sfx}.annonces",
        f"vaucluse-{sfx}",
        f"vaucluse-{sfx}.communaute",
        f"vaucluse-{sfx}.annonces",
        f"vaucluse-{sfx}.cellule",
        f"cpts-{sfx}",
        f"cpts-{sfx}.echanges",
    }


async def room_ids(agora) -> dict[str, str]:
    return {r.key: r.room_id for r in await agora.store.managed_rooms()}


async def state_of(agora, room_id: str) -> ActualRoom:
    events = await agora.gateway.raw("GET", f"/_matrix/client/v3/rooms/{room_id}/state")
    return ActualRoom.from_state_events(room_id, events)


async def eventually(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def rewrite_network(agora, network: dict[str, Any]) -> None:
    path: Path = agora.config_path
    data = yaml.safe_load(path.read_text())
    data["network"] = network
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


@pytest.fixture
def sfx() -> str:
    return secrets.token_hex(3)


async def test_three_level_tree_is_made_and_a_second_plan_is_empty(person, start_bot, sfx):
    admin = await person("admin")
    agora = await start_bot([admin.user_id], network=tree(sfx))
    await agora.settled()
    ids = await room_ids(agora)
    assert set(ids) == keys(sfx)

    region, dept, cpts = (ids[f"sud-{sfx}"], ids[f"vaucluse-{sfx}"], ids[f"cpts-{sfx}"])
    for space in (region, dept, cpts):
        assert (await state_of(agora, space)).is_space
    community = await state_of(agora, ids[f"vaucluse-{sfx}.communaute"])
    assert not community.is_space
    assert community.get("m.room.encryption")["algorithm"] == "m.megolm.v1.aes-sha2"
    assert community.get("m.room.join_rules") == {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership", "room_id": dept}],
    }
    assert community.get("m.room.history_visibility")["history_visibility"] == "invited"
    assert community.get("m.room.guest_access")["guest_access"] == "forbidden"
    assert community.get("m.room.server_acl")["allow"] == ["localhost"]
    assert (
        community.get("m.room.canonical_alias")["alias"] == f"#vaucluse-{sfx}.communaute:localhost"
    )
    assert community.get("m.room.topic")["topic"] == "Échanges entre professionnels du Vaucluse"
    levels = community.get("m.room.power_levels")
    assert levels["users"][admin.user_id] == 100
    assert levels["events"]["m.room.encryption"] == 100
    assert levels["events"]["m.room.server_acl"] == 100
    assert levels["state_default"] == 50
    assert (await state_of(agora, ids[f"vaucluse-{sfx}.cellule"])).get("m.room.join_rules")[
        "join_rule"
    ] == "invite"
    assert (await state_of(agora, ids[f"vaucluse-{sfx}.annonces"])).get("m.room.power_levels")[
        "events_default"
    ] == 50

    # The admin was invited to every space; once in them, they see the tree as Element does.
    for space in (region, dept, cpts):
        await admin.accept_invite(space)
    resp = await admin.client.send(
        "GET",
        f"/_matrix/client/v1/rooms/{region}/hierarchy",
        headers={"Authorization": f"Bearer {admin.client.access_token}"},
    )
    hierarchy = await resp.json()
    seen = {room["room_id"] for room in hierarchy["rooms"]}
    assert {region, dept, cpts, ids[f"cpts-{sfx}.echanges"]} <= seen

    assert (await agora.territories.reconciler.reconcile(dry_run=True)).actions == []
    result = await agora_cli(
        "plan", "--config", str(agora.config_path), "--data-dir", str(agora.data_dir)
    )
    assert result.returncode == 0, result.stderr
    assert "Rien à faire" in result.stdout


async def test_space_member_joins_restricted_room_while_outsider_is_refused(person, start_bot, sfx):
    admin, member, outsider = (
        await person("admin"),
        await person("membre"),
        await person("exterieur"),
    )
    agora = await start_bot([admin.user_id], network=tree(sfx))
    await agora.settled()
    ids = await room_ids(agora)
    space = ids[f"vaucluse-{sfx}"]
    await admin.accept_invite(space)
    await vet(agora, member.user_id, f"vaucluse-{sfx}")
    await admin.client.room_invite(space, member.user_id)
    await member.accept_invite(space)

    community = ids[f"vaucluse-{sfx}.communaute"]
    assert isinstance(await member.client.join(community), JoinResponse)  # no invite needed
    refused = await outsider.client.join(community)
    assert isinstance(refused, JoinError) and refused.status_code == "M_FORBIDDEN"
    private = await member.client.join(ids[f"vaucluse-{sfx}.cellule"])
    assert isinstance(private, JoinError)  # private groups are invite-only


async def test_animator_posts_in_announcements_while_member_cannot(person, start_bot, sfx):
    admin, animator, member = (
        await person("admin"),
        await person("animatrice"),
        await person("membre"),
    )
    agora = await start_bot([admin.user_id], network=tree(sfx, animator=animator.user_id))
    await agora.settled()
    ids = await room_ids(agora)
    space, news = ids[f"vaucluse-{sfx}"], ids[f"vaucluse-{sfx}.annonces"]
    await animator.accept_invite(space)  # the bot invited the animator to their space
    assert isinstance(await animator.client.join(news), JoinResponse)
    posted = await animator.try_say(news, "Alerte canicule niveau 3")
    assert isinstance(posted, RoomSendResponse)

    await vet(agora, member.user_id, f"vaucluse-{sfx}")
    await animator.client.room_invite(space, member.user_id)
    await member.accept_invite(space)
    assert isinstance(await member.client.join(news), JoinResponse)
    refused = await member.try_say(news, "Je peux poster ?")
    assert isinstance(refused, RoomSendError) and refused.status_code == "M_FORBIDDEN"


async def test_hand_made_power_change_is_restored_and_reported(person, start_bot, sfx):
    admin = await person("admin")
    agora = await start_bot([admin.user_id], network=tree(sfx))
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    community = (await room_ids(agora))[f"vaucluse-{sfx}.communaute"]
    await admin.accept_invite((await room_ids(agora))[f"vaucluse-{sfx}"])
    assert isinstance(await admin.client.join(community), JoinResponse)

    levels = (await state_of(agora, community)).get("m.room.power_levels")
    tampered = {
        **levels,
        "events_default": 50,
        "users": {**levels["users"], "@quelquun:localhost": 75},
    }
    resp = await admin.client.room_put_state(community, "m.room.power_levels", tampered)
    assert hasattr(resp, "event_id"), resp

    async def restored():
        now = (await state_of(agora, community)).get("m.room.power_levels")
        return now["events_default"] == 0 and "@quelquun:localhost" not in now["users"]

    await eventually(restored, "the bot to restore the power levels", timeout=20)
    note = await admin.wait_for(
        lambda: [s for s in admin.seen if "Modification manuelle annulée" in s.body],
        "the drift note in the control room",
    )
    assert admin.user_id in note[0].body and "m.room.power_levels" in note[0].body
    assert any(
        e["action"] == "territories.drift" and e["actor"] == admin.user_id
        for e in await agora.store.audit_entries()
    )


async def seated_member(person, start_bot, sfx: str, **bot_options):
    """A running network whose admin is in the control room and the department's space, and a
    vetted member of the department who joined its community room."""
    admin, member = await person("admin"), await person("membre")
    agora = await start_bot([admin.user_id], network=tree(sfx), **bot_options)
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    ids = await room_ids(agora)
    dept, community = ids[f"vaucluse-{sfx}"], ids[f"vaucluse-{sfx}.communaute"]
    await admin.accept_invite(dept)
    await vet(agora, member.user_id, f"vaucluse-{sfx}")
    await admin.client.room_invite(dept, member.user_id)
    await member.accept_invite(dept)
    assert isinstance(await member.client.join(community), JoinResponse)
    return agora, admin, member, ids


async def test_room_removed_from_config_is_archived_with_its_history(person, start_bot, sfx):
    agora, admin, member, ids = await seated_member(person, start_bot, sfx)
    dept, community = ids[f"vaucluse-{sfx}"], ids[f"vaucluse-{sfx}.communaute"]
    said = await member.say(community, "Réunion de coordination jeudi 14 h")

    network = tree(sfx)
    dept_conf = network["territories"][0]["territories"][0]
    dept_conf["rooms"] = [r for r in dept_conf["rooms"] if r["id"] != "communaute"]
    rewrite_network(agora, network)
    reply, reaction = await admin.command(agora.control.room_id, "!reload")
    assert reaction == "✅" and "Configuration rechargée" in reply.body

    async def archived():
        return [
            r
            for r in await agora.store.managed_rooms()
            if r.key == f"vaucluse-{sfx}.communaute" and r.archived
        ]

    await eventually(archived, "the room to be archived")
    room = await state_of(agora, community)
    assert room.get("m.room.name")["name"] == ARCHIVED_PREFIX + "Vaucluse · Communauté"
    assert room.get("m.room.power_levels")["events_default"] == 100
    assert room.get("m.room.join_rules")["join_rule"] == "invite"
    assert not (await state_of(agora, dept)).get("m.space.child", community)  # detached
    history = await member.client.room_messages(community, start="", limit=50)
    assert said in {e.event_id for e in history.chunk}  # the history is kept
    refused = await member.try_say(community, "encore là ?")
    assert isinstance(refused, RoomSendError)  # read-only for members
    assert (await agora.territories.reconciler.reconcile(dry_run=True)).actions == []


async def test_renaming_in_config_renames_the_same_room(person, start_bot, sfx):
    admin = await person("admin")
    agora = await start_bot([admin.user_id], network=tree(sfx))
    await agora.settled()
    before = (await room_ids(agora))[f"cpts-{sfx}.echanges"]
    network = tree(sfx)
    network["territories"][0]["territories"][0]["territories"][0]["rooms"][0]["name"] = (
        "CPTS · Discussions"
    )
    rewrite_network(agora, network)  # the running bot notices the file changed

    async def renamed():
        return (await state_of(agora, before)).get("m.room.name")["name"] == "CPTS · Discussions"

    await eventually(renamed, "the rename")
    assert (await room_ids(agora))[f"cpts-{sfx}.echanges"] == before


async def test_existing_room_is_adopted_instead_of_created(person, start_bot, synapse, sfx):
    admin = await person("admin")
    bot_id, password = await register(synapse, "agora")
    created = await admin.client.room_create(
        name="Ancien salon de garde", invite=[bot_id], power_level_override={"users": {bot_id: 100}}
    )  # the creator is above levels (v12)
    old = created.room_id
    network = tree(sfx)
    network["territories"][0]["territories"][0]["rooms"].append(
        {"id": "garde", "name": "Vaucluse · Garde de nuit", "kind": "oncall", "room": old}
    )
    agora = await start_bot(
        [admin.user_id], network=network, account=BotAccount(bot_id[1:].split(":")[0], password)
    )
    await agora.settled()
    ids = await room_ids(agora)
    assert ids[f"vaucluse-{sfx}.garde"] == old
    room = await state_of(agora, old)
    assert room.get("m.room.name")["name"] == "Vaucluse · Garde de nuit"
    assert room.get("m.room.encryption")["algorithm"] == "m.megolm.v1.aes-sha2"
    assert room.get("m.room.join_rules")["join_rule"] == "restricted"
    assert (await state_of(agora, ids[f"vaucluse-{sfx}"])).get("m.space.child", old)
    assert (await agora.territories.reconciler.reconcile(dry_run=True)).actions == []


async def test_crash_between_steps_resumes_without_duplicates(person, start_bot, sfx):
    admin = await person("admin")
    agora = await start_bot([admin.user_id])  # makes the bot's session, no network yet
    config, data = str(agora.config_path), str(agora.data_dir)
    await agora.stop()
    rewrite_network(agora, tree(sfx))

    crashed = await agora_cli(
        "apply", "--config", config, "--data-dir", data, env={"AGORA_FAULT_EXIT_AFTER_ACTIONS": "5"}
    )
    assert crashed.returncode == 3, crashed.stderr
    resumed = await agora_cli("apply", "--config", config, "--data-dir", data)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after interrupted run" in resumed.stdout

    again = await start_bot([admin.user_id], account=agora.account, data_dir=agora.data_dir)
    await again.settled()
    ids = await room_ids(again)
    assert set(ids) == keys(sfx)
    joined = (await again.gateway.raw("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"]
    expected = [*ids.values(), again.control.room_id, again.moderation.policy.room_id]
    expected.append(again.federation.directory.room_id)
    assert sorted(joined) == sorted(expected)  # no duplicates
    plan = await agora_cli("plan", "--config", config, "--data-dir", data)
    assert "Rien à faire" in plan.stdout


async def test_room_made_by_an_interrupted_run_is_found_by_its_alias(person, start_bot, sfx):
    admin = await person("admin")
    agora = await start_bot([admin.user_id])
    # As if a run had created the region's space and crashed before recording it.
    made = await agora.gateway.raw(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"room_alias_name": f"sud-{sfx}", "creation_content": {"type": "m.space"}},
    )
    rewrite_network(agora, tree(sfx))
    agora.reload()
    await agora.settled()
    assert (await room_ids(agora))[f"sud-{sfx}"] == made["room_id"]


async def test_alias_held_by_someone_else_is_never_taken(person, start_bot, sfx):
    admin, squatter = await person("admin"), await person("squatteur")
    await squatter.client.room_create(alias=f"sud-{sfx}", name="Pas à Agora")
    agora = await start_bot([admin.user_id], network=tree(sfx))
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    assert f"sud-{sfx}" not in await room_ids(agora)
    note = await admin.wait_for(
        lambda: [s for s in admin.seen if "échoué" in s.body], "the failure report"
    )
    assert f"#sud-{sfx}:localhost" in note[0].body


async def test_reconcile_command_shows_the_plan_then_applies_it_with_progress(
    person, start_bot, sfx
):
    admin = await person("admin")
    agora = await start_bot([admin.user_id], network=tree(sfx))
    control = agora.control.room_id
    await admin.accept_invite(control)
    await agora.settled()
    # Hold the automatic reconciling (as if the change had not been picked up yet).
    for task in agora.tasks.loops:
        if task.get_name() in ("keeper", "config"):
            task.cancel()
    network = tree(sfx)
    network["territories"][0]["territories"][0]["rooms"][0]["name"] = "Vaucluse · Agora"
    rewrite_network(agora, network)
    agora.reload()

    plan, reaction = await admin.command(control, "!reconcile --dry-run")
    assert reaction == "✅"
    assert "renommer « Vaucluse · Communauté » en « Vaucluse · Agora »" in plan.body
    community = (await room_ids(agora))[f"vaucluse-{sfx}.communaute"]
    assert (await state_of(agora, community)).get("m.room.name")[
        "name"
    ] == "Vaucluse · Communauté"  # a dry run changes nothing

    event_id = await admin.say(control, "!reconcile")
    progress = await admin.reply_to(event_id)
    assert progress.body.startswith("Application du plan")
    edits = await admin.wait_for(
        lambda: [
            s
            for s in admin.seen
            if s.content.get("m.relates_to", {}).get("event_id") == progress.event_id
            and s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"
            and "Réseau à jour" in s.content["m.new_content"]["body"]
        ],
        "the progress message to be edited with the result",
    )
    assert "1 changement appliqué" in edits[-1].content["m.new_content"]["body"]
    assert await admin.reaction_to(event_id) == "✅"
    assert (await state_of(agora, community)).get("m.room.name")["name"] == "Vaucluse · Agora"
