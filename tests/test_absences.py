"""Absences and replacements against a real Synapse: the card in the replacements room, the
replacement lent the absent member's rooms for the period and taken out of them when it ends
(across a restart of the bot), their own rooms kept; a replacement who is not vetted brought
in by the coordinator's endorsement and two admins, for the period only."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from zoneinfo import ZoneInfo

import pytest
from nio import JoinResponse

from bot.dates import day_start
from tests.conftest import vet
from tests.test_territories import eventually, room_ids

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")


def region(sfx: str, coordinator: str) -> dict:
    return {
        "territories": [
            {
                "id": f"cpts-{sfx}",
                "name": "CPTS du Grand Avignon",
                "animators": [coordinator],
                "rooms": [
                    {"id": "communaute", "name": "CPTS · Échanges", "kind": "community"},
                    {"id": "remplacements", "name": "CPTS · Remplacements", "kind": "replacements"},
                ],
            },
            {
                "id": f"var-{sfx}",
                "name": "Var",
                "rooms": [{"id": "communaute", "name": "Var · Communauté", "kind": "community"}],
            },
        ]
    }


async def membership(agora, room_id: str, user: str) -> str | None:
    return (await agora.gateway.members(room_id)).get(user)


async def test_a_replacement_is_lent_the_rooms_for_the_period_across_a_restart(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, coordinator = await person("admin"), await person("coord")
    absent, replacement = await person("absente"), await person("remplacant")
    network = region(sfx, coordinator.user_id)
    agora = await start_bot([admin.user_id], network=network)
    await admin.accept_invite(agora.control.room_id)
    await vet(agora, absent.user_id, f"cpts-{sfx}")
    await vet(agora, replacement.user_id, f"var-{sfx}")
    await agora.settled()
    ids = await room_ids(agora)
    cpts, community = ids[f"cpts-{sfx}"], ids[f"cpts-{sfx}.communaute"]
    var, own = ids[f"var-{sfx}"], ids[f"var-{sfx}.communaute"]
    # The replacement is in their own territory's room, on their own.
    await agora.vetting.outcomes.provision(replacement.user_id)
    await replacement.accept_invite(var)
    assert isinstance(await replacement.client.join(own), JoinResponse)
    dm = await absent.dm(agora.gateway.user_id)

    # Refused whole, named: nothing recorded.
    wrong, reaction = await absent.command(dm, "!absence du 12/08 au jamais")
    assert reaction == "❌" and "« jamais » n'est pas une date" in wrong.body
    today = dt.datetime.now(PARIS).date()
    last = today + dt.timedelta(days=2)
    answer, reaction = await absent.command(
        dm,
        f"!absence du {today:%d/%m/%Y} au {last:%d/%m/%Y} "
        f"remplacé·e par {replacement.user_id} congés",
    )
    assert reaction == "✅" and "la communauté est prévenue" in answer.body, answer.body
    n = int(re.search(r"Absence n°(\d+)", answer.body).group(1))
    assert f"au {last:%d/%m/%Y}" in answer.body and "congés" in answer.body

    # Begun already: lent at once, and told.
    await replacement.accept_direct_chat(agora.gateway.user_id)
    await replacement.wait_for(
        lambda: [s for s in replacement.seen if s.body.startswith("Vous remplacez")],
        "the start of the replacement",
        60,
    )
    await replacement.accept_invite(cpts)
    assert isinstance(await replacement.client.join(community), JoinResponse)
    await agora.settled()
    assert await membership(agora, community, replacement.user_id) == "join"  # allowed
    remplacements = ids[f"cpts-{sfx}.remplacements"]

    async def carded() -> bool:
        events = await agora.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{remplacements}/messages", query={"dir": "b"}
        )
        return any(
            e.get("type") == "m.room.encrypted" and e.get("sender") == agora.gateway.user_id
            for e in events.get("chunk", [])
        )

    await eventually(carded, "the card in the replacements room")
    listed, _ = await coordinator.command(
        await coordinator.dm(agora.gateway.user_id), f"!absences cpts-{sfx}"
    )
    assert f"Absence n°{n}" in listed.body and "(en cours)" in listed.body

    # The bot stops; when it comes back the period is over: the rooms are taken back once,
    # the replacement's own room kept.
    await agora.stop()
    again = await start_bot(
        [admin.user_id], account=agora.account, data_dir=agora.data_dir, network=network
    )
    after = day_start(last + dt.timedelta(days=1), PARIS) + 60
    again.jobs.clock.offset = after - time.time()
    again.jobs.kick()

    async def out() -> bool:
        return await membership(again, community, replacement.user_id) == "leave"

    await eventually(out, "the replacement taken out of the lent room", 60)
    assert await membership(again, cpts, replacement.user_id) == "leave"
    assert await membership(again, own, replacement.user_id) == "join"
    await replacement.wait_for(
        lambda: [s for s in replacement.seen if "est terminé" in s.body], "told of the end", 60
    )
    row = await again.absences.absences.get(n)
    assert row is not None and row.status == "ended"
    await again.settled()
    told = [s for s in replacement.seen if s.body.startswith("Vous remplacez")]
    ended = [s for s in replacement.seen if "est terminé" in s.body]
    assert len(told) == 1 and len(ended) == 1  # once each, whatever the restart
    actions = {r["action"] for r in await again.store.audit_entries(limit=100)}
    assert {"absence.declare", "absence.take_back"} <= actions


async def test_a_replacement_not_vetted_comes_through_the_coordinator_and_two_admins(
    person, start_bot
):
    sfx = secrets.token_hex(3)
    first, second, coordinator = await person("admin"), await person("admin"), await person("co")
    absent, newcomer = await person("absent"), await person("nouveau")
    agora = await start_bot(
        [first.user_id, second.user_id], network=region(sfx, coordinator.user_id)
    )
    for admin in (first, second):
        await admin.accept_invite(agora.control.room_id)
    await vet(agora, absent.user_id, f"cpts-{sfx}")
    await agora.settled()
    ids = await room_ids(agora)
    cpts, community = ids[f"cpts-{sfx}"], ids[f"cpts-{sfx}.communaute"]
    dm = await absent.dm(agora.gateway.user_id)
    today = dt.datetime.now(PARIS).date()
    answer, reaction = await absent.command(
        dm, f"!absence du {today:%d/%m/%Y} au {today + dt.timedelta(days=3):%d/%m/%Y} "
        f"remplacé par {newcomer.user_id}",
    )  # fmt: skip
    assert reaction == "✅" and "pas encore membre vérifié" in answer.body, answer.body
    n = int(re.search(r"Absence n°(\d+)", answer.body).group(1))
    # Someone who is not of the territory reads none of its absences.
    outside = await newcomer.dm(agora.gateway.user_id)
    hidden, reaction = await newcomer.command(outside, f"!absences cpts-{sfx}")
    assert reaction == "❌" and "Seuls les membres du territoire" in hidden.body

    # The coordinator is asked, and puts the request to the admins.
    coordination = await coordinator.accept_direct_chat(agora.gateway.user_id)
    await coordinator.wait_for(
        lambda: [s for s in coordinator.seen if s.body.startswith(f"À faire — 🗓️ Absence n°{n}")],
        "the coordinator asked",
        60,
    )
    fields = f'nom="Jeanne Martin" profession=sage-femme rpps=10101234564 email=j.{sfx}@example.org'
    refused, reaction = await absent.command(dm, f"!absence parrainer {n} {fields}")
    assert reaction == "❌" and "réservée aux animateurs" in refused.body
    answer, reaction = await coordinator.command(coordination, f"!absence parrainer {n} {fields}")
    assert reaction == "✅" and "Demande n°" in answer.body, answer.body
    number = int(re.search(r"Demande n°(\d+)", answer.body).group(1))
    answer, reaction = await first.command(agora.control.room_id, f"!approve {number}")
    assert reaction == "✅" and "(1/2)" in answer.body
    assert (await agora.absences.absences.get(n)).status == "waiting"  # not before the quorum
    answer, reaction = await second.command(agora.control.room_id, f"!approve {number}")
    assert reaction == "✅" and "acceptée" in answer.body

    # Admitted for the period only: no territory of their own, the absent member's rooms lent.
    async def active() -> bool:
        return (await agora.absences.absences.get(n)).status == "active"

    await eventually(active, "the replacement lent the rooms", 60)
    info = await agora.vetting.requests.member_info(newcomer.user_id)
    assert info is not None and info.territory == ""
    assert f"cpts-{sfx}.communaute" in info.grants
    await newcomer.accept_invite(cpts)
    assert isinstance(await newcomer.client.join(community), JoinResponse)
    await agora.settled()
    assert await membership(agora, community, newcomer.user_id) == "join"

    # Back early: the access ends with the absence.
    done, reaction = await absent.command(dm, "!absence fin")
    assert reaction == "✅" and "terminée" in done.body

    async def out() -> bool:
        return await membership(agora, community, newcomer.user_id) == "leave"

    await eventually(out, "the replacement taken out", 60)
    info = await agora.vetting.requests.member_info(newcomer.user_id)
    assert info is not None and not info.grants


async def test_an_animator_taking_a_replacement_out_ends_the_lending(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, coordinator = await person("admin"), await person("coord")
    absent, replacement = await person("absente"), await person("remplacant")
    agora = await start_bot([admin.user_id], network=region(sfx, coordinator.user_id))
    await admin.accept_invite(agora.control.room_id)
    await vet(agora, absent.user_id, f"cpts-{sfx}")
    await vet(agora, replacement.user_id, f"var-{sfx}")
    await agora.settled()
    ids = await room_ids(agora)
    dm = await absent.dm(agora.gateway.user_id)
    today = dt.datetime.now(PARIS).date()
    answer, reaction = await absent.command(
        dm, f"!absence du {today:%d/%m/%Y} au {today + dt.timedelta(days=5):%d/%m/%Y} "
        f"remplacé par {replacement.user_id}",
    )  # fmt: skip
    assert reaction == "✅", answer.body
    n = int(re.search(r"Absence n°(\d+)", answer.body).group(1))

    async def lent() -> bool:
        info = await agora.vetting.requests.member_info(replacement.user_id)
        return f"cpts-{sfx}.communaute" in info.grants

    await eventually(lent, "the rooms lent", 60)
    await replacement.accept_invite(ids[f"cpts-{sfx}"])
    done, reaction = await coordinator.command(
        await coordinator.dm(agora.gateway.user_id), f"!remove {replacement.user_id}"
    )
    assert reaction == "✅", done.body
    assert not await lent()
    row = await agora.absences.absences.get(n)
    assert row.status == "active" and row.replacement is None  # the absence goes on
    assert await membership(agora, ids[f"cpts-{sfx}"], replacement.user_id) == "leave"
