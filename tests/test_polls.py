"""Polls against a real Synapse with E2EE people: a poll posted into the five rooms of a
territory and those below it, answered in different rooms (one person changes their answer,
one answers in two rooms), the bot restarted in the middle (responses sent while it is down
are counted, none twice), ended at its deadline by the scheduled job: each room gets the end
referring to its start and the combined result."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from nio import UnknownEvent

from bot.polls.model import END_TYPE, START_TYPE, TEXT
from bot.store.polls import PollStore
from tests.conftest import register, vet
from tests.people import Person, Seen
from tests.test_territories import eventually, room_ids

pytestmark = pytest.mark.integration
RESPONSE_TYPE = "org.matrix.msc3381.poll.response"


def region(sfx: str, animator: str, other: str = "@nobody:example.org") -> dict[str, Any]:
    """Vaucluse (its animator's) with two territories below it (Carpentras has an animator of
    its own, ``other``): five rooms to vote in, and an announcements room where members cannot
    answer (no poll there)."""
    return {
        "territories": [
            {
                "id": f"vaucluse-{sfx}",
                "name": "Vaucluse",
                "animators": [animator],
                "rooms": [
                    {"id": "communaute", "name": "Vaucluse · Communauté", "kind": "community"},
                    {"id": "annonces", "name": "Vaucluse · Annonces", "kind": "announcements"},
                ],
                "territories": [
                    {
                        "id": f"avignon-{sfx}",
                        "name": "Avignon",
                        "rooms": [
                            {"id": "communaute", "name": "Avignon · Échanges", "kind": "community"},
                            {
                                "id": "remplacements",
                                "name": "Avignon · Remplacements",
                                "kind": "replacements",
                            },
                        ],
                    },
                    {
                        "id": f"carpentras-{sfx}",
                        "name": "Carpentras",
                        "animators": [other],
                        "rooms": [
                            {
                                "id": "communaute",
                                "name": "Carpentras · Échanges",
                                "kind": "community",
                            },
                            {"id": "garde", "name": "Carpentras · Garde", "kind": "oncall"},
                        ],
                    },
                ],
            }
        ]
    }


def of_type(someone: Person, room_id: str, event_type: str) -> list[Seen]:
    return [
        s for s in someone.seen if s.room_id == room_id and s.event.source.get("type") == event_type
    ]


async def respond(someone: Person, room_id: str, start: str, answer: str) -> str:
    """A poll response as Element sends one in an encrypted room: encrypted, its reference to
    the poll kept in the clear for the server's relations."""
    relation = {"rel_type": "m.reference", "event_id": start}
    content = {"m.relates_to": relation, RESPONSE_TYPE: {"answers": [answer]}}
    client = someone.client
    async with someone._sending:
        if not client.rooms[room_id].members_synced:
            await client.joined_members(room_id)
        if client.olm.should_share_group_session(room_id):
            await client.share_group_session(room_id, ignore_unverified_devices=True)
        event_type, encrypted = client.encrypt(room_id, RESPONSE_TYPE, content)
        encrypted["m.relates_to"] = relation
        return await someone.send_raw(room_id, event_type, encrypted)


