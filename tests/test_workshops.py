"""Workshops against a real Synapse, with E2EE people: an event with two seats, three people
register (one with ✅ on the announcement, two by command), the third waits; the bot restarts;
one withdraws, the one waiting is promoted and told, and the announcement shows the seats as
they are; the territory's calendar feed carries the event; the reminders come once each, on the
bot's clock; when it ends, the report thread opens and the file posted there is pinned."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from icalendar import Calendar
from nio import JoinResponse, UploadResponse

from bot.workshops.wording import starts_at
from tests.conftest import vet
from tests.test_territories import eventually, room_ids

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
TITLE = "RGPD et ROR"


def club(sfx: str, animator: str) -> dict:
    return {
        "territories": [
            {
                "id": f"club-{sfx}",
                "name": "Club ROR",
                "animators": [animator],
                "rooms": [
                    {"id": "communaute", "name": "Club · Communauté", "kind": "community"},
                    {"id": "garde", "name": "Club · Garde", "kind": "oncall"},
                ],
            },
            {
                "id": f"ailleurs-{sfx}",
                "name": "Ailleurs",
                "rooms": [{"id": "communaute", "name": "Ailleurs", "kind": "community"}],
            },
        ]
    }


def every_evening(territory: str) -> dict:
    return {
        "territory": territory,
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "20:00",
        "end": "24:00",
        "role": "poste",
    }


def announcement_text(someone, event_id: str) -> str:
    """The announcement as a client shows it now: its last edit, else the post itself."""
    text = ""
    for seen in someone.seen:
        relation = seen.content.get("m.relates_to") or {}
        if seen.event_id == event_id and not text:
            text = seen.body
        elif relation.get("rel_type") == "m.replace" and relation.get("event_id") == event_id:
            text = (seen.content.get("m.new_content") or {}).get("body", text)
    return text


async def send_file_in_thread(someone, room_id: str, root: str, name: str, data: bytes) -> str:
    """A file posted in a thread, encrypted as Element sends it."""
    uploaded, keys = await someone.client.upload(
        lambda *_: data, content_type="application/pdf", filename=name, encrypt=True,
        filesize=len(data),
    )  # fmt: skip
    assert isinstance(uploaded, UploadResponse), uploaded
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": name,
        "filename": name,
        "info": {"mimetype": "application/pdf", "size": len(data)},
        "file": {**keys, "url": uploaded.content_uri},
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }
    resp = await someone.client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    assert hasattr(resp, "event_id"), resp
    return resp.event_id


async def test_a_full_workshop_has_a_waiting_list_across_a_restart(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, animator = await person("admin"), await person("animatrice")
    first, second, third = await person("ana"), await person("bruno"), await person("chloe")
    territory = f"club-{sfx}"
    network = club(sfx, animator.user_id)
    rosters = {"templates": [every_evening(territory)]}
    agora = await start_bot([admin.user_id], network=network, rosters=rosters)
    bot = agora.gateway.user_id
    await admin.accept_invite(agora.control.room_id)
    for someone in (first, second, third):
        await vet(agora, someone.user_id, territory)
    await agora.settled()
    ids = await room_ids(agora)
    space, community = ids[territory], ids[f"{territory}.communaute"]
    # The first one reads the community room, where the announcement goes.
    await agora.vetting.outcomes.provision(first.user_id)
    await first.accept_invite(space)
    assert isinstance(await first.client.join(community), JoinResponse)

    # The animator creates it: two seats, a public link; a link inside is refused first.
    desk = await animator.dm(bot)
    day = (dt.datetime.now(PARIS) + dt.timedelta(days=10)).date()
    wrong, reaction = await animator.command(
        desk, f'!atelier créer "{TITLE}" {day:%d/%m/%Y} 14h --places 2 --lien https://10.0.0.8/'
    )
    assert reaction == "❌" and "adresse interne" in wrong.body, wrong.body
    _, reaction = await first.command(
        await first.dm(bot), f'!atelier créer "{TITLE}" {day:%d/%m/%Y} 14h'
    )
    assert reaction == "❌"  # animators and admins only
    answer, reaction = await animator.command(
        desk,
        f'!atelier créer "{TITLE}" {day:%d/%m/%Y} 14h --durée 2h --places 2 '
        "--lien https://visio.example.org/rgpd",
    )
    assert reaction == "✅" and "Atelier n°" in answer.body, answer.body
    n = int(re.search(r"Atelier n°(\d+)", answer.body).group(1))
    start = starts_at(day, dt.time(14), PARIS)

    # The announcement in the community room; the first one registers with ✅ on it.
    posted = await first.wait_for(
        lambda: [
            s
            for s in first.seen
            if s.room_id == community and s.body.startswith(f"📅 Atelier n°{n}")
        ],
        "the announcement",
        60,
    )
    announcement = posted[0].event_id
    assert "2 places restantes sur 2" in posted[0].body
    assert "https://visio.example.org/rgpd" in posted[0].body
    await first.react(community, announcement, "✅")  # told in their direct chat
    await first.wait_for(
        lambda: [s for s in first.seen if s.body.startswith("Votre ✅ est enregistré")],
        "told of the registration",
        60,
    )

    # The two others by command: the second gets the last seat, the third waits.
    second_dm, third_dm = await second.dm(bot), await third.dm(bot)
    done, reaction = await second.command(second_dm, f"!atelier inscrire {n}")
    assert reaction == "✅" and "Vous êtes inscrit·e" in done.body, done.body
    waits, reaction = await third.command(third_dm, f"!event register {n}")
    assert reaction == "✅" and "liste d'attente" in waits.body, waits.body
    await first.wait_for(
        lambda: "⏳ 1 en liste d'attente" in announcement_text(first, announcement),
        "the announcement edited: full, one waiting",
        60,
    )
    assert "0 place restante sur 2" in announcement_text(first, announcement)

    # The bot restarts; then the second one withdraws, and the third is promoted and told.
    await agora.stop()
    agora = await start_bot(
        [admin.user_id],
        account=agora.account,
        data_dir=agora.data_dir,
        network=network,
        rosters=rosters,
    )
    gone, reaction = await second.command(second_dm, f"!atelier désinscrire {n}")
    assert reaction == "✅" and "Désinscription enregistrée" in gone.body, gone.body
    await third.wait_for(
        lambda: [s for s in third.seen if s.body.startswith("Une place s'est libérée")],
        "the one waiting told of the seat",
        60,
    )
    await first.wait_for(
        lambda: "attente" not in announcement_text(first, announcement),
        "the announcement edited: nobody waiting",
        60,
    )
    assert "0 place restante sur 2" in announcement_text(first, announcement)
    registered = await agora.workshops.workshops.registered(n)
    assert registered == [first.user_id, third.user_id]
    listed, _ = await second.command(second_dm, "!ateliers")
    assert f"n°{n} — {TITLE}" in listed.body  # a member of the territory
    outsider = await person("curieux")
    hidden, _ = await outsider.command(await outsider.dm(bot), "!events")
    assert "Aucun atelier à venir" in hidden.body  # someone of nowhere sees none of them
    # A member of another territory who guessed its number: no seat (nor its link).
    await vet(agora, outsider.user_id, f"ailleurs-{sfx}")
    refused, reaction = await outsider.command(await outsider.dm(bot), f"!atelier inscrire {n}")
    assert reaction == "❌" and f"{n}" in refused.body, refused.body
    assert outsider.user_id not in await agora.workshops.workshops.registered(n)

    # The territory's calendar feed carries the event beside the roster's slots.
    links, reaction = await animator.command(desk, "!garde calendrier")
    assert reaction == "✅", links.body
    feed = next(w for w in links.body.split() if w.endswith(f"/{territory}.ics"))
    async with aiohttp.ClientSession() as http, http.get(feed) as resp:
        assert resp.status == 200
        calendar = Calendar.from_ical(await resp.read())
    events = [e for e in calendar.walk("VEVENT") if str(e["uid"]).startswith(f"atelier-{n}@")]
    assert len(events) == 1 and str(events[0]["summary"]) == f"Atelier : {TITLE}"
    assert events[0].decoded("dtstart").timestamp() == start
    assert events[0].decoded("dtend").timestamp() == start + 7200
    assert str(events[0]["url"]) == "https://visio.example.org/rgpd"
    # One's own calendar carries the workshops one has a seat in.
    own, reaction = await third.command(third_dm, "!garde calendrier")
    assert reaction == "✅", own.body
    mine = next(
        w for w in own.body.split() if w.endswith(".ics") and not w.endswith(f"/{territory}.ics")
    )
    async with aiohttp.ClientSession() as http, http.get(mine) as resp:
        assert resp.status == 200
        uids = [str(e["uid"]) for e in Calendar.from_ical(await resp.read()).walk("VEVENT")]
    assert any(uid.startswith(f"atelier-{n}@") for uid in uids)

    # Seven days before, then one day before: those registered are reminded, once each.
    def reminders(someone, words: str) -> list:
        return [s for s in someone.seen if s.body.startswith(f"Rappel : l'atelier n°{n}") and
                words in s.body]  # fmt: skip

    agora.jobs.clock.offset = start - 7 * 86400 + 60 - time.time()
    agora.jobs.kick()
    for someone in (first, third):
        await someone.wait_for(lambda s=someone: reminders(s, "aura lieu"), "7 days before", 60)
    agora.jobs.clock.offset = start - 86400 + 60 - time.time()
    agora.jobs.kick()
    for someone in (first, third):
        await someone.wait_for(lambda s=someone: reminders(s, "bientôt"), "1 day before", 60)
    assert all(len(reminders(s, "aura lieu")) == 1 for s in (first, third))
    assert not reminders(second, "")  # withdrawn: not reminded

    # Over: the report thread opens on the announcement; a file posted there is pinned.
    agora.jobs.clock.offset = start + 7200 + 60 - time.time()
    agora.jobs.kick()
    thread = await first.wait_for(
        lambda: [
            s for s in first.seen
            if s.body.startswith("📝 Retour d'expérience")
            and (s.content.get("m.relates_to") or {}).get("event_id") == announcement
        ],
        "the report thread",
        60,
    )  # fmt: skip
    assert thread[0].content["m.relates_to"]["rel_type"] == "m.thread"
    document = await send_file_in_thread(first, community, announcement, "notes.pdf", b"%PDF-1")
    agora.jobs.clock.offset += agora.config.workshops.pin_every + 60
    agora.jobs.kick()

    async def pinned() -> bool:
        state = await agora.gateway.get_state(community, "m.room.pinned_events") or {}
        return document in (state.get("pinned") or [])

    await eventually(pinned, "the report's file pinned", 60)
    assert (await agora.workshops.workshops.get(n)).status == "over"


async def end_job_done(agora, workshop_id: int) -> bool:
    async with agora.store.db.execute(
        "SELECT status FROM jobs WHERE kind = 'workshops.end' "
        "AND json_extract(payload, '$.workshop') = ?",
        (workshop_id,),
    ) as cur:
        rows = await cur.fetchall()
    return bool(rows) and all(r[0] == "done" for r in rows)


async def test_a_weekly_workshop_comes_again_until_it_is_cancelled(person, start_bot):
    sfx = secrets.token_hex(3)
    admin, animator, member = await person("admin"), await person("anim"), await person("dora")
    territory = f"club-{sfx}"
    agora = await start_bot([admin.user_id], network=club(sfx, animator.user_id))
    bot = agora.gateway.user_id
    await admin.accept_invite(agora.control.room_id)
    await vet(agora, member.user_id, territory)
    await agora.settled()
    ids = await room_ids(agora)
    community = ids[f"{territory}.communaute"]
    await agora.vetting.outcomes.provision(member.user_id)
    await member.accept_invite(ids[territory])
    assert isinstance(await member.client.join(community), JoinResponse)

    # Typed in English: two days ahead at 6pm, an hour, every week.
    desk, own = await animator.dm(bot), await member.dm(bot)
    day = (dt.datetime.now(PARIS) + dt.timedelta(days=2)).date()
    answer, reaction = await animator.command(
        desk,
        f'!event create "Club ROR" {day:%Y-%m-%d} 6pm --duration 1h --recurrence weekly '
        '--seats 1 --place "Maison de santé, salle 2"',
    )
    assert reaction == "✅", answer.body
    n = int(re.search(r"Atelier n°(\d+)", answer.body).group(1))
    start = starts_at(day, dt.time(18), PARIS)
    row = await agora.workshops.workshops.get(n)
    assert (row.start, row.end, row.recurrence) == (start, start + 3600, "weekly")
    done, reaction = await member.command(own, f"!event register {n}")
    assert reaction == "✅" and "inscrit·e" in done.body

    # Over: the next one, a week later at the same time there, is announced like the first.
    agora.jobs.clock.offset = start + 3600 + 60 - time.time()
    agora.jobs.kick()
    await eventually(lambda: end_job_done(agora, n), "the first one ended", 60)
    later = [w for w in await agora.workshops.workshops.upcoming(None, agora.jobs.clock())
             if w.series == n]  # fmt: skip
    assert len(later) == 1
    following = later[0]
    local = dt.datetime.fromtimestamp(following.start, PARIS)
    assert (local.date(), local.hour) == (day + dt.timedelta(days=7), 18)
    announced = await member.wait_for(
        lambda: [s for s in member.seen if s.body.startswith(f"📅 Atelier n°{following.id}")],
        "the next occurrence announced",
        60,
    )
    assert "Maison de santé, salle 2" in announced[0].body
    # A ✅ takes a seat; taking the ✅ back gives it up.
    tick = await member.react(community, announced[0].event_id, "✅")
    seated = agora.workshops.workshops.registered

    async def has_seat() -> bool:
        return await seated(following.id) == [member.user_id]

    await eventually(has_seat, "a seat taken with ✅", 60)
    await member.redact(community, tick)

    async def no_seat() -> bool:
        return await seated(following.id) == []

    await eventually(no_seat, "the seat given up with the ✅", 60)
    again, reaction = await member.command(own, f"!atelier inscrire {following.id}")
    assert reaction == "✅" and "inscrit·e" in again.body

    # Called off: the member is told, and the series stops there.
    refused, reaction = await member.command(own, f"!atelier annuler {following.id}")
    assert reaction == "❌", refused.body
    gone, reaction = await animator.command(desk, f"!atelier annuler {following.id}")
    assert reaction == "✅" and "annulé" in gone.body, gone.body
    await member.wait_for(
        lambda: [
            s for s in member.seen if f"n°{following.id}" in s.body and "est annulé" in s.body
        ],
        "told of the cancellation",
        60,
    )
    agora.jobs.clock.offset = following.end + 60 - time.time()
    agora.jobs.kick()
    await eventually(lambda: end_job_done(agora, following.id), "its end passed", 60)
    assert not [
        w for w in await agora.workshops.workshops.upcoming(None, agora.jobs.clock())
        if w.series == n
    ]  # fmt: skip
