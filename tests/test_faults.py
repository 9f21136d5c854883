"""Fault injection: the bot killed (SIGKILL) at random moments under load, its homeserver paused
or stopped, long downtime. Whatever happens, every command is answered once, every decision
counted once, every approved member provisioned and told once.

The bot runs as `agora-bot run` in a process group of its own, against a Synapse of this
module's own (paused and stopped here, so never the one other tests share). The number of
kill cycles is ``AGORA_FAULT_CYCLES`` (10 by default; the longer run: ``AGORA_FAULT_CYCLES=50
make test``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import secrets
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse
from tests.conftest import free_port, register
from tests.people import Person

CYCLES = int(os.environ.get("AGORA_FAULT_CYCLES", "10"))


def rpps(n: int) -> str:
    """A valid RPPS number (Luhn check digit) for applicant ``n``."""
    body = f"1010{n:06d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


@pytest.fixture(scope="module")
async def hs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedSynapse]:
    server = EmbeddedSynapse(
        tmp_path_factory.mktemp("faults-synapse"),
        "localhost",
        free_port(),
        extra=RELAXED_RATE_LIMITS,
    )
    await server.start()
    yield server
    if server.process and server.process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            server.process.send_signal(signal.SIGCONT)
    await server.stop()


class BotProcess:
    """`agora-bot run` as an operator's supervisor runs it, in its own process group."""

    def __init__(self, tmp: Path, hs: EmbeddedSynapse, admins: list[str], **extra: Any):
        self.tmp = tmp
        self.data_dir = tmp / "data"
        self.web_port = free_port()
        self.hs, self.admins, self.extra = hs, admins, extra
        self.proc: asyncio.subprocess.Process | None = None
        self.log = tmp / "bot.log"
        self.starts = 0

    async def configure(self) -> str:
        user_id, password = await register(self.hs, "agora")
        self.user_id = user_id
        self.sfx = secrets.token_hex(3)
        config = {
            "homeserver": {
                "embedded": False,
                "url": self.hs.url,
                "server_name": self.hs.server_name,
                "password": password,
            },
            "bot": {"localpart": user_id[1:].split(":")[0]},
            "admins": self.admins,
            "web": {"port": self.web_port, "healthy_sync_age": 10},
            "network": {
                "territories": [
                    {
                        "id": f"vaucluse-{self.sfx}",
                        "name": "Vaucluse",
                        "rooms": [{"id": "communaute", "name": "Communauté", "kind": "community"}],
                    }
                ]
            },
            "jobs": {"max_backoff": 2, "max_attempts": 2},
            **self.extra,
        }
        self.config_path = self.tmp / "agora.yaml"
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        return user_id

    async def start(self) -> None:
        self.starts += 1
        out = open(self.log, "ab")
        out.write(f"\n===== start {self.starts} =====\n".encode())
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(self.config_path),
            "--data-dir",
            str(self.data_dir),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        out.close()

    async def health(self) -> int | None:
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"http://127.0.0.1:{self.web_port}/healthz",
                    timeout=aiohttp.ClientTimeout(total=3),
                ) as resp,
            ):
                return resp.status
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None

    async def ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while await self.health() != 200:
            assert self.proc and self.proc.returncode is None, self.tail()
            assert time.monotonic() < deadline, "the bot never became healthy\n" + self.tail()
            await asyncio.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL to the bot's whole process group: no clean-up of any kind."""
        assert self.proc
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.kill()
                await self.proc.wait()

    def tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "agora.db")

    def control_room(self) -> str:
        with self.db() as db:
            (room_id,) = db.execute("SELECT room_id FROM rooms WHERE kind = 'control'").fetchone()
        return room_id


async def login(hs: EmbeddedSynapse, tmp: Path, name: str) -> Person:
    user_id, password = await register(hs, name)
    return await Person.login(hs.url, user_id, password, tmp / "people" / user_id.strip("@"))