async def test_a_poll_over_five_rooms_is_counted_together_across_a_restart(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, animator, other = await person("admin"), await person("anim"), await person("anim")
    ide, med = await person("ide"), await person("medecin")
    kine, sage = await person("kine"), await person("sagefemme")
    people = (ide, med, kine, sage)
    for someone in people:  # the poll's events are read as they come, not only messages
        someone.client.add_event_callback(someone._on_event, UnknownEvent)
    network = region(sfx, animator.user_id, other.user_id)
    settings: dict[str, Any] = {
        "network": network,
        "vetting": {
            "provisioning": {
                "force_join": True,
                "rules": [{"rooms": ["community", "announcements", "oncall", "replacements"]}],
            }
        },
    }
    agora = await start_bot([admin.user_id], **settings)
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    ids = await room_ids(agora)
    vaucluse = ids[f"vaucluse-{sfx}.communaute"]
    avignon, remplacements = ids[f"avignon-{sfx}.communaute"], ids[f"avignon-{sfx}.remplacements"]
    carpentras, garde = ids[f"carpentras-{sfx}.communaute"], ids[f"carpentras-{sfx}.garde"]
    five = (vaucluse, avignon, remplacements, carpentras, garde)
    # Who reads (and answers) where: everyone is in Vaucluse's room too.
    reader = {vaucluse: med, avignon: ide, remplacements: med, carpentras: sage, garde: kine}
    for someone, territory in ((ide, "avignon"), (med, "avignon"), (kine, "carpentras"),
                               (sage, "carpentras")):  # fmt: skip
        await vet(agora, someone.user_id, f"{territory}-{sfx}")
        await agora.vetting.outcomes.provision(someone.user_id)
    for room_id, someone in reader.items():
        await someone.wait_for(lambda r=room_id, s=someone: r in s.client.rooms, "the room")
        await agora.gateway.wait_for_member(room_id, someone.user_id)

    # Refused, named: a member, an animator of the territory below, too few answers or too
    # many, a territory unknown, a deadline past.
    member, reaction = await ide.command(avignon, '!vote "Quand ?" "Mardi" "Jeudi"')
    assert reaction == "❌" and "réservée aux animateurs" in member.body, member.body
    below = await other.dm(agora.gateway.user_id)
    wrong, reaction = await other.command(
        below, f'!vote "Quand ?" "Mardi" "Jeudi" --territoire vaucluse-{sfx}'
    )
    assert reaction == "❌" and f"animateurs du territoire vaucluse-{sfx}" in wrong.body
    dm = await animator.dm(agora.gateway.user_id)
    many = " ".join(f'"Choix {i}"' for i in range(21))
    wrong, reaction = await animator.command(
        dm, f'!vote "Quand ?" {many} --territory vaucluse-{sfx}'
    )
    assert reaction == "❌" and "Au plus 20 réponses" in wrong.body, wrong.body
    wrong, reaction = await animator.command(
        dm, f'!vote "Quand ?" "Mardi" --territory vaucluse-{sfx}'
    )
    assert reaction == "❌" and "au moins deux réponses" in wrong.body, wrong.body
    wrong, reaction = await animator.command(
        dm, '!vote "Quand ?" "Mardi" "Jeudi" --territory nulle-part'
    )
    assert reaction == "❌" and "Territoire inconnu : nulle-part" in wrong.body, wrong.body
    wrong, reaction = await animator.command(
        dm, f'!vote "Quand ?" "Mardi" "Jeudi" --territory vaucluse-{sfx} --until 01/01/2020'
    )
    assert reaction == "❌" and "échéance est passée" in wrong.body, wrong.body

    answer, reaction = await animator.command(
        dm,
        f'!vote "Quand se réunir ?" "Mardi 14h" "Jeudi 18h" "Samedi 9h" --territory vaucluse-{sfx}',
    )
    assert reaction == "✅" and "publié dans 5 salons" in answer.body, answer.body
    polls = PollStore(agora.store)
    (poll,) = [p for p in await polls.open_polls() if p.author == animator.user_id]

    # Each of the five rooms gets the poll, as a poll; the announcements room none.
    starts: dict[str, Seen] = {}
    for room_id, someone in reader.items():
        (starts[room_id],) = await someone.wait_for(
            lambda r=room_id, s=someone: of_type(s, r, START_TYPE), "the poll", 60
        )
        assert starts[room_id].encrypted
        content = starts[room_id].content[START_TYPE]
        assert content["question"][TEXT] == "Quand se réunir ?"
        assert [a[TEXT] for a in content["answers"]] == ["Mardi 14h", "Jeudi 18h", "Samedi 9h"]
    assert {r.room_id for r in await polls.rooms(poll.id)} == set(five)
    ids_of = {a[TEXT]: a["id"] for a in starts[avignon].content[START_TYPE]["answers"]}
    mardi, jeudi, samedi = ids_of["Mardi 14h"], ids_of["Jeudi 18h"], ids_of["Samedi 9h"]

    async def recorded(n: int) -> bool:
        return len(await PollStore(agora.store).responses(poll.id)) >= n

    await respond(ide, avignon, starts[avignon].event_id, mardi)
    await respond(med, remplacements, starts[remplacements].event_id, samedi)
    await eventually(lambda: recorded(2), "the first two responses recorded", 60)

    # The bot stops; meanwhile the nurse changes her mind and the doctor answers again in
    # another room: each person's latest response is their vote.
    await agora.stop()
    await respond(ide, avignon, starts[avignon].event_id, jeudi)
    await respond(med, vaucluse, starts[vaucluse].event_id, jeudi)
    agora = await start_bot(
        [admin.user_id], account=agora.account, data_dir=agora.data_dir, **settings
    )
    await respond(kine, garde, starts[garde].event_id, mardi)
    await respond(sage, carpentras, starts[carpentras].event_id, samedi)
    await eventually(lambda: recorded(6), "every response recorded", 60)
    assert len(await PollStore(agora.store).responses(poll.id)) == 6  # none twice

    # The deadline (3 days by default): the scheduled job ends the poll in each room, then
    # the result follows once late responses had time to arrive.
    agora.jobs.advance(3 * 86400 + 60)
    for room_id, someone in reader.items():
        (end,) = await someone.wait_for(
            lambda r=room_id, s=someone: of_type(s, r, END_TYPE), "the poll's end", 60
        )
        relation = end.content["m.relates_to"]
        assert relation == {"rel_type": "m.reference", "event_id": starts[room_id].event_id}
        assert "Quand se réunir ?" in end.content[TEXT]
    agora.jobs.advance(agora.config.polls.settle + 1)
    for room_id, someone in reader.items():
        (result,) = await someone.wait_for(
            lambda r=room_id, s=someone: [
                x for x in s.seen if x.room_id == r and x.body.startswith("📊")
            ],
            "the result",
            60,
        )
        assert result.reply_to == starts[room_id].event_id
        assert "4 personnes ont voté dans 5 salons" in result.body, result.body
        assert "- Mardi 14h : 1 voix (25 %)" in result.body, result.body
        assert "- Jeudi 18h : 2 voix (50 %)" in result.body, result.body
        assert "- Samedi 9h : 1 voix (25 %)" in result.body, result.body
    await eventually(lambda: _done(agora, poll.id), "the poll done and its responses forgotten", 30)


async def _done(agora, poll_id: int) -> bool:
    polls = PollStore(agora.store)
    row = await polls.get(poll_id)
    return row is not None and row.status == "done" and not await polls.responses(poll_id)


async def test_element_shows_the_poll_votes_in_it_and_sees_it_ended_early(
    homeserver, person, start_bot
):
    """matrix-js-sdk (Element's stack) makes a poll of the start, its vote (as Element sends
    one) is counted, and the end its author's `!vote fin` sends closes the poll there."""
    from tests.element import ElementClient

    sfx = secrets.token_hex(3)
    admin = await person("admin")
    user_id, password = await register(homeserver, "ide")
    network = {
        "territories": [
            {
                "id": f"club-{sfx}",
                "name": "Club",
                "rooms": [{"id": "echanges", "name": "Club · Échanges", "kind": "community"}],
            }
        ]
    }
    agora = await start_bot(
        [admin.user_id], network=network, vetting={"provisioning": {"force_join": True}}
    )
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    room = (await room_ids(agora))[f"club-{sfx}.echanges"]
    control = agora.control.room_id
    async with await ElementClient.login(homeserver.url, user_id, password) as element:
        await vet(agora, user_id, f"club-{sfx}")
        await agora.vetting.outcomes.provision(user_id)
        await agora.gateway.wait_for_member(room, user_id)
        answer, reaction = await admin.command(
            control, f'!vote "On garde le jeudi ?" "Oui" "Non" --territory club-{sfx}'
        )
        assert reaction == "✅" and "publié dans 1 salon ;" in answer.body, answer.body
        polls = PollStore(agora.store)
        (poll,) = [p for p in await polls.open_polls() if p.author == admin.user_id]

        async def started() -> str | None:
            return (await polls.rooms(poll.id))[0].start_event

        start = await eventually(started, "the poll posted")
        seen = await element.poll(room, start, timeout=60)
        assert seen["question"] == "On garde le jeudi ?" and not seen["ended"]
        assert [a["text"] for a in seen["answers"]] == ["Oui", "Non"]
        assert seen["kind"] == "org.matrix.msc3381.poll.disclosed" and seen["maxSelections"] == 1

        await element.vote(room, start, [seen["answers"][1]["id"]])

        async def recorded() -> bool:
            return len(await polls.responses(poll.id)) == 1

        await eventually(recorded, "Element's vote recorded", 60)
        answer, reaction = await admin.command(control, f"!vote fin {poll.id}")
        assert reaction == "✅" and f"Vote n°{poll.id} clos" in answer.body, answer.body
        ended = await element.poll(room, start, ended=True, timeout=60)
        assert ended["endEventId"] == (await polls.rooms(poll.id))[0].end_event
        again, reaction = await admin.command(control, f"!vote fin {poll.id}")
        assert reaction == "❌" and "déjà clos" in again.body, again.body

        agora.jobs.advance(agora.config.polls.settle + 1)
        result = await element.wait_for_event(
            room, sender=agora.gateway.user_id, reply_to=start, body_contains="📊", timeout=60
        )
        assert "1 personne a voté dans 1 salon" in result["body"], result["body"]
        assert (
            "- Oui : 0 voix (0 %)" in result["body"] and "- Non : 1 voix (100 %)" in result["body"]
        )
