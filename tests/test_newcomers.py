"""Newcomers welcomed under a coordinator, against a real Synapse: the welcome with the
territory's rules, rooms and coordination in a direct chat; the introduction in the community
room only after the newcomer says yes (✅); the week's arrivals, by profession and town only."""

from __future__ import annotations

import secrets
import time

import pytest
from nio import JoinResponse

from tests.test_provisioning import admitted
from tests.test_territories import room_ids

pytestmark = pytest.mark.integration
RULES = "Pas de données de patients identifiables. Présentez-vous avant de poster."


def region(sfx: str, coordinator: str) -> dict:
    return {
        "territories": [
            {
                "id": f"cpts-{sfx}",
                "name": "CPTS du Grand Avignon",
                "animators": [coordinator],
                "welcome": RULES,
                "rooms": [
                    {"id": "communaute", "name": "CPTS · Échanges", "kind": "community"},
                ],
            }
        ]
    }


async def test_a_newcomer_is_welcomed_then_introduced_only_after_saying_yes(person, start_bot):
    sfx = secrets.token_hex(3)
    first, second, coordinator = await person("admin"), await person("admin"), await person("co")
    newcomer, stranger = await person("nouvelle"), await person("inconnu")
    agora = await start_bot(
        [first.user_id, second.user_id], network=region(sfx, coordinator.user_id)
    )
    for admin in (first, second):
        await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    await admitted(
        agora,
        newcomer,
        first,
        second,
        f'!join nom="Léa Martin" profession=sage-femme rpps=10101234564 territoire=cpts-{sfx} '
        f"email=lea.{sfx}@example.org",
    )
    ids = await room_ids(agora)
    community = ids[f"cpts-{sfx}.communaute"]
    await newcomer.accept_invite(ids[f"cpts-{sfx}"])
    assert isinstance(await newcomer.client.join(community), JoinResponse)
    await agora.settled()
    dm = await coordinator.dm(agora.gateway.user_id)

    refused, reaction = await coordinator.command(dm, f"!accueil {stranger.user_id}")
    assert reaction == "❌" and "n'est pas membre" in refused.body
    sent, reaction = await coordinator.command(dm, f"!accueil {newcomer.user_id}")
    assert reaction == "✅" and "envoyé" in sent.body, sent.body
    again, reaction = await coordinator.command(dm, f"!accueil {newcomer.user_id}")
    assert reaction == "❌" and "déjà été accueilli" in again.body
    not_animator, reaction = await newcomer.command(
        next(s.room_id for s in newcomer.seen if "Bonne nouvelle" in s.body),
        f"!accueil {stranger.user_id}",
    )
    assert reaction == "❌" and "réservée aux animateurs" in not_animator.body

    welcome = (
        await newcomer.wait_for(
            lambda: [s for s in newcomer.seen if s.body.startswith("👋 Bienvenue")],
            "the welcome",
            60,
        )
    )[0]
    assert RULES in welcome.body and "CPTS · Échanges" in welcome.body
    assert coordinator.user_id in welcome.body and "Souhaitez-vous être présenté" in welcome.body
    # Nothing is said about her before she agrees.
    await agora.settled()
    assert not [s for s in newcomer.seen if "arrive à" in s.body]
    await newcomer.react(welcome.room_id, welcome.event_id, "✅")
    intro = await newcomer.wait_for(
        lambda: [s for s in newcomer.seen if s.room_id == community and "arrive à" in s.body],
        "the introduction",
        60,
    )
    assert intro[0].body.startswith("👋 Léa Martin, sage-femme, arrive à CPTS du Grand Avignon")
    late, reaction = await newcomer.command(welcome.room_id, "!accueil non")
    assert reaction == "❌" and "déjà répondu" in late.body

    # Monday morning: the week's arrivals, profession and town only.
    # The digest's moment itself, not past it: it covers the seven days before it, and run
    # just after a Monday 09:00 the next digest is a week ahead, when an arrival of a minute
    # ago is just inside its window.
    monday = agora.newcomers.next_digest(time.time())
    agora.jobs.clock.offset = monday + 1 - time.time()
    agora.jobs.kick()
    digest = await newcomer.wait_for(
        lambda: [s for s in newcomer.seen if s.body.startswith("Arrivées de la semaine")],
        "the digest",
        60,
    )
    assert "• sage-femme — CPTS du Grand Avignon" in digest[0].body
    assert "Léa" not in digest[0].body and newcomer.user_id not in digest[0].body
