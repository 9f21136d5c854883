"""Every command that changes something, run again as after a crash that came between its
effects and its being marked done: the same answer, and nothing done twice.

The crash is staged without killing anything: once a command is answered, its inbox row is
put back to pending, which is what a restart finds when the bot died just before marking it
done. The dispatcher runs it again under the same cause (tests/test_faults.py kills the real
process at random moments; this checks each command at the worst one)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
import yaml

from bot.app import Agora
from bot.config import load_config
from bot.vetting.decisions import CONCLUDE_JOB
from tests.conftest import bot_config, register, vet
from tests.people import Person
from tests.test_territories import eventually, tree

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def region(synapse, tmp_path_factory):
    """One bot for the module: each test's command changes its own things."""

    tmp = tmp_path_factory.mktemp("rerun")
    sfx = secrets.token_hex(3)
    user_id, password = await register(synapse, "admin")
    admin = await Person.login(synapse.url, user_id, password, tmp / "admin")
    animator_id, animator_password = await register(synapse, "anim")
    animator = await Person.login(synapse.url, animator_id, animator_password, tmp / "anim")
    bot_id, bot_password = await register(synapse, "agora")
    config = bot_config(
        synapse,
        bot_id[1:].split(":")[0],
        bot_password,
        [admin.user_id],
        network=tree(sfx, animator=animator.user_id),
    )
    path = tmp / "agora.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    agora = Agora(load_config(path, env={}), tmp / "data")
    await agora.start()
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    yield agora, admin, animator, sfx
    await agora.stop()
    await admin.close()
    await animator.close()


class Sent:
    """What the bot sends while watched: (room, body) of each message."""

    def __init__(self, agora):
        self.agora, self.bodies = agora, []
        self._original = agora.gateway.send

    async def _send(self, room_id, content, event_type="m.room.message", *, txn=None):
        if event_type == "m.room.message":
            self.bodies.append((room_id, content.get("body", "")))
        return await self._original(room_id, content, event_type, txn=txn)

    def __enter__(self):
        self.agora.gateway.send = self._send
        return self

    def __exit__(self, *exc):
        self.agora.gateway.send = self._original


async def run_again(agora, event_id: str, text: str) -> list[tuple[str, str]]:
    """Put the answered command back as a crash would leave it (pending, its text still
    there); return what its second run sent (each send reaches the homeserver with the first
    run's transaction ids)."""

    async def done() -> bool:
        async with agora.store.db.execute(
            "SELECT status FROM inbox WHERE event_id = ?", (event_id,)
        ) as cur:
            return (await cur.fetchone())[0] == "done"

    # The first run marks the row done a moment after its answer and ✅ are seen.
    await eventually(done, "the first run's end")
    with Sent(agora) as sent:
        await agora.store._write(
            "UPDATE inbox SET status = 'pending', next_at = 0, body = ? WHERE event_id = ?",
            (text, event_id),
        )
        agora.dispatcher.wake.set()
        await eventually(done, "the second run")
    return sent.bodies


async def twice(agora, who, room_id: str, text: str) -> tuple[Any, list[tuple[str, str]]]:
    """The command run once (answered ✅), then again: its first answer and what the second
    run sent. Checks that the person still sees one answer and one ✅."""
    with Sent(agora) as first_run:
        answer, reaction = await who.command(room_id, text)
    assert reaction == "✅", answer.body
    again = await run_again(agora, answer.reply_to, text)
    await who.command(room_id, "!ping")  # the bot went past anything the re-run sent
    assert len(who.replies_to(answer.reply_to)) == 1
    assert who.reactions_to(answer.reply_to) == ["✅"]
    # The same answer: the second run said what the first said.
    assert [b for r, b in again if r == room_id][:1] == [
        b for r, b in first_run.bodies if r == room_id
    ][:1], (first_run.bodies, again)
    return answer, again


async def count(agora, sql: str, *params) -> int:
    async with agora.store.db.execute(sql, params) as cur:
        return (await cur.fetchone())[0]


