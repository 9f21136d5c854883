"""Surveys against a real Synapse, with E2EE clients: an animator writes one in a direct chat
(across a restart of the bot), members of its audience get it in theirs and answer one question
at a time, stop and resume, change an answer; the results are only aggregates, where a group of
three is never shown, and the store keeps no user id with an anonymous survey's answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
import time
from zoneinfo import ZoneInfo

import pytest
from nio import RoomEncryptedFile, RoomEncryptedImage
from nio.crypto import decrypt_attachment

from bot.reports.chart import PNG_SIGNATURE
from bot.store.vetting import VettingStore
from tests.conftest import BotAccount
from tests.test_territories import eventually

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")


def region(sfx: str, animator: str) -> dict:
    return {
        "territories": [
            {
                "id": f"sud-{sfx}",
                "name": f"Sud {sfx}",
                "animators": [animator],
                "territories": [
                    {
                        "id": f"vaucluse-{sfx}",
                        "name": f"Vaucluse {sfx}",
                        "rooms": [{"id": "communaute", "name": "Communauté", "kind": "community"}],
                    },
                    {"id": f"var-{sfx}", "name": f"Var {sfx}"},
                ],
            }
        ]
    }


async def member(agora, user_id: str, territory: str, profession: str) -> None:
    """A vetted member of ``territory`` whose request said ``profession``."""
    async with agora.store.transaction() as db:
        cur = await db.execute(
            "INSERT INTO requests (source, user_id, name, profession, territory, email, "
            "submitted_by, status, created) VALUES ('matrix', ?, 'X', ?, ?, 'x@example.org', ?, "
            "'approved', ?)",
            (user_id, profession, territory, user_id, time.time()),
        )
        request_id = cur.lastrowid
    await VettingStore(agora.store).add_member(user_id, request_id, territory)


def from_bot(someone, bot: str, room_id: str, seen: set[str]):
    return [
        s
        for s in someone.seen
        if s.event_id not in seen and s.event.sender == bot and s.room_id == room_id
    ]


async def fetched(someone, seen) -> bytes:
    """An attachment downloaded and decrypted (the server holds only ciphertext)."""
    assert seen.encrypted and "url" not in seen.content
    file = seen.content["file"]
    downloaded = await someone.client.download(mxc=file["url"])
    return decrypt_attachment(
        downloaded.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"]
    )


async def say(someone, bot: str, room_id: str, text: str) -> str:
    """Send ``text`` in the direct chat; the bot's next message there."""
    before = {s.event_id for s in someone.seen}
    await someone.say(room_id, text)
    new = await someone.wait_for(
        lambda: from_bot(someone, bot, room_id, before), f"an answer to {text!r}", 60
    )
    return new[0].body


