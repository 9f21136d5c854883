"""On-call rosters against a real Synapse: the coordinator's file imported (refused whole when a
row is wrong, applied when none is), then who is on duty read with `!garde` by a doctor in a
direct chat and by an admin in the control room."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from icalendar import Calendar

from tests.conftest import agora_cli, vet

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")


def pdsa(sfx: str, coordinator: str) -> dict:
    return {
        "territories": [
            {
                "id": f"pdsa-{sfx}",
                "name": "PDSA Vaucluse",
                "animators": [coordinator],
                "rooms": [
                    {"id": "mmg", "name": "MMG Avignon", "kind": "oncall"},
                    {"id": "remplacants", "name": "Remplaçants", "kind": "replacements"},
                ],
            }
        ]
    }


def every_evening(territory: str) -> dict:
    """A slot template: every evening, 20:00 to midnight, a posted doctor."""
    return {
        "territory": territory,
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "20:00",
        "end": "24:00",
        "role": "poste",
    }


def next_month_days() -> list[dt.date]:
    """Three evenings in the coming month (the future, and months the bot makes)."""
    today = dt.datetime.now(PARIS).date()
    first = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return [first + dt.timedelta(days=n) for n in (3, 4, 10)]


def csv_for(rows: list[tuple[dt.date, str, str]]) -> str:
    lines = ["debut;fin;role;membre"]
    for day, role, member in rows:
        lines.append(f"{day:%Y-%m-%d} 20:00;{day:%Y-%m-%d} 24:00;{role};{member}")
    return "\n".join(lines) + "\n"


async def test_a_coordinators_roster_is_checked_whole_then_read_with_garde(
    person, start_bot, tmp_path: Path
):
    sfx = secrets.token_hex(3)
    admin, coordinator, doctor = await person("admin"), await person("coord"), await person("dr")
    territory = f"pdsa-{sfx}"
    agora = await start_bot(
        [admin.user_id],
        network=pdsa(sfx, coordinator.user_id),
        rosters={"templates": [every_evening(territory)]},
    )
    await admin.accept_invite(agora.control.room_id)
    await vet(agora, doctor.user_id, territory)
    days = next_month_days()
    args = ["--config", str(agora.config_path), "--data-dir", str(agora.data_dir)]

    # One wrong row (a member who is not on this territory's roster): nothing is applied.
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(
        csv_for([(days[0], "poste", doctor.user_id), (days[1], "poste", "@inconnu:localhost")])
    )
    refused = await agora_cli("import-roster", *args, "--territory", territory, str(wrong))
    assert refused.returncode == 1, refused.stderr
    assert "Rien n'est appliqué : 1 ligne(s) sur 2 refusée(s)." in refused.stdout
    assert "Ligne 3 : « @inconnu:localhost » n'est pas un membre vérifié" in refused.stdout
    dm = await doctor.dm(agora.gateway.user_id)
    mine, reaction = await doctor.command(dm, "!garde moi")
    assert reaction == "✅" and "aucune garde à venir" in mine.body

    # The right file: applied, and read by the doctor and by an admin.
    right = tmp_path / "right.csv"
    right.write_text(csv_for([(d, "poste", doctor.user_id) for d in days[:2]]))
    done = await agora_cli("import-roster", *args, "--territory", territory, str(right))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 créneau(x) pourvu(s)" in done.stdout
    mine, _ = await doctor.command(dm, "!garde moi")
    lines = [line for line in mine.body.splitlines() if line.startswith("•")]
    assert len(lines) == 2 and all(doctor.user_id in line for line in lines)
    assert f"{days[0]:%d/%m} 20:00 → 24:00 — effecteur posté" in lines[0]
    day, reaction = await doctor.command(dm, f"!garde {days[0]:%d/%m/%Y}")
    assert reaction == "✅" and doctor.user_id in day.body
    other, _ = await admin.command(agora.control.room_id, f"!garde jour {days[2]:%d/%m/%Y}")
    assert "à pourvoir" in other.body and doctor.user_id not in other.body  # unfilled
    bad, reaction = await admin.command(agora.control.room_id, "!garde pas-une-date")
    assert reaction == "❌" and "n'est pas une date" in bad.body

    exported = await agora_cli(
        "export-roster", *args, "--territory", territory, "--month", f"{days[0]:%Y-%m}"
    )
    assert exported.returncode == 0, exported.stderr
    # A Matrix id is kept from being a spreadsheet formula; the file imports back as it is.
    row = f"{days[0]:%Y-%m-%d} 20:00,{days[0]:%Y-%m-%d} 24:00,poste,'{doctor.user_id}"
    assert row in exported.stdout.replace("\r", "")
    again = tmp_path / "again.csv"
    again.write_text(exported.stdout)
    reimported = await agora_cli("import-roster", *args, "--territory", territory, str(again))
    assert reimported.returncode == 0, reimported.stdout  # the same roster, unfilled slots too
    mine, _ = await doctor.command(dm, "!garde moi")
    assert len([line for line in mine.body.splitlines() if line.startswith("•")]) == 2


async def test_the_day_is_posted_kept_edited_and_nothing_is_left_uncovered(
    person, start_bot, tmp_path: Path
):
    """On the scheduler's clock, moved forward: the morning post in the on-call room and its
    edit when the roster changes; an unfilled slot announced at 72 h and 24 h to the
    coordinator; the member on duty reminded; a revoked member's slots emptied and said."""
    from nio import JoinResponse

    from tests.test_territories import eventually, room_ids

    sfx = secrets.token_hex(3)
    admin, coordinator, doctor = await person("admin"), await person("coord"), await person("dr")
    territory = f"pdsa-{sfx}"
    agora = await start_bot(
        [admin.user_id],
        network=pdsa(sfx, coordinator.user_id),
        rosters={"morning_post": "07:30", "templates": [every_evening(territory)]},
    )
    await admin.accept_invite(agora.control.room_id)
    await vet(agora, doctor.user_id, territory)
    await agora.settled()
    await agora.vetting.outcomes.provision(doctor.user_id)  # invited to the territory's space
    ids = await room_ids(agora)
    await doctor.accept_invite(ids[territory])
    assert isinstance(await doctor.client.join(ids[f"{territory}.mmg"]), JoinResponse)
    days = next_month_days()
    args = ["--config", str(agora.config_path), "--data-dir", str(agora.data_dir)]
    roster = tmp_path / "roster.csv"
    roster.write_text(csv_for([(days[0], "poste", doctor.user_id)]))
    done = await agora_cli("import-roster", *args, "--territory", territory, str(roster))
    assert done.returncode == 0, done.stdout

    def evening(day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(20)).replace(tzinfo=PARIS).timestamp()

    def move_to(instant: float) -> None:
        agora.jobs.clock.offset = instant - time.time()
        agora.jobs.kick()

    # The morning of the doctor's evening: the day posted in the on-call room.
    move_to(dt.datetime.combine(days[0], dt.time(7, 31)).replace(tzinfo=PARIS).timestamp())
    post = await doctor.wait_for(
        lambda: [s for s in doctor.seen if s.body.startswith("Garde du ")], "the morning post", 60
    )
    assert doctor.user_id in post[0].body and post[0].encrypted
    # The roster changes (the evening given to nobody): the post is edited, not posted again.
    roster.write_text(csv_for([(days[0], "poste", "")]))
    assert (
        await agora_cli("import-roster", *args, "--territory", territory, str(roster))
    ).returncode == 0
    move_to(dt.datetime.combine(days[0], dt.time(7, 50)).replace(tzinfo=PARIS).timestamp())
    edited = await doctor.wait_for(
        lambda: [s for s in doctor.seen
                 if s.content.get("m.relates_to", {}).get("event_id") == post[0].event_id],
        "the post edited", 60,
    )  # fmt: skip
    assert "à pourvoir" in edited[0].content["m.new_content"]["body"]

    # 60 h before an unfilled evening: the coordinator told; at 20 h: told again.
    move_to(evening(days[2]) - 60 * 3600)
    await coordinator.accept_direct_chat(agora.gateway.user_id)
    await coordinator.wait_for(
        lambda: [s for s in coordinator.seen if "Garde à pourvoir" in s.body
                 and f"{days[2]:%d/%m}" in s.body], "the 72 h warning", 60,
    )  # fmt: skip
    move_to(evening(days[2]) - 20 * 3600)
    await coordinator.wait_for(
        lambda: [s for s in coordinator.seen if "Toujours à pourvoir" in s.body
                 and f"{days[2]:%d/%m}" in s.body], "the 24 h warning", 60,
    )  # fmt: skip
    warned = [
        s for s in coordinator.seen if "Garde à pourvoir" in s.body and f"{days[2]:%d/%m}" in s.body
    ]
    assert len(warned) == 1  # said once, whatever the watch's rounds

    # The doctor's next evening (on the roster again), and the reminder the day before.
    roster.write_text(csv_for([(days[1], "poste", doctor.user_id)]))
    assert (
        await agora_cli("import-roster", *args, "--territory", territory, str(roster))
    ).returncode == 0
    move_to(evening(days[1]) - 20 * 3600)
    await doctor.accept_direct_chat(agora.gateway.user_id)
    await doctor.wait_for(
        lambda: [s for s in doctor.seen if "Rappel : vous êtes de garde" in s.body],
        "the reminder",
        60,
    )
    # Revoked: their slot to come emptied, and the coordinator told.
    _, reaction = await admin.command(agora.control.room_id, f"!revoke {doctor.user_id} Départ")
    assert reaction == "✅"
    await coordinator.wait_for(
        lambda: [s for s in coordinator.seen if "sont à pourvoir" in s.body
                 and doctor.user_id in s.body], "the emptied slots", 60,
    )  # fmt: skip

    async def emptied() -> bool:
        rows = await agora.rosters.book.slots.slots(territory, 0, 2e10, member=doctor.user_id)
        return not rows

    await eventually(emptied, "the slots emptied")