@pytest.fixture
async def region(hs: EmbeddedSynapse, tmp_path: Path):
    """A bot process with two admins in its control room; the people are closed after."""
    people: list[Person] = []
    first, second = await login(hs, tmp_path, "admin"), await login(hs, tmp_path, "admin")
    people += [first, second]
    bot = BotProcess(tmp_path, hs, [first.user_id, second.user_id])
    await bot.configure()
    await bot.start()
    await bot.ready()
    control = bot.control_room()
    for admin in (first, second):
        await admin.accept_invite(control)

    async def someone(name: str) -> Person:
        made = await login(hs, tmp_path, name)
        people.append(made)
        return made

    yield bot, first, second, control, someone
    try:
        await bot.stop()
    finally:
        for p in people:
            await p.close()


def _answers(person: Person, event_id: str) -> list[str]:
    return [s.body for s in person.replies_to(event_id)]


async def _until(predicate, what: str, timeout: float, bot: BotProcess) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{bot.tail()}"
        await asyncio.sleep(0.3)


async def test_kill_9_under_load_answers_and_counts_everything_once(region):
    bot, first, second, control, someone = region
    applicants = [await someone("infirmiere") for _ in range(4)]
    dms = {}
    for a in applicants:
        dms[a.user_id] = await a.dm(bot.user_id)
    pings: list[str] = []
    joins: dict[str, str] = {}
    stop_load = asyncio.Event()

    async def ping_load() -> None:
        while not stop_load.is_set():
            pings.append(await first.say(control, "!ping"))
            await asyncio.sleep(random.uniform(0.1, 0.5))

    async def applicant(n: int, a: Person) -> int:
        """Files a request; both admins approve it (one by command, one by ✅ on its card)."""
        line = (
            f'!join nom="Corinne Durand{n}" profession=infirmier rpps={rpps(n)} '
            f'territoire=vaucluse-{bot.sfx} structure="Cabinet {n}" '
            f"email=c.durand{n}.{bot.sfx}@example.org"
        )
        joins[a.user_id] = await a.say(dms[a.user_id], line)
        reply = await _until(lambda: _answers(a, joins[a.user_id]), "an answer to !join", 300, bot)
        number = int(re.search(r"#(\d+)", reply[0]).group(1))
        await first.say(control, f"!approve {number}")
        card = await _until(
            lambda: [
                s
                for s in second.seen
                if s.room_id == control
                and f"Demande #{number} —" in s.body
                and "m.new_content" not in s.content
            ],
            "the card",
            300,
            bot,
        )
        await second.react(control, card[0].event_id, "✅")
        return number

    async def killer() -> None:
        for _ in range(CYCLES):
            await asyncio.sleep(random.uniform(0.5, 3.0))
            bot.kill()
            await bot.proc.wait()
            await bot.start()
            await bot.ready()

    load = asyncio.create_task(ping_load())
    numbers_task = asyncio.gather(*(applicant(n, a) for n, a in enumerate(applicants)))
    await killer()
    numbers = await asyncio.wait_for(numbers_task, 600)
    stop_load.set()
    await load

    # Everything answered once: each command one reply and one ✅.
    await _until(
        lambda: all(_answers(first, e) and first.reactions_to(e) for e in pings),
        "answers to every !ping",
        300,
        bot,
    )
    await asyncio.sleep(3)  # a second answer would come now
    for e in pings:
        assert len(_answers(first, e)) == 1, (_answers(first, e), bot.tail())
        assert first.reactions_to(e) == ["✅"], first.reactions_to(e)
    for a in applicants:
        answers = _answers(a, joins[a.user_id])
        assert len(answers) == 1 and "enregistrée" in answers[0], answers
        assert a.reactions_to(joins[a.user_id]) == ["✅"]
    # Each request: one card, two decisions, approved, its applicant told once and invited.
    for number, a in zip(numbers, applicants, strict=True):
        cards = [
            s
            for s in first.seen
            if s.room_id == control
            and f"Demande #{number} —" in s.body
            and "m.new_content" not in s.content
        ]
        assert len(cards) == 1, [c.body for c in cards]
        told = await _until(
            lambda a=a, number=number: [
                s for s in a.seen if f"votre demande #{number} est acceptée" in s.body
            ],
            "the applicant told",
            300,
            bot,
        )
        await asyncio.sleep(1)
        assert len([s for s in a.seen if f"demande #{number} est acceptée" in s.body]) == 1, told
        await _until(lambda a=a: a.invites, "an invitation to the space", 120, bot)
    with bot.db() as db:
        rows = db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status").fetchall()
        assert rows == [("approved", len(applicants))], rows
        (decisions,) = db.execute("SELECT COUNT(*) FROM decisions").fetchone()
        assert decisions == 2 * len(applicants)
        members = db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
        assert members == len(applicants)
        assert db.execute("SELECT COUNT(*) FROM inbox WHERE status = 'pending'").fetchone() == (0,)
        failed = db.execute("SELECT kind, error FROM jobs WHERE status = 'failed'").fetchall()
        assert failed == [], failed
    assert bot.starts == CYCLES + 1


