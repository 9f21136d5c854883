"""A survey delivered to many members and their answers collected, beside the same number of
plain encrypted direct messages sent by a matrix-nio client (and one reply to each), on the same
Synapse in the same run.

    python bench/survey.py [--members 1000] [--pace 50] [--concurrency 20]

- Members: `--members` accounts with real E2EE clients (no cross-signing), each joining any
  room it is invited to, as Element offers to; vetted members of one territory for the bot.
- Baseline: a plain nio client opens an encrypted direct chat with each member (as the bot
  does: createRoom with the invitation) and sends one message in it, `--concurrency` at once,
  until every member has decrypted it (*send*); then every member replies once, until the
  client has decrypted every reply (*collect*).
- Agora: a one-question anonymous survey opened for the territory (as the end of `!sondage
  créer` opens it), delivered by the bot's durable job to a direct chat it opens with each
  member, paced at `--pace` (`surveys.pace_per_second`), until every member has decrypted it
  (*deliver*); then every member answers, until the store has every answer under its token
  (*collect*; the bot also thanks each, in their chat).
Prints each phase's time, per member, and the ratios (the headline: Agora's deliver + collect
against the baseline's send + collect, target ≤ 1.3×). At 1,000 members the pace decides most
of the delivery: 1,000 / `--pace` seconds at least.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nio import RoomCreateResponse  # noqa: E402

from bench.common import bench_synapse  # noqa: E402
from bot.app import Agora  # noqa: E402
from bot.config import parse_config  # noqa: E402
from tests.conftest import bot_config, register, vet  # noqa: E402
from tests.people import ENCRYPTION_STATE, Person  # noqa: E402

TERRITORY = "vaucluse"
MESSAGE = "Bonjour, un message de test."
MARK = "📋"  # in the survey's invitation


async def joining(person: Person) -> None:
    """Join every room this member is invited to (their client's "accept")."""
    joined: set[str] = set()
    while True:
        await person.wait_for(lambda: person.invites - joined, "an invitation", 3600)
        for room_id in sorted(person.invites - joined):
            joined.add(room_id)
            with contextlib.suppress(Exception):
                await person.client.join(room_id)


def progress(what: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {what}", file=sys.stderr, flush=True)


def from_sender(person: Person, sender: str, text: str) -> list:
    return [s for s in person.seen if s.event.sender == sender and text in s.body]


async def until_all(people: list[Person], seen: callable, what: str) -> None:  # type: ignore[valid-type]
    await asyncio.gather(*(p.wait_for(lambda p=p: seen(p), what, 3600) for p in people))


async def main(members: int, pace: float, concurrency: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("nio", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        hs = bench_synapse(tmp / "hs")
        await hs.start()
        agora: Agora | None = None
        people: list[Person] = []
        sender: Person | None = None
        tasks: list[asyncio.Task[None]] = []
        gate = asyncio.Semaphore(concurrency)
        try:
            admin_id, _ = await register(hs, "admin")
            bot_id, bot_pw = await register(hs, "agora")
            network = {"territories": [{"id": TERRITORY, "name": "Vaucluse"}]}
            settings = bot_config(
                hs, bot_id[1:].split(":")[0], bot_pw, [admin_id], network=network,
                surveys={"pace_per_second": pace},
            )  # fmt: skip
            agora = Agora(parse_config(settings, env={}), tmp / "agora")
            await agora.start()

            async def someone(n: int) -> Person:
                async with gate:
                    user_id, password = await register(hs, f"m{n}")
                    return await Person.login(
                        hs.url,
                        user_id,
                        password,
                        tmp / "people" / str(n),
                        cross_signed=False,
                        poll_ms=30_000,  # as Element: a thousand polling each second would
                    )  # load the homeserver more than what is measured

            progress(f"{members} members logging in…")
            people = list(await asyncio.gather(*(someone(n) for n in range(members))))
            tasks = [asyncio.create_task(joining(p)) for p in people]
            for p in people:
                await vet(agora, p.user_id, TERRITORY)
            sender_id, sender_pw = await register(hs, "sender")
            sender = await Person.login(
                hs.url, sender_id, sender_pw, tmp / "sender", poll_ms=30_000
            )

            # Baseline: a plain nio client, one encrypted direct chat and message each.
            rooms: dict[str, str] = {}

            async def send_one(p: Person) -> None:
                async with gate:
                    resp = await sender.client.room_create(
                        is_direct=True, invite=[p.user_id], initial_state=[ENCRYPTION_STATE]
                    )
                    assert isinstance(resp, RoomCreateResponse), resp
                    rooms[p.user_id] = resp.room_id
                    # Until the sync shows the member invited (or joined), as the bot waits
                    # (Gateway.wait_for_member): the room can reach the sync before its
                    # invite, and nio then shares the room key with nobody, so the member
                    # never decrypts the message (the 10-member run waited forever).
                    await sender.wait_for(
                        lambda: (
                            resp.room_id in sender.client.rooms
                            and p.user_id in sender.client.rooms[resp.room_id].users
                        ),
                        "the member in the room's sync",
                        600,  # a sender in hundreds of new rooms syncs slowly
                    )
                    await sender.say(resp.room_id, MESSAGE)

            progress("baseline: a direct chat and a message to each…")
            began = time.perf_counter()
            await asyncio.gather(*(send_one(p) for p in people))
            await until_all(people, lambda p: from_sender(p, sender_id, MESSAGE), "the message")
            base_send = time.perf_counter() - began

            async def reply(p: Person, room_id: str, text: str) -> None:
                async with gate:
                    await p.wait_for(lambda: room_id in p.client.rooms, "the room")
                    await p.say(room_id, text)

            progress("baseline: one reply from each…")
            began = time.perf_counter()
            await asyncio.gather(
                *(reply(p, rooms[p.user_id], f"merci {p.user_id}") for p in people)
            )
            await sender.wait_for(
                lambda: all(from_sender(sender, p.user_id, "merci") for p in people),
                "every reply",
                3600,
            )
            base_collect = time.perf_counter() - began

            # Agora: a one-question survey, delivered by the bot, answered by everyone.
            data = {
                "title": "Charge de travail",
                "questions": [
                    {"kind": "choice", "text": "Votre charge ?", "options": ["Légère", "Lourde"]}
                ],
                "territories": [TERRITORY],
                "professions": [],
                "anonymous": True,
                "closes": agora.core.clock() + 7 * 86400,
            }
            progress("agora: the survey delivered to each…")
            began = time.perf_counter()
            opened = await agora.surveys.launch(admin_id, data, "fr")
            assert f"envoyé à {members} personne" in opened, opened
            await until_all(people, lambda p: from_sender(p, bot_id, MARK), "the survey")
            deliver = time.perf_counter() - began
            survey_id = int(opened.split("n°")[1].split()[0])

            def chat(p: Person) -> str:
                return next(s.room_id for s in from_sender(p, bot_id, MARK))

            progress("agora: every answer collected…")
            began = time.perf_counter()
            await asyncio.gather(*(reply(p, chat(p), "1") for p in people))
            while True:  # every answer recorded, under its token
                if (await agora.surveys.surveys.counts(survey_id))[2] == members:
                    break
                await asyncio.sleep(0.05)
            collect = time.perf_counter() - began
            await until_all(people, lambda p: from_sender(p, bot_id, "Merci"), "the thanks")
        finally:
            for task in tasks:
                task.cancel()
            for p in [*people, *([sender] if sender else [])]:
                await p.close()
            if agora:
                await agora.stop()
            await hs.stop()

    def per(seconds: float) -> str:
        return f"{seconds:7.2f} s ({seconds / members * 1000:6.1f} ms a member)"

    print(
        f"survey: {members} members with E2EE clients, one direct chat each opened by the "
        f"sender; bot paced at {pace:g}/s, baseline {concurrency} at once; same Synapse, same run"
    )
    print(f"  baseline send (nio, encrypted DMs):   {per(base_send)}")
    print(f"  baseline collect (one reply each):    {per(base_collect)}")
    print(f"  agora deliver (durable job, paced):   {per(deliver)}")
    print(f"  agora collect (answers in the store): {per(collect)}")
    print(f"  deliver / send:                       {deliver / base_send:.2f}x")
    print(f"  collect / collect:                    {collect / base_collect:.2f}x")
    total = (deliver + collect) / (base_send + base_collect)
    print(f"  agora / baseline, both phases:        {total:.2f}x  (target ≤ 1.3x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--pace", type=float, default=50.0, help="surveys.pace_per_second")
    parser.add_argument("--concurrency", type=int, default=20, help="the baseline's sends at once")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.pace, args.concurrency))