async def test_news_and_alerts_are_posted_once(region):
    agora, admin, _, sfx = region
    control = agora.control.room_id
    await twice(agora, admin, control, f"!news vaucluse-{sfx} Réunion de la CPTS jeudi")
    assert await count(agora, "SELECT COUNT(*) FROM news WHERE text LIKE 'Réunion%'") == 1
    await twice(agora, admin, control, f"!alert vaucluse-{sfx} Canicule : niveau 3")
    assert await count(agora, "SELECT COUNT(*) FROM alerts WHERE text LIKE 'Canicule%'") == 1
    assert await count(agora, "SELECT COUNT(*) FROM jobs WHERE kind = 'alerts.remind'") == 1
    rows = await count(agora, "SELECT COUNT(*) FROM deliveries WHERE message LIKE 'alert:%'")
    rooms = await count(
        agora, "SELECT COUNT(DISTINCT room_id) FROM deliveries WHERE message LIKE 'alert:%'"
    )
    assert rows == rooms >= 2  # each room of the department's subtree, once


async def test_a_feed_is_added_and_removed_once(region):
    agora, admin, _, sfx = region
    control = agora.control.room_id
    await twice(agora, admin, control, f"!feed add http://127.0.0.1:9/ars-{sfx}.rss vaucluse-{sfx}")
    assert await count(agora, "SELECT COUNT(*) FROM feeds WHERE url LIKE ?", f"%ars-{sfx}%") == 1
    (feed_id,) = [f.id for f in await agora.news.feeds.feeds() if sfx in f.url]
    await twice(agora, admin, control, f"!feed remove {feed_id}")


async def test_bans_holds_and_their_confirmation_happen_once(region, person):
    agora, admin, _, sfx = region
    control = agora.control.room_id
    target = await person("fraudeur")
    await twice(agora, admin, control, f"!policy ban {target.user_id} Fraude au remplacement")
    answer, _ = await twice(agora, admin, control, f"!policy ban @*:evil-{sfx}.example Spam")
    holds = await count(agora, "SELECT COUNT(*) FROM holds WHERE entity LIKE ?", f"%evil-{sfx}%")
    assert holds == 1
    number = int(re.search(r"confirm (\d+)", answer.body).group(1))
    await twice(agora, admin, control, f"!confirm {number}")
    await twice(agora, admin, control, f"!policy unban @*:evil-{sfx}.example")


async def test_a_group_is_made_once_and_a_revocation_queued_once(region, person, synapse):
    agora, admin, animator, sfx = region
    dm = await animator.dm(agora.gateway.user_id)
    await twice(agora, animator, dm, '!group create "Cellule canicule" --private')
    assert await count(agora, "SELECT COUNT(*) FROM groups WHERE name = 'Cellule canicule'") == 1
    member = await person("pharmacien")
    await vet(agora, member.user_id, f"vaucluse-{sfx}")
    await twice(agora, admin, agora.control.room_id, f"!revoke {member.user_id} Fin d'exercice")
    assert await count(agora, "SELECT COUNT(*) FROM jobs WHERE kind = 'moderation.revoke'") == 1
    assert await count(agora, f"SELECT COUNT(*) FROM jobs WHERE kind = '{CONCLUDE_JOB}'") == 0


async def test_an_answer_in_the_join_conversation_is_taken_once(region, person):
    agora, _, _, _ = region
    nurse = await person("infirmiere")
    dm = await nurse.dm(agora.gateway.user_id)
    await nurse.command(dm, "!join")
    first = await nurse.say(dm, "fr")
    reply = await nurse.reply_to(first, timeout=60)
    assert "nom complet" in reply.body
    again = await run_again(agora, first, "fr")
    assert [b for _, b in again] == [reply.body]  # asked again; "fr" is not taken as the name
    current = await agora.vetting.requests.dialogue(nurse.user_id)
    assert current is not None and current[1] == "name" and current[2] == {}