async def test_a_survey_is_written_answered_and_shown_only_in_aggregate(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, animator = await person("admin"), await person("animatrice")
    agora = await start_bot(
        [admin.user_id], network=region(sfx, animator.user_id), surveys={"min_group": 4}
    )
    bot = agora.gateway.user_id
    # Four doctors in Vaucluse, three nurses in the Var: the Var (3) is a group too small.
    doctors = [await person(f"medecin{i}") for i in range(4)]
    nurses = [await person(f"infirmiere{i}") for i in range(3)]
    for someone in doctors:
        await member(agora, someone.user_id, f"vaucluse-{sfx}", "medecin")
    for someone in nurses:
        await member(agora, someone.user_id, f"var-{sfx}", "infirmier")
    midwife = await person("sagefemme")  # who will not answer
    await member(agora, midwife.user_id, f"vaucluse-{sfx}", "sage-femme")
    rooms = {s.user_id: await s.dm(bot) for s in (*doctors, *nurses, midwife)}

    # The animator writes it; a member may not.
    refused, reaction = await doctors[0].command(rooms[doctors[0].user_id], "!sondage créer")
    assert reaction == "❌", refused.body
    dm = await animator.dm(bot)
    opening, reaction = await animator.command(dm, "!sondage créer")
    assert reaction == "✅" and "Quel est le titre du sondage ?" in opening.body
    assert "de quel type" in await say(animator, bot, dm, "Qualité de vie au travail")
    assert "intitulé" in await say(animator, bot, dm, "1")
    assert "options" in await say(animator, bot, dm, "Votre charge de travail ?")

    # The bot restarts mid-way: the draft is where it was.
    await agora.settled()
    account, data_dir = agora.account, agora.data_dir
    await agora.stop()
    agora = await start_bot(
        [admin.user_id],
        account=BotAccount(account.localpart, account.password),
        data_dir=data_dir,
        network=region(sfx, animator.user_id),
        surveys={"min_group": 4},
    )
    assert "Question 2" in await say(animator, bot, dm, "Légère ; Normale ; Lourde")
    assert "intitulé" in await say(animator, bot, dm, "2")
    assert "Question 3" in await say(animator, bot, dm, "Votre satisfaction ?")
    asked = await say(animator, bot, dm, "fin")
    assert f"Vaucluse {sfx}" in asked and f"Var {sfx}" in asked
    assert "professions" in await say(animator, bot, dm, "tous")
    assert "Anonyme" in await say(animator, bot, dm, "toutes")
    assert "Jusqu'à quand" in await say(animator, bot, dm, "oui")
    closes = dt.datetime.now(PARIS).date() + dt.timedelta(days=10)
    summary = await say(animator, bot, dm, f"{closes:%d/%m/%Y}")
    assert "J'envoie ce sondage ?" in summary and "1. Votre charge de travail ?" in summary
    opened = await say(animator, bot, dm, "oui")
    assert "envoyé à 8 personnes" in opened, opened
    number = int(opened.split("n°")[1].split()[0])

    # Each member gets it in their direct chat, with its first question.
    for someone in (*doctors, *nurses, midwife):
        room = rooms[someone.user_id]
        got = await someone.wait_for(
            lambda s=someone, r=room: [m for m in from_bot(s, bot, r, set()) if "📋" in m.body],
            "the survey",
            120,
        )
        assert "Question 1/2 — Votre charge de travail ?" in got[0].body
        assert "anonyme" in got[0].body

    # Everyone answers; a wrong answer is asked again.
    first = doctors[0]
    room = rooms[first.user_id]
    assert "un numéro de 1 à 3" in await say(first, bot, room, "7")
    assert "Question 2/2" in await say(first, bot, room, "1")
    # She stops, then resumes where she was.
    resumed, reaction = await first.command(room, "!sondage reprendre")
    assert reaction == "✅" and "Question 2/2 — Votre satisfaction ?" in resumed.body
    assert "Merci" in await say(first, bot, room, "5")
    for i, someone in enumerate([*doctors[1:], *nurses]):
        r = rooms[someone.user_id]
        assert "Question 2/2" in await say(someone, bot, r, "2" if i < 3 else "3")
        assert "Merci" in await say(someone, bot, r, "4")

    # A nurse changes her answer until the close.
    nurse = nurses[0]
    r = rooms[nurse.user_id]
    before, reaction = await nurse.command(r, "!sondage modifier 1")
    assert reaction == "✅" and "Votre réponse actuelle : Lourde" in before.body
    changed = await say(nurse, bot, r, "2")
    assert "Réponse à la question 1 changée : Normale" in changed

    # Results: counts over everyone, by group only where a group is big enough.
    asked = await animator.say(dm, f"!sondage résultats {number}")
    assert await animator.reaction_to(asked, timeout=180) == "✅"
    replies = await animator.wait_for(
        lambda: len(animator.replies_to(asked)) >= 3 and animator.replies_to(asked), "3 replies"
    )
    text = next(s for s in replies if s.content.get("msgtype") == "m.notice").body
    assert "Envoyé à 8 personnes ; 7 ont commencé, 7 ont tout rempli." in text
    assert "• Légère : 1" in text and "• Normale : 4" in text and "• Lourde : 2" in text
    # Three nurses of the Var: never shown, nor by subtraction (the totals minus the Vaucluse's
    # doctors): with two groups, one of them small, no breakdown at all.
    assert f"Vaucluse {sfx} (" not in text and f"Var {sfx}" not in text
    assert "infirmier" not in text and "autres" not in text
    # The same as an encrypted picture and an encrypted CSV, where no small group shows either.
    image = next(s for s in replies if isinstance(s.event, RoomEncryptedImage))
    assert (await fetched(animator, image)).startswith(PNG_SIGNATURE)
    sheet = next(s for s in replies if isinstance(s.event, RoomEncryptedFile))
    rows = list(csv.reader(io.StringIO((await fetched(animator, sheet)).decode("utf-8-sig"))))
    assert rows[0] == ["question", "répartition", "groupe", "réponse", "nombre"]
    assert ["1. Votre charge de travail ?", "ensemble", "", "Normale", "4"] in rows
    assert not [row for row in rows[1:] if row[1] != "ensemble"]  # no group, as in the text
    refused, reaction = await nurse.command(r, f"!sondage résultats {number}")
    assert reaction == "❌"
    # Published in a room of the network, where its members read it.
    await agora.settled()
    published, reaction = await animator.command(
        dm, f"!sondage publier {number} vaucluse-{sfx}.communaute"
    )
    assert reaction == "✅" and "publiés" in published.body, published.body

    # The store links no answer to anyone: no user id beside the answers.
    people = {s.user_id for s in (*doctors, *nurses)}
    for table in ("survey_responses", "survey_answers"):
        async with agora.store.db.execute(f"SELECT * FROM {table}") as cur:
            cells = {str(c) for row in await cur.fetchall() for c in row}
        assert cells and not any(p in c for p in people for c in cells), table

    # Two days before the close, only who has not finished is reminded; then it closes.
    agora.jobs.advance(9 * 86400)
    reminded = await midwife.wait_for(
        lambda: [
            m for m in from_bot(midwife, bot, rooms[midwife.user_id], set()) if "⏰" in m.body
        ],
        "the reminder",
        60,
    )
    assert f"le sondage n°{number}" in reminded[0].body
    before = {s.event_id for s in animator.seen}
    agora.jobs.advance(2 * 86400)
    told = await animator.wait_for(
        lambda: [m for m in from_bot(animator, bot, dm, before) if "📊" in m.body],
        "the results at the close",
        60,
    )
    assert "clos le" in told[0].body and f"Var {sfx}" not in told[0].body
    assert not [m for m in from_bot(first, bot, rooms[first.user_id], set()) if "⏰" in m.body]
    late, reaction = await nurse.command(r, f"!sondage modifier 1 {number}")
    assert reaction == "❌" and "est clos" in late.body
    async with agora.store.db.execute(
        "SELECT secret, status FROM surveys WHERE id = ?", (number,)
    ) as cur:
        assert tuple(await cur.fetchone()) == (None, "closed")  # no token can be made again
    async with agora.store.db.execute(
        "SELECT DISTINCT territory FROM survey_responses WHERE survey_id = ?", (number,)
    ) as cur:
        kept = {row[0] for row in await cur.fetchall()}
    # The three in the Var not written down as such, nor the Vaucluse (the rest is the Var).
    assert kept == {"other"}


async def test_a_delivery_cut_by_a_restart_reaches_everyone_once(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, animator = await person("admin"), await person("animatrice")
    network = region(sfx, animator.user_id)
    slow = {"pace_per_second": 0.5}  # one chat every two seconds: the restart falls mid-way
    agora = await start_bot([admin.user_id], network=network, surveys=slow)
    bot = agora.gateway.user_id
    members = [await person(f"membre{i}") for i in range(4)]
    for someone in members:
        await member(agora, someone.user_id, f"var-{sfx}", "medecin")
    rooms = {s.user_id: await s.dm(bot) for s in members}
    english, reaction = await members[1].command(rooms[members[1].user_id], "!language en")
    assert reaction == "✅", english.body
    data = {
        "title": "Horaires",
        "questions": [{"kind": "scale", "text": "Vos horaires vous conviennent ?"}],
        "territories": [f"sud-{sfx}"],
        "professions": [],
        "anonymous": True,
        "closes": time.time() + 7 * 86400,
    }
    assert "envoyé à 4 personnes" in await agora.surveys.launch(animator.user_id, data, "fr")

    def invitations(someone) -> list:
        room = rooms[someone.user_id]
        return [m for m in from_bot(someone, bot, room, set()) if "📋" in m.body]

    await members[0].wait_for(lambda: invitations(members[0]), "the first delivery", 60)
    account, data_dir = agora.account, agora.data_dir
    await agora.stop()
    agora = await start_bot(
        [admin.user_id],
        account=BotAccount(account.localpart, account.password),
        data_dir=data_dir,
        network=network,
        surveys=slow,
    )
    for someone in members:
        await someone.wait_for(lambda s=someone: invitations(s), "the survey", 120)

    async def delivered() -> bool:
        async with agora.store.db.execute(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'surveys.deliver' AND status = 'pending'"
        ) as cur:
            return (await cur.fetchone())[0] == 0

    await eventually(delivered, "the delivery job done")
    # Each got it once: a send repeated after the restart met the one already stored.
    assert [len(invitations(s)) for s in members] == [1, 1, 1, 1]
    # Each in their language: the questions as written, the rest in theirs.
    assert "Survey no." in invitations(members[1])[0].body
    assert "Answer from 1 (not at all) to 5" in invitations(members[1])[0].body
    assert "Sondage n°" in invitations(members[2])[0].body
    async with agora.store.db.execute(
        "SELECT status, COUNT(*) FROM survey_deliveries GROUP BY status"
    ) as cur:
        assert [tuple(r) for r in await cur.fetchall()] == [("sent", 4)]