async def test_150_commands_sent_while_the_bot_is_down_are_answered_once_in_order(region):
    bot, first, _second, control, _someone = region
    bot.kill()
    await bot.proc.wait()
    sent = [await first.say(control, f"!ping {n}") for n in range(150)]
    await bot.start()
    await bot.ready()
    await _until(lambda: all(first.replies_to(e) for e in sent), "150 answers", 300, bot)
    await asyncio.sleep(2)
    replies = [first.replies_to(e) for e in sent]
    assert all(len(r) == 1 for r in replies)
    # In order: the answers came in the order the commands were sent.
    order = {id(s): i for i, s in enumerate(first.seen)}
    positions = [order[id(r[0])] for r in replies]
    assert positions == sorted(positions)


async def test_a_paused_homeserver_turns_health_503_then_everything_completes(region, hs):
    bot, first, _second, control, _someone = region
    assert await bot.health() == 200
    before = await first.say(control, "!ping")
    await first.reply_to(before, 60)
    hs.process.send_signal(signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 30
        statuses = set()
        while time.monotonic() < deadline:
            statuses.add(await bot.health())
            await asyncio.sleep(1)
    finally:
        hs.process.send_signal(signal.SIGCONT)
    assert 503 in statuses, statuses
    during = await first.say(control, "!ping")
    await first.reply_to(during, 120)
    deadline = time.monotonic() + 60
    while await bot.health() != 200:
        assert time.monotonic() < deadline, bot.tail()
        await asyncio.sleep(0.5)
    assert len(first.replies_to(during)) == 1


async def test_a_revocation_outlives_a_homeserver_away_longer_than_the_old_give_up(
    hs, tmp_path: Path
):
    """jobs.max_attempts 2 and a 2 s backoff: under the old rule the job gave up within
    seconds. The homeserver stopped for 20 s, then back: the member is removed, once."""
    from bot.app import Agora
    from bot.config import load_config
    from bot.store.vetting import VettingStore
    from tests.conftest import bot_config

    admin = await login(hs, tmp_path, "admin")
    member = await login(hs, tmp_path, "pharmacien")
    user_id, password = await register(hs, "agora")
    sfx = secrets.token_hex(3)
    path = tmp_path / "agora.yaml"
    config = bot_config(hs, user_id[1:].split(":")[0], password, [admin.user_id])
    config["network"] = {
        "territories": [
            {
                "id": f"vaucluse-{sfx}",
                "name": "Vaucluse",
                "rooms": [{"id": "communaute", "name": "Communauté", "kind": "community"}],
            }
        ]
    }
    config["jobs"] = {"max_backoff": 2, "max_attempts": 2}
    config["homeserver"]["retries"] = 1  # each try of the job gives up on its request soon
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    agora = Agora(load_config(path, env={}), tmp_path / "data")
    await agora.start()
    try:
        await admin.accept_invite(agora.control.room_id)
        await VettingStore(agora.store).add_member(member.user_id, None, f"vaucluse-{sfx}")
        await agora.reconcile(dry_run=False)
        space = await member.wait_for(lambda: next(iter(member.invites), None), "the space")
        await member.accept_invite(space)

        # A command received just before the outage, its answer still to send.
        dispatcher = next(t for t in agora._tasks if t.get_name() == "dispatcher")
        dispatcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dispatcher
        ping = await admin.say(agora.control.room_id, "!ping")
        from tests.test_territories import eventually

        async def recorded() -> bool:
            return any(r.event_id == ping for r in await agora.store.pending_events())

        await eventually(recorded, "the command in the inbox")
        await hs.stop()
        agora._tasks.append(asyncio.create_task(agora.dispatcher.run(), name="dispatcher"))
        try:
            # What !revoke does once parsed: the revocation and its job, in one transaction.
            await agora.revocation.start(member.user_id, "test", admin.user_id, False)
            agora.wake_jobs()
            await asyncio.sleep(20)
            async with agora.store.db.execute(
                "SELECT status, attempts FROM inbox WHERE event_id = ?", (ping,)
            ) as cur:
                status, tries = await cur.fetchone()
            assert status == "pending" and tries >= 1  # waiting out the outage, not failed
            async with agora.store.db.execute("SELECT status, attempts FROM jobs") as cur:
                jobs = [tuple(r) for r in await cur.fetchall()]
            # Still waiting for the homeserver, tried more often than max_attempts.
            assert [j for j in jobs if j[0] == "pending" and j[1] > 2], jobs
            assert not [j for j in jobs if j[0] == "failed"], jobs
        finally:
            await hs.start()
        await admin.wait_for(
            lambda: [s for s in admin.seen if member.user_id in s.body and "retiré" in s.body],
            "the revocation's report",
            120,
        )
        members = await agora.gateway.members(space)
        assert members.get(member.user_id) not in ("join", "invite")
        answer = await admin.reply_to(ping, 60)
        assert answer.body.startswith("pong") and await admin.reaction_to(ping) == "✅"
        await asyncio.sleep(2)
        assert len(admin.replies_to(ping)) == 1 and admin.reactions_to(ping) == ["✅"]
        async with agora.store.db.execute(
            "SELECT kind, status FROM jobs WHERE kind = 'moderation.revoke'"
        ) as cur:
            assert [tuple(r) for r in await cur.fetchall()] == [("moderation.revoke", "done")]
    finally:
        await agora.stop()
        await admin.close()
        await member.close()


async def test_a_bot_killed_alone_or_with_its_group_restarts_with_one_homeserver(tmp_path):
    """The embedded Synapse dies with the bot (SIGKILL of the bot alone, then of its whole
    group), and one left running by an earlier bot is stopped at start."""
    from tests.test_foundation import _agora_run

    def synapses() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    cmd = (entry / "cmdline").read_bytes()
                    if str(tmp_path).encode() in cmd and b"synapse.app.homeserver" in cmd:
                        stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                        if stat != "Z":
                            found.append(int(entry.name))
        return found

    hs_port, web_port = free_port(), free_port()

    async def run_until_healthy() -> asyncio.subprocess.Process:
        proc, _ = await _agora_run(
            tmp_path, hs_port, web_port, network={}, vetting={}, new_session=True
        )
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"http://127.0.0.1:{web_port}/healthz") as resp,
                ):
                    if resp.status == 200:
                        return proc
            assert proc.returncode is None, (await proc.stdout.read()).decode()[-3000:]
            assert time.monotonic() < deadline
            await asyncio.sleep(0.5)

    proc = await run_until_healthy()
    try:
        assert len(synapses()) == 1
        proc.kill()  # the bot alone
        await proc.wait()
        proc = await run_until_healthy()
        assert len(synapses()) == 1
        os.killpg(proc.pid, signal.SIGKILL)  # its whole process group
        await proc.wait()
        # An orphan that outlived its bot (as one started without the kernel's help would):
        orphan = EmbeddedSynapse(tmp_path / "data", "localhost", hs_port)
        await _wait_gone(synapses)
        await orphan.start()
        orphan.process = None  # left behind: nobody will stop it but the next bot
        assert len(synapses()) == 1
        proc = await run_until_healthy()
        assert len(synapses()) == 1
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
    await _wait_gone(synapses)


async def _wait_gone(synapses, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while synapses():
        assert time.monotonic() < deadline, synapses()
        await asyncio.sleep(0.2)