def ics_for(events: list[tuple[str, str, str, str | None]]) -> bytes:
    """An iCalendar file as a coordinator's calendar exports it: one event per slot, times in
    Europe/Paris, the role as a category, the member as an attendee."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Planning//FR"]
    for n, (start, end, role, member) in enumerate(events):
        lines += [
            "BEGIN:VEVENT",
            f"UID:slot-{n}@test",
            "DTSTAMP:20261201T000000Z",
            f"DTSTART;TZID=Europe/Paris:{start}",
            f"DTEND;TZID=Europe/Paris:{end}",
            "SUMMARY:Garde",
            f"CATEGORIES:{role}",
        ]
        if member:
            lines.append(f"ATTENDEE;CN=Dr Test:matrix:u/{member.removeprefix('@')}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


async def test_roster_files_dropped_as_encrypted_attachments(person, start_bot):
    """A coordinator drops a CSV with `!garde import` as its caption (refused whole: one row is
    wrong), then an ICS file, imported by replying `!garde import` to it; a night across the
    change of time (last Sunday of October) lasts its 13 hours."""
    sfx = secrets.token_hex(3)
    admin, coordinator, doctor = await person("admin"), await person("coord"), await person("dr")
    other = await person("autre")
    territory = f"pdsa-{sfx}"
    agora = await start_bot(
        [admin.user_id],
        network=pdsa(sfx, coordinator.user_id),
        rosters={
            "templates": [
                every_evening(territory),
                {"territory": territory, "days": ["sat"], "start": "20:00", "end": "08:00",
                 "role": "mobile"},
            ],
        },
    )  # fmt: skip
    await admin.accept_invite(agora.control.room_id)
    await vet(agora, doctor.user_id, territory)
    days = next_month_days()
    dm = await coordinator.dm(agora.gateway.user_id)

    # A CSV sent with the command as its caption: one row is wrong, so nothing is applied.
    wrong = csv_for([(days[0], "poste", doctor.user_id), (days[1], "poste", "Dr Personne")])
    sent = await coordinator.send_file(dm, "garde.csv", wrong.encode(), caption="!garde import")
    answer = await coordinator.reply_to(sent, 60)
    assert await coordinator.reaction_to(sent) == "❌"
    assert "Ligne 3 : « Dr Personne » n'est pas un membre vérifié" in answer.body
    assert not await agora.rosters.book.slots.slots(territory, 0, 2e10, member=doctor.user_id)

    # An ICS file, then a reply to it: applied, the DST night included.
    ics = ics_for(
        [
            (f"{days[0]:%Y%m%d}T200000", f"{days[0] + dt.timedelta(1):%Y%m%d}T000000", "poste",
             doctor.user_id),
            ("20271030T200000", "20271031T080000", "Effecteur mobile", doctor.user_id),
            (f"{days[1]:%Y%m%d}T200000", f"{days[1] + dt.timedelta(1):%Y%m%d}T000000", "poste",
             None),
        ]
    )  # fmt: skip
    dropped = await coordinator.send_file(dm, "planning.ics", ics)
    command = await coordinator.answer(dm, dropped, "!garde import")
    done = await coordinator.reply_to(command, 60)
    assert await coordinator.reaction_to(command) == "✅", done.body
    assert "2 créneau(x) pourvu(s)" in done.body
    night = [
        s
        for s in await agora.rosters.book.slots.slots(territory, 0, 2e10, member=doctor.user_id)
        if s.role == "mobile"
    ]
    assert len(night) == 1 and night[0].end - night[0].start == 13 * 3600
    seen, _ = await admin.command(agora.control.room_id, "!garde 30/10/2027")
    assert "sam. 30/10 20:00 → 31/10 08:00 — effecteur mobile" in seen.body
    assert doctor.user_id in seen.body

    # Not the coordinator: refused before the file is even read; no file: said so.
    other_dm = await other.dm(agora.gateway.user_id)
    await vet(agora, other.user_id, territory)
    sent = await other.send_file(other_dm, "garde.csv", wrong.encode(), caption="!garde import")
    assert await other.reaction_to(sent, 60) == "❌"
    bare, reaction = await coordinator.command(dm, "!garde import")
    assert reaction == "❌" and "Aucun fichier" in bare.body


async def test_a_swap_and_a_released_slot_go_through_the_coordinator(person, start_bot):
    """A doctor offers an exchange to a colleague, who accepts with ✅; the coordinator approves
    with a command. Then a slot released and taken, approved with ✅ on the coordinator's card.
    The roster follows each time, the on-call room's topic names who is on duty, and the
    reconciler leaves that line alone."""
    from tests.test_territories import eventually, room_ids

    sfx = secrets.token_hex(3)
    admin, coordinator = await person("admin"), await person("coord")
    first, second = await person("dra"), await person("drb")
    territory = f"pdsa-{sfx}"
    agora = await start_bot(
        [admin.user_id],
        network=pdsa(sfx, coordinator.user_id),
        rosters={
            "templates": [
                every_evening(territory),
            ],
        },
    )  # fmt: skip
    await admin.accept_invite(agora.control.room_id)
    for doctor in (first, second):
        await vet(agora, doctor.user_id, territory)
    await agora.settled()
    days = next_month_days()
    args = ["--config", str(agora.config_path), "--data-dir", str(agora.data_dir)]
    roster = Path(agora.data_dir) / "roster.csv"
    roster.write_text(
        csv_for([(days[0], "poste", first.user_id), (days[1], "poste", second.user_id)])
    )
    assert (
        await agora_cli("import-roster", *args, "--territory", territory, str(roster))
    ).returncode == 0
    a_dm = await first.dm(agora.gateway.user_id)
    b_dm = await second.dm(agora.gateway.user_id)

    # Calendars: a private link each (only in a direct chat: the link is a secret), the
    # territory's roster beside it.
    links = {}
    for doctor, room in ((first, a_dm), (second, b_dm)):
        answer, reaction = await doctor.command(room, "!garde calendrier")
        assert reaction == "✅" and "/calendrier/" in answer.body, answer.body
        links[doctor.user_id] = [w for w in answer.body.split() if "/calendrier/" in w]
    mine_a, roster_a = links[first.user_id]
    assert mine_a.endswith(".ics") and roster_a.endswith(f"/{territory}.ics")
    assert await calendar_holder(mine_a, days[0]) == "mine"
    assert await calendar_holder(links[second.user_id][0], days[0]) is None
    assert await calendar_holder(roster_a, days[0]) == first.user_id
    again, _ = await first.command(a_dm, "!garde calendrier")
    assert "déjà un lien" in again.body and "/calendrier/" not in again.body

    async def holder(day: dt.date) -> str | None:
        start = dt.datetime.combine(day, dt.time(20)).replace(tzinfo=PARIS).timestamp()
        rows = await agora.rosters.book.slots.slots(territory, start, start + 1)
        return rows[0].member

    # The colleague reads English: what is said to them alone is in English.
    _, reaction = await second.command(b_dm, "!language en")
    assert reaction == "✅"
    # An exchange: refused when the colleague is not on the roster, then proposed.
    wrong, reaction = await first.command(a_dm, f"!garde echanger {admin.user_id} {days[0]:%d/%m}")
    assert reaction == "❌" and "n'est pas sur la liste de garde" in wrong.body
    sent, reaction = await first.command(
        a_dm, f"!garde echanger {second.user_id} {days[0]:%d/%m} 20h contre {days[1]:%d/%m}"
    )
    assert reaction == "✅" and "Proposition n°" in sent.body, sent.body
    proposal = (
        await second.wait_for(
            lambda: [s for s in second.seen if "offers you an exchange" in s.body], "proposal", 60
        )
    )[0]
    await second.react(proposal.room_id, proposal.event_id, "✅")
    await coordinator.accept_direct_chat(agora.gateway.user_id)
    card = (
        await coordinator.wait_for(
            lambda: [s for s in coordinator.seen if s.body.startswith("À valider — échange")],
            "the coordinator's card",
            60,
        )
    )[0]
    number = card.body.split("n°", 1)[1].split(" ", 1)[0]
    assert await holder(days[0]) == first.user_id  # nothing moves before the approval
    # Only the coordinator approves.
    refused, reaction = await second.command(proposal.room_id, f"!garde valider {number}")
    assert reaction == "❌" and "reserved for animators" in refused.body
    done, reaction = await coordinator.command(card.room_id, f"!garde valider {number}")
    assert reaction == "✅" and "C'est fait" in done.body
    assert await holder(days[0]) == second.user_id and await holder(days[1]) == first.user_id
    await first.wait_for(
        lambda: [s for s in first.seen if f"C'est fait (n°{number})" in s.body], "told", 60
    )
    # ... and the calendars follow.
    assert await calendar_holder(mine_a, days[0]) is None
    assert await calendar_holder(mine_a, days[1]) == "mine"
    assert await calendar_holder(links[second.user_id][0], days[0]) == "mine"
    assert await calendar_holder(roster_a, days[0]) == second.user_id
    # A new link replaces the old; a revoked one is gone; both answer like no page at all.
    renewed, _ = await first.command(a_dm, "!garde calendrier nouveau")
    new_mine = next(w for w in renewed.body.split() if "/calendrier/" in w)
    assert new_mine != mine_a and await calendar_status(mine_a) == 404
    assert await calendar_holder(new_mine, days[1]) == "mine"
    revoked, _ = await first.command(a_dm, "!garde calendrier revoquer")
    assert "désactivé" in revoked.body and await calendar_status(new_mine) == 404

    # A release: offered in the replacements room, taken, approved with ✅ on the card.
    released, reaction = await first.command(a_dm, f"!garde liberer {days[1]:%d/%m}")
    assert reaction == "✅" and "proposée dans le salon des remplacements" in released.body
    ids = await room_ids(agora)
    replacements = ids[f"{territory}.remplacants"]

    async def posted() -> bool:
        events = await agora.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{replacements}/messages", query={"dir": "b"}
        )
        return any(e.get("type") == "m.room.encrypted" for e in events.get("chunk", []))

    await eventually(posted, "the release posted in the replacements room")
    offer = (await agora.rosters.book.slots.offers([territory]))[0]
    taken, reaction = await second.command(proposal.room_id, f"!garde prendre {offer.id}")
    assert reaction == "✅" and "the coordinator still has to approve" in taken.body, taken.body
    again, reaction = await first.command(a_dm, f"!garde prendre {offer.id}")
    assert reaction == "❌" and "à vous-même" in again.body  # one's own slot
    card = (
        await coordinator.wait_for(
            lambda: [s for s in coordinator.seen if s.body.startswith(f"À valider — n°{offer.id}")],
            "the second card",
            60,
        )
    )[0]
    await coordinator.react(card.room_id, card.event_id, "✅")
    await eventually(lambda: _is(holder(days[1]), second.user_id), "the slot taken")
    await first.wait_for(
        lambda: [s for s in first.seen if f"C'est fait (n°{offer.id})" in s.body], "told", 60
    )
    rows = await agora.store.audit_entries(limit=100)
    assert {"roster.swap", "roster.release", "roster.offer"} <= {r["action"] for r in rows}

    # During the evening: the on-call room's topic names who is on duty; the reconciler
    # finds nothing to change in it.
    start = dt.datetime.combine(days[0], dt.time(20, 30)).replace(tzinfo=PARIS).timestamp()
    agora.jobs.clock.offset = start - time.time()
    agora.jobs.kick()
    oncall = ids[f"{territory}.mmg"]

    async def topic() -> str:
        return ((await agora.gateway.get_state(oncall, "m.room.topic")) or {}).get("topic", "")

    async def names_on_duty() -> bool:
        return second.user_id in await topic()

    await eventually(names_on_duty, "the topic naming who is on duty")
    assert (await topic()).startswith("🩺 De garde : ")
    assert (await agora.territories.reconciler.reconcile(dry_run=True)).actions == []


async def calendar_status(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status


async def calendar_holder(url: str, day: dt.date) -> str | None:
    """Who the feed at ``url`` says is on duty the evening of ``day``: "mine" in a member's own
    feed, the member's id in a territory's (our test members have no names), None when the
    feed has no such slot."""
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200 and resp.content_type == "text/calendar"
        calendar = Calendar.from_ical(await resp.read())
    start = dt.datetime.combine(day, dt.time(20)).replace(tzinfo=PARIS)
    for event in calendar.walk("VEVENT"):
        if event.decoded("dtstart") == start:
            summary = str(event["summary"])
            return "mine" if summary.startswith("Garde ") else summary.split(" : ", 1)[1]
    return None


async def _is(value, expected) -> bool:
    return (await value) == expected
