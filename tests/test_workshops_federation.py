"""A workshop across regions: announced in a community room region A shares with region B,
a member of B (vetted by B only) registers with ✅ on the announcement, over federation, and is
told in a direct chat A's bot opens with her on B's server."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from zoneinfo import ZoneInfo

import pytest

from bot.app import Agora
from bot.matrix.direct import DM_MARK
from tests.conftest import vet
from tests.test_federation import cast, regions, sqlite_regions  # noqa: F401 - fixtures
from tests.test_territories import eventually
from tests.test_workshops import announcement_text

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")


async def test_a_peer_regions_member_registers_with_a_reaction_in_a_shared_room(
    regions,  # noqa: F811
    cast,  # noqa: F811
):
    sud, occitanie, _ = regions
    sfx = secrets.token_hex(3)
    admin_a = await cast.person(sud.hs, "admin")
    admin_b = await cast.person(occitanie.hs, "admin")
    midwife_b = await cast.person(occitanie.hs, "sagefemme")
    bot_a = sud.bot_account[0]

    # B vets its midwife and declares A's club for her; A shares the club's room with B.
    async def vetted(region_b: Agora) -> None:
        await vet(region_b, midwife_b.user_id, f"herault-{sfx}")

    shared = await cast.club(
        sud, occitanie, sfx, (admin_a, admin_b), b_users=(midwife_b.user_id,), b_started=vetted
    )
    region_a, room, club = shared.region_a, shared.room, shared.club
    await midwife_b.wait_for(lambda: room in midwife_b.invites, "asked into the club", 60)
    await midwife_b.accept_invite(room)

    # A's admin creates a workshop for the club; its announcement reaches B's midwife.
    day = (dt.datetime.now(PARIS) + dt.timedelta(days=20)).date()
    answer, reaction = await admin_a.command(
        region_a.control.room_id,
        f'!atelier créer "Club ROR" {day:%d/%m/%Y} 14h --places 5 --territoire {club}',
    )
    assert reaction == "✅", answer.body
    n = int(re.search(r"Atelier n°(\d+)", answer.body).group(1))
    posted = await midwife_b.wait_for(
        lambda: [
            s for s in midwife_b.seen
            if s.room_id == room and s.body.startswith(f"📅 Atelier n°{n}")
        ],
        "the announcement, decrypted in B",
        90,
    )  # fmt: skip
    announcement = posted[0].event_id

    # Her ✅ crosses to A's bot: she has a seat, is told in a direct chat, the count follows.
    await midwife_b.react(room, announcement, "✅")
    dm = await midwife_b.accept_direct_chat(bot_a)
    await midwife_b.wait_for(
        lambda: [s for s in midwife_b.seen if s.body.startswith("Votre ✅ est enregistré")],
        "told over federation",
        90,
    )

    # Her join seen, A's bot wrote its mark again: a message it sent beside her server's
    # join (which her server would never be sent, element-hq/synapse#17720) follows.
    async def marked() -> bool:
        mark = await region_a.gateway.get_state(dm, DM_MARK) or {}
        return mark == {"for": midwife_b.user_id, "joined": True}

    await eventually(marked, "the direct chat's mark written again", timeout=30)
    assert await region_a.workshops.workshops.registered(n) == [midwife_b.user_id]
    await midwife_b.wait_for(
        lambda: "4 places restantes sur 5" in announcement_text(midwife_b, announcement),
        "the announcement edited",
        90,
    )
