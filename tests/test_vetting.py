"""Vetting against a real Synapse with E2EE clients: asking in a direct chat, two admins
deciding in the control room, the applicant told and provisioned."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import re
import secrets

import pytest
from nio import JoinResponse

from bot.store import Store
from bot.store.vetting import VettingStore
from bot.vetting.decisions import CONCLUDE_JOB
from tests.conftest import agora_cli
from tests.test_territories import eventually, room_ids

pytestmark = pytest.mark.integration


def network(sfx: str) -> dict:
    return {
        "territories": [
            {
                "id": f"vaucluse-{sfx}",
                "name": "Vaucluse",
                "rooms": [
                    {"id": "communaute", "name": "Vaucluse · Communauté", "kind": "community"}
                ],
            }
        ]
    }


def join_line(sfx: str, **override: str) -> str:
    fields = {
        "nom": '"Corinne Durand"',
        "profession": "infirmier",
        "rpps": "10101234564",
        "territoire": f"vaucluse-{sfx}",
        "structure": '"Cabinet des Lices"',
        "email": f"c.durand.{sfx}@example.org",
        **override,
    }
    return "!join " + " ".join(f"{k}={v}" for k, v in fields.items())


@pytest.fixture
async def region(person, start_bot):
    return await two_admins(person, start_bot)


async def two_admins(person, start_bot):
    """A bot with a one-territory network and two admins in its control room."""
    sfx = secrets.token_hex(3)
    first, second = await person("admin"), await person("admin")
    agora = await start_bot([first.user_id, second.user_id], network=network(sfx))
    for admin in (first, second):
        await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    return agora, first, second, sfx


def request_number(text: str) -> int:
    return int(re.search(r"#(\d+)", text).group(1))


async def file_request(agora, nurse, admin, sfx: str) -> tuple[str, int, object]:
    """The nurse asks in a direct chat; returns the chat, the request number and its card as
    the admin sees it."""
    dm = await nurse.dm(agora.gateway.user_id)
    reply, reaction = await nurse.command(dm, join_line(sfx))
    assert reaction == "✅" and "enregistrée" in reply.body
    number = request_number(reply.body)
    card = await admin.wait_for(
        lambda: [
            s
            for s in admin.seen
            if s.room_id == agora.control.room_id
            and f"Demande #{number} — Corinne Durand" in s.body
        ],
        "the request's card",
    )
    return dm, number, card[0]


async def test_two_admins_admit_a_nurse_who_lands_in_the_encrypted_rooms(region, person):
    agora, first, second, sfx = region
    control = agora.control.room_id
    nurse = await person("infirmiere")
    dm, number, card = await file_request(agora, nurse, first, sfx)
    assert "RPPS 10101234564" in card.body and "Validations : 0/2" in card.body

    answer, reaction = await first.command(control, f"!approve {number}")
    assert reaction == "✅" and "(1/2)" in answer.body  # one admin is not enough
    space = (await room_ids(agora))[f"vaucluse-{sfx}"]
    assert (
        space not in nurse.invites
        and await agora.vetting.requests.member_territory(nurse.user_id) is None
    )

    answer, reaction = await second.command(control, f"!approve #{number} vue au téléphone")
    assert reaction == "✅" and "acceptée" in answer.body
    told = await nurse.wait_for(
        lambda: [s for s in nurse.seen if s.room_id == dm and "Bonne nouvelle" in s.body],
        "the good news",
    )
    assert told[0].encrypted
    edited = await first.wait_for(
        lambda: [
            s
            for s in first.seen
            if s.content.get("m.relates_to", {}).get("event_id") == card.event_id
            and "acceptée" in s.content["m.new_content"]["body"]
        ],
        "the card to show the outcome",
    )
    assert "Validations : 2/2" in edited[-1].content["m.new_content"]["body"]

    refused, reaction = await first.command(control, f"!forget {nurse.user_id}")
    assert reaction == "❌" and "membre actif" in refused.body  # members are revoked first

    await nurse.accept_invite(space)
    community = (await room_ids(agora))[f"vaucluse-{sfx}.communaute"]
    assert isinstance(await nurse.client.join(community), JoinResponse)
    await first.accept_invite(space)
    assert isinstance(await first.client.join(community), JoinResponse)
    await nurse.wait_for(
        lambda: first.user_id in nurse.client.rooms[community].users, "the admin in the room"
    )
    said = await first.say(community, "Bienvenue Corinne !")
    welcome = await nurse.wait_for(
        lambda: [s for s in nurse.seen if s.event_id == said], "the welcome message"
    )
    assert welcome[0].encrypted and welcome[0].body == "Bienvenue Corinne !"
    assert any(e["action"] == "vetting.provision" for e in await agora.store.audit_entries())

    listed, _ = await first.command(control, f"!members vaucluse-{sfx}")
    assert "1 membre :" in listed.body and f"{nurse.user_id} — Corinne Durand" in listed.body
    out = agora.data_dir.parent / "members.csv"
    exported = await agora_cli(
        "export-members",
        "--config",
        str(agora.config_path),
        "--data-dir",
        str(agora.data_dir),
        "--output",
        str(out),
    )
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open()))
    # A cell a spreadsheet would run as a formula (a leading @, =, +, - …) is made text.
    assert [(r["user_id"], r["name"], r["rpps"]) for r in rows] == [
        ("'" + nurse.user_id, "Corinne Durand", "10101234564")
    ]
    assert oct(out.stat().st_mode & 0o777) == "0o600"


async def test_an_admin_cannot_approve_their_own_request(region):
    agora, first, _, sfx = region
    dm = await first.dm(agora.gateway.user_id)
    reply, _ = await first.command(dm, join_line(sfx, email="moi@example.org"))
    number = request_number(reply.body)
    refusal, reaction = await first.command(agora.control.room_id, f"!approve {number}")
    assert reaction == "❌"
    assert "Vous ne pouvez pas statuer sur une demande que vous avez faite" in refusal.body


async def test_a_rejection_reaches_the_applicant_with_its_reason(region, person):
    agora, first, _, sfx = region
    applicant = await person("pharmacien")
    dm = await applicant.dm(agora.gateway.user_id)
    reply, _ = await applicant.command(dm, join_line(sfx, profession="pharmacien"))
    number = request_number(reply.body)
    missing, reaction = await first.command(agora.control.room_id, f"!reject {number}")
    assert reaction == "❌" and "Usage : !reject <demande> <motif>" in missing.body
    answer, reaction = await first.command(
        agora.control.room_id, f"!reject {number} RPPS absent de l'annuaire"
    )
    assert reaction == "✅" and "refusée" in answer.body
    told = await applicant.wait_for(
        lambda: [s for s in applicant.seen if s.room_id == dm and "refusée" in s.body],
        "the rejection",
    )
    assert "Motif : RPPS absent de l'annuaire" in told[0].body
    status, _ = await applicant.command(dm, "!request")
    assert f"Demande #{number} : refusée." in status.body
    assert "RPPS absent de l'annuaire" in status.body

    # GDPR: once refused, the person's data can be erased; a minimal trace stays.
    erased, reaction = await first.command(agora.control.room_id, f"!forget {applicant.user_id}")
    assert reaction == "✅" and "effacées (1 demande(s))" in erased.body
    row = await agora.vetting.requests.request(number)
    assert (row.name, row.email, row.rpps, row.structure, row.reason) == ("", "", None, "", None)
    assert (row.status, row.territory) == ("rejected", f"vaucluse-{sfx}")
    assert any(e["action"] == "vetting.forget" for e in await agora.store.audit_entries())
    # Nothing they typed, no note about them and no token remains anywhere in the store.
    db = agora.store.db
    for table, column in (("inbox", "body"), ("audit", "detail"), ("events", "payload")):
        async with db.execute(f"SELECT {column} FROM {table}") as cur:
            text = " ".join(r[0] for r in await cur.fetchall())
        for secret in ("10101234564", f"c.durand.{sfx}@example.org", "Corinne", "annuaire"):
            assert secret not in text, (table, secret)
    async with db.execute(
        "SELECT reg_token, status_hash, email_hash FROM requests WHERE id = ?", (number,)
    ) as cur:
        assert tuple(await cur.fetchone()) == (None, None, None)


async def test_bad_input_names_the_fields_and_stores_nothing(region, person):
    agora, _, _, sfx = region
    applicant = await person("medecin")
    dm = await applicant.dm(agora.gateway.user_id)
    reply, reaction = await applicant.command(
        dm,
        join_line(
            sfx,
            profession="medecin",
            rpps="10101234565",
            territoire="lyon",
            structure='"' + "x" * 10_000 + '"',
        ),
    )
    assert reaction == "❌"
    assert "Champ « rpps » : numéro RPPS invalide (clé de contrôle incorrecte)" in reply.body
    assert "Champ « territory » : territoire inconnu" in reply.body
    assert "Champ « structure » : 150 caractères au plus" in reply.body
    assert await VettingStore(agora.store).requests(user_id=applicant.user_id) == []


async def test_html_in_a_field_is_shown_as_text(region, person):
    agora, first, _, sfx = region
    applicant = await person("usager")
    dm = await applicant.dm(agora.gateway.user_id)
    reply, _ = await applicant.command(
        dm,
        join_line(
            sfx,
            nom='"<script>alert(1)</script> Dupont"',
            profession="representant-usagers",
            rpps='""',
        ),
    )
    number = request_number(reply.body)
    card = await first.wait_for(
        lambda: [s for s in first.seen if f"Demande #{number}" in s.body], "the card"
    )
    assert "<script>" not in card[0].content["formatted_body"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Dupont" in card[0].content["formatted_body"]


async def test_an_approval_cut_short_by_a_crash_is_carried_out_after_restart(
    region, person, start_bot
):
    agora, first, second, sfx = region
    nurse = await person("infirmiere")
    dm = await nurse.dm(agora.gateway.user_id)
    reply, _ = await nurse.command(dm, join_line(sfx))
    number = request_number(reply.body)
    await first.command(agora.control.room_id, f"!approve {number}")
    await agora.stop()

    # What the bot had written when it died right after the second approval: the decision and
    # the closed request with its job, nothing sent yet.
    store = await Store.open(agora.data_dir / "agora.db")
    requests = VettingStore(store)
    await requests.record_decision(number, second.user_id, "approve", "")
    assert await requests.close_request(number, "approved", then=CONCLUDE_JOB)
    await store.close()

    again = await start_bot(
        [first.user_id, second.user_id],
        account=agora.account,
        data_dir=agora.data_dir,
        network=network(sfx),
    )
    space = (await room_ids(again))[f"vaucluse-{sfx}"]
    await nurse.wait_for(lambda: space in nurse.invites, "the invitation after the restart")
    await nurse.wait_for(
        lambda: [s for s in nurse.seen if "Bonne nouvelle" in s.body],
        "the good news after the restart",
    )
    await nurse.command(dm, "!request")  # a later answer: the news came before it, once
    assert len([s for s in nurse.seen if "Bonne nouvelle" in s.body]) == 1
    assert await again.store.due_jobs() == []


async def test_reactions_on_the_card_approve_and_ask_for_a_reason(region, person):
    agora, first, second, sfx = region
    control = agora.control.room_id
    nurse = await person("infirmiere")
    _, number, card = await file_request(agora, nurse, first, sfx)

    async def react(admin, key: str) -> None:
        await admin.react(control, card.event_id, key)

    await react(second, "❌")
    asked = await second.wait_for(
        lambda: [s for s in second.replies_to(card.event_id) if "donnez le motif" in s.body],
        "the question",
    )
    assert f"!reject {number} <motif>" in asked[0].body
    await react(first, "✅")
    await first.wait_for(
        lambda: [s for s in first.replies_to(card.event_id) if "(1/2)" in s.body],
        "the first approval",
    )
    await react(second, "✅")
    space = (await room_ids(agora))[f"vaucluse-{sfx}"]
    await nurse.wait_for(lambda: space in nurse.invites, "the invitation")
    assert (await agora.vetting.requests.request(number)).status == "approved"


async def test_an_approval_taken_back_no_longer_counts_and_a_removed_card_comes_back(
    region, person
):
    agora, first, second, sfx = region
    control = agora.control.room_id
    nurse = await person("infirmiere")
    _, number, card = await file_request(agora, nurse, first, sfx)
    approval = await first.react(control, card.event_id, "✅")
    await first.wait_for(
        lambda: [s for s in first.replies_to(card.event_id) if "(1/2)" in s.body],
        "the first approval",
    )
    await first.redact(control, approval)  # Element's "remove" on the ✅
    withdrawn = await second.wait_for(
        lambda: [s for s in second.replies_to(card.event_id) if "retiré sa validation" in s.body],
        "the withdrawal",
    )
    assert f"#{number} (0/2)" in withdrawn[0].body
    assert await agora.vetting.requests.decisions(number) == []
    # The second admin's approval is now the only one: the request stays pending.
    await second.react(control, card.event_id, "✅")
    await second.wait_for(
        lambda: [s for s in second.replies_to(card.event_id) if "(1/2)" in s.body],
        "the second admin's approval",
    )
    assert (await agora.vetting.requests.request(number)).status == "pending"

    # Someone removes the card: it is posted again, and approving on the new one finishes.
    await first.redact(control, card.event_id)
    again = await first.wait_for(
        lambda: [
            s
            for s in first.seen
            if s.room_id == control
            and s.event_id != card.event_id
            and f"Demande #{number} — Corinne Durand" in s.body
            and not s.body.startswith("*")
        ],
        "the card posted again",
    )

    # The bot records the new card just after posting it (the admin may see it first).
    async def recorded_card() -> bool:
        return (await agora.vetting.requests.request(number)).card_event == again[0].event_id

    await eventually(recorded_card, "the new card recorded", timeout=10)
    final = await first.react(control, again[0].event_id, "✅")
    space = (await room_ids(agora))[f"vaucluse-{sfx}"]
    await nurse.wait_for(lambda: space in nurse.invites, "the invitation")
    # Too late now: taking back the ✅ that closed the request changes nothing, and says so.
    await first.redact(control, final)
    await first.wait_for(
        lambda: [s for s in first.seen if f"#{number} est déjà close" in s.body], "too late"
    )
    assert (await agora.vetting.requests.request(number)).status == "approved"
    assert len(await agora.vetting.requests.decisions(number)) == 2


async def test_a_command_withdrawn_before_it_ran_is_not_run(person, start_bot):
    """Recorded but not yet run (the bot busy, or down right after recording it), then
    withdrawn: it is not run. One withdrawn before the bot read it comes back redacted from
    the homeserver, as nothing."""
    admin = await person("admin")
    agora = await start_bot([admin.user_id])
    control = agora.control.room_id
    await admin.accept_invite(control)
    await agora.settled()
    dispatcher = agora.tasks.named("dispatcher")
    dispatcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await dispatcher
    withdrawn = await admin.say(control, "!status")

    async def recorded() -> bool:
        return any(r.event_id == withdrawn for r in await agora.store.pending_events())

    await eventually(recorded, "the command in the inbox")
    await admin.redact(control, withdrawn)

    async def skipped() -> bool:
        return await agora.store.command_outcome(withdrawn) == "redacted"

    await eventually(skipped, "the command set aside")
    agora.tasks.loop(agora.dispatcher.run(), "dispatcher")
    kept = await admin.say(control, "!ping")
    await admin.reply_to(kept, timeout=60)
    assert admin.replies_to(withdrawn) == []

    async def audited() -> bool:
        async with agora.store.db.execute(
            "SELECT COUNT(*) FROM audit WHERE action = 'command.withdrawn'"
        ) as cur:
            return (await cur.fetchone())[0] == 1

    await eventually(audited, "the audit entry")


async def test_the_guided_conversation_files_a_request(region, person):
    agora, first, _, sfx = region
    nurse = await person("infirmiere")
    dm = await nurse.dm(agora.gateway.user_id)
    opening, reaction = await nurse.command(dm, "!join")
    assert reaction == "✅" and "Répondez « en » for English" in opening.body

    async def say(text: str) -> str:
        before = {s.event_id for s in nurse.seen}
        await nurse.say(dm, text)
        new = await nurse.wait_for(
            lambda: [
                s
                for s in nurse.seen
                if s.event_id not in before
                and s.event.sender == agora.gateway.user_id
                and s.room_id == dm
            ],
            f"an answer to {text!r}",
        )
        return new[0].body

    assert await say("fr") == "Quel est votre nom complet ?"
    assert "infirmier" in await say("Corinne Durand")
    assert await say("infirmier") == "Votre numéro RPPS / ADELI ?"
    assert "clé de contrôle incorrecte" in await say("10101234565")
    assert "structure" in await say("10101234564")
    assert f"vaucluse-{sfx}" in await say("Cabinet des Lices")
    assert "adresse" in await say(f"vaucluse-{sfx}")
    assert "J'envoie la demande ?" in await say(f"c.durand.{sfx}@example.org")
    filed = await say("oui")
    assert "enregistrée" in filed
    number = request_number(filed)
    await first.wait_for(
        lambda: [s for s in first.seen if f"Demande #{number} — Corinne Durand" in s.body],
        "the card",
    )
