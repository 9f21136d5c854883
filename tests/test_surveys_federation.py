"""A survey shared across two regions on two real homeservers that federate: the peer's bot
delivers it to its own members and sends back only aggregates, and the three nurses who
answered there are never shown as a group, in either region's results."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from zoneinfo import ZoneInfo

import pytest

from bot.surveys.capability import PEERS_EVERY, PEERS_GRACE
from bot.surveys.sharing import RESULT
from tests.test_federation import cast, regions, sqlite_regions  # noqa: F401 (fixtures)
from tests.test_surveys import from_bot, member, say

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")


async def test_a_survey_shared_with_a_peer_region_comes_back_as_aggregates_only(
    regions,  # noqa: F811
    cast,  # noqa: F811
):
    sud, occitanie, _ = regions
    sfx = secrets.token_hex(3)
    admin_a = await cast.person(sud.hs, "admin")
    admin_b = await cast.person(occitanie.hs, "admin")
    animator = await cast.person(sud.hs, "animatrice")
    bot_a, bot_b = sud.bot_account[0], occitanie.bot_account[0]
    region_b = await cast.bot(
        occitanie,
        [admin_b.user_id],
        network={"territories": [{"id": f"herault-{sfx}", "name": f"Hérault {sfx}"}]},
        federation={"allowed_servers": [sud.server], "peer_bots": [bot_a]},
        surveys={"min_group": 4},
    )
    region_a = await cast.bot(
        sud,
        [admin_a.user_id],
        network={
            "territories": [
                {
                    "id": f"vaucluse-{sfx}",
                    "name": f"Vaucluse {sfx}",
                    "animators": [animator.user_id],
                }
            ]
        },
        federation={"allowed_servers": [occitanie.server], "peer_bots": [bot_b]},
        surveys={"min_group": 4},
    )
    doctors = [await cast.person(sud.hs, f"medecin{i}") for i in range(4)]
    nurses = [await cast.person(occitanie.hs, f"infirmiere{i}") for i in range(3)]
    for someone in doctors:
        await member(region_a, someone.user_id, f"vaucluse-{sfx}", "medecin")
    for someone in nurses:
        await member(region_b, someone.user_id, f"herault-{sfx}", "infirmier")
    rooms = {s.user_id: await s.dm(bot_a) for s in doctors}
    rooms |= {s.user_id: await s.dm(bot_b) for s in nurses}

    # Region A's animator writes an anonymous survey and shares it with the peers.
    dm = await animator.dm(bot_a)
    opening, reaction = await animator.command(dm, "!sondage créer")
    assert reaction == "✅", opening.body
    for line in ("Charge de travail", "1", "Votre charge ?", "Légère ; Normale ; Lourde", "fin",
                 "tous", "toutes", "oui"):  # fmt: skip
        await say(animator, bot_a, dm, line)
    closes = dt.datetime.now(PARIS).date() + dt.timedelta(days=10)
    await say(animator, bot_a, dm, f"{closes:%d/%m/%Y}")
    opened = await say(animator, bot_a, dm, "oui")
    assert "envoyé à 4 personnes" in opened, opened
    number = int(opened.split("n°")[1].split()[0])
    shared, reaction = await animator.command(dm, f"!sondage partager {number}")
    assert reaction == "✅" and "régions pairs" in shared.body, shared.body

    # Region B's bot finds it among its peer's (its recurring look) and sends it to its nurses.
    def invited(someone):
        room = rooms[someone.user_id]
        return [m for m in from_bot(someone, bot_b, room, set()) if "📋" in m.body]

    for _ in range(20):
        if invited(nurses[0]):
            break
        region_b.jobs.advance(PEERS_EVERY + 1)
        await asyncio.sleep(3)
    for someone in nurses:
        got = await someone.wait_for(lambda s=someone: invited(s), "the shared survey", 60)
        assert "Charge de travail" in got[0].body and "anonyme" in got[0].body
        assert "Merci" in await say(someone, bot_b, rooms[someone.user_id], "2")
    for someone in doctors:
        room = rooms[someone.user_id]
        await someone.wait_for(
            lambda s=someone, r=room: [m for m in from_bot(s, bot_a, r, set()) if "📋" in m.body],
            "the survey",
            60,
        )
        assert "Merci" in await say(someone, bot_a, room, "1")

    # B closes it when it closes and writes back only totals, with no group of three.
    region_b.jobs.advance(11 * 86400)
    directory_b = region_b.federation.directory.room_id

    async def sent_back() -> dict | None:
        events = await region_b.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{directory_b}/state", what="test"
        )
        found = [e for e in events if e.get("type") == RESULT]
        return found[0]["content"] if found else None

    content = None
    for _ in range(60):
        if content := await sent_back():
            break
        await asyncio.sleep(1)
    assert content is not None, "B's aggregates"
    assert content["finished"] == 3 and content["questions"][0]["counts"] == {"2": 3}
    assert content["questions"][0]["groups"] == {"profession": {}, "territory": {}}
    assert "@" not in json.dumps(content) and "Hérault" not in json.dumps(content)
    for table in ("survey_responses", "survey_answers"):
        async with region_b.store.db.execute(f"SELECT * FROM {table}") as cur:
            cells = " ".join(str(c) for row in await cur.fetchall() for c in row)
        assert cells and not any(s.user_id in cells for s in nurses), table

    # A's results count both regions; B's three never show, not even by subtraction.
    text = ""
    for _ in range(30):
        asked = await animator.say(dm, f"!sondage résultats {number}")
        assert await animator.reaction_to(asked, timeout=180) == "✅"
        replies = await animator.wait_for(
            lambda a=asked: len(animator.replies_to(a)) >= 3 and animator.replies_to(a), "replies"
        )
        text = next(s for s in replies if s.content.get("msgtype") == "m.notice").body
        if "Envoyé à 7 personnes" in text:
            break
        await asyncio.sleep(2)
    assert "Envoyé à 7 personnes ; 7 ont commencé, 7 ont tout rempli." in text, text
    assert "• Légère : 4" in text and "• Normale : 3" in text
    # The Vaucluse's four beside the totals would tell the Hérault's three: no breakdown.
    assert "Légère : 4" in text and f"Vaucluse {sfx} (" not in text
    assert f"Hérault {sfx}" not in text and "infirmier" not in text and "autres" not in text

    # A closes it too; its author is told a while later, the peer's totals with its own.
    region_a.jobs.advance(11 * 86400)
    before = {s.event_id for s in animator.seen}
    for _ in range(60):
        async with region_a.store.db.execute(
            "SELECT status FROM surveys WHERE id = ?", (number,)
        ) as cur:
            if (await cur.fetchone())[0] == "closed":
                break
        await asyncio.sleep(1)
    region_a.jobs.advance(PEERS_GRACE + 1)
    told = await animator.wait_for(
        lambda: [m for m in from_bot(animator, bot_a, dm, before) if "📊" in m.body],
        "the results after the close",
        60,
    )
    assert "Envoyé à 7 personnes" in told[0].body and f"Hérault {sfx}" not in told[0].body
