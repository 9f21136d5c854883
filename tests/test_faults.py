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
from nio import JoinResponse

from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse
from tests.conftest import BOT_PATTERN, agora_cli, free_port, module_secret, register
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
        bot_user_pattern=BOT_PATTERN,
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
                "module_secret": module_secret(self.hs),
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


def _cards(person: Person, control: str, number: int) -> list:
    return [
        s
        for s in person.seen
        if s.room_id == control
        and f"Demande #{number} —" in s.body
        and "m.new_content" not in s.content
    ]


def _told(person: Person, number: int) -> list:
    return [s for s in person.seen if f"votre demande #{number} est acceptée" in s.body]


async def _import(bot: BotProcess, people: list[Person], batch: str) -> None:
    """Requests for ``people`` imported from a CSV, as an agency's list is, beside the
    running bot."""
    listing = bot.tmp / f"{batch}.csv"
    rows = [["nom", "profession", "rpps", "territoire", "email", "matrix_id"]]
    for i, p in enumerate(people):
        rows.append(
            [
                f"Médecin {i}",
                "medecin",
                rpps(100 + i),
                f"vaucluse-{bot.sfx}",
                f"m{i}.{bot.sfx}@example.org",
                p.user_id,
            ]
        )
    listing.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    done = await agora_cli(
        "import-requests",
        "--config",
        str(bot.config_path),
        "--data-dir",
        str(bot.data_dir),
        str(listing),
        "--batch",
        batch,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.timeout(900)
async def test_kill_9_and_a_paused_homeserver_under_mixed_load_do_everything_once(region, hs):
    """Commands, ✅ on cards, two admins' bulk approvals of an imported list, an alert to
    the territory and a revocation, while the bot's whole process group is killed
    ``CYCLES`` times; then the homeserver frozen for 30 s with work in flight."""
    bot, first, second, control, someone = region
    applicants = [await someone("infirmiere") for _ in range(3)]
    imported = [await someone("medecin") for _ in range(3)]
    batch = f"faults-{bot.sfx}"
    await _import(bot, imported, batch)
    dms = {a.user_id: await a.dm(bot.user_id) for a in applicants}
    pings: list[str] = []
    joins: dict[str, str] = {}
    commands: list[tuple[Person, str]] = []  # (who, event) of every other command sent
    stop_load, all_sent = asyncio.Event(), asyncio.Event()

    async def ping_load() -> None:
        while not stop_load.is_set():
            pings.append(await first.say(control, "!ping"))
            await asyncio.sleep(random.uniform(0.1, 0.5))

    async def command(who: Person, text: str) -> str:
        event_id = await who.say(control, text)
        commands.append((who, event_id))
        await _until(lambda: who.reactions_to(event_id), f"the outcome of {text}", 300, bot)
        return event_id

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
        await command(first, f"!approve {number}")
        card = await _until(lambda: _cards(second, control, number), "the card", 300, bot)
        await second.react(control, card[0].event_id, "✅")
        return number

    async def bulk() -> None:
        await command(first, f"!approve import:{batch}")
        await command(second, f"!approve import:{batch} liste ARS vérifiée")

    async def later(numbers_task: asyncio.Future) -> tuple[list[int], Person, Person]:
        """Once the applicants are in: one watches the community room, an alert goes to
        the territory, another applicant is revoked."""
        numbers = await numbers_task
        watcher, revoked = applicants[0], applicants[1]
        # Invited to the territory's space; its community room is joined through it.
        await _until(lambda: watcher.invites, "the watcher's invitation", 300, bot)
        for room_id in list(watcher.invites):
            await watcher.accept_invite(room_id)
        with bot.db() as db:
            rooms = [
                r for (r,) in db.execute("SELECT room_id FROM managed_rooms WHERE is_space = 0")
            ]
        for room_id in rooms:
            joined = await watcher.client.join(room_id)
            assert isinstance(joined, JoinResponse), joined
        await command(first, f"!alert vaucluse-{bot.sfx} Exercice {bot.sfx}")
        await command(first, f"!revoke {revoked.user_id} Fin de l'exercice")
        all_sent.set()
        return numbers, watcher, revoked

    async def killer() -> int:
        cycles = 0
        while (cycles < CYCLES or not all_sent.is_set()) and cycles < CYCLES + 10:
            await asyncio.sleep(random.uniform(0.5, 3.0))
            bot.kill()
            await bot.proc.wait()
            await bot.start()
            await bot.ready()
            cycles += 1
        return cycles

    load = asyncio.create_task(ping_load())
    numbers_task = asyncio.ensure_future(
        asyncio.gather(*(applicant(n, a) for n, a in enumerate(applicants)))
    )
    work = asyncio.gather(bulk(), later(numbers_task))
    cycles = await killer()
    _, (numbers, watcher, revoked) = await asyncio.wait_for(work, 600)
    stop_load.set()
    await load

    # The homeserver frozen with work in flight: /healthz turns 503, then all completes.
    in_flight = [await first.say(control, "!ping") for _ in range(10)]
    hs.process.send_signal(signal.SIGSTOP)
    try:
        statuses = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses.add(await bot.health())
            await asyncio.sleep(1)
    finally:
        hs.process.send_signal(signal.SIGCONT)
    assert 503 in statuses, statuses
    pings += in_flight
    await _until(lambda: all(_answers(first, e) for e in pings), "every !ping", 300, bot)
    deadline = time.monotonic() + 60
    while await bot.health() != 200:
        assert time.monotonic() < deadline, bot.tail()
        await asyncio.sleep(0.5)

    # Every command answered once: one ✅ (and one reply) each. The ✅ waits for a quiet room
    # (5 s at most while commands keep coming), so it may come after the last answer.
    await _until(lambda: all(first.reactions_to(e) for e in pings), "every !ping's ✅", 300, bot)
    await asyncio.sleep(3)  # a second answer would come now
    for e in pings:
        assert len(_answers(first, e)) == 1, (_answers(first, e), bot.tail())
        assert first.reactions_to(e) == ["✅"], first.reactions_to(e)
    for who, e in commands:
        assert who.reactions_to(e) == ["✅"], (who.reactions_to(e), _answers(who, e))
        assert len(_answers(who, e)) == 1, _answers(who, e)
    for a in applicants:
        answers = _answers(a, joins[a.user_id])
        assert len(answers) == 1 and "enregistrée" in answers[0], answers
        assert a.reactions_to(joins[a.user_id]) == ["✅"]
    # Each applicant's request: one card, approved, its applicant told once and invited.
    for number, a in zip(numbers, applicants, strict=True):
        assert len(_cards(first, control, number)) == 1
        await _until(lambda a=a, n=number: _told(a, n), "the applicant told", 300, bot)
        await _until(lambda a=a: a.invites, "an invitation to the space", 120, bot)
    # Each imported person: approved by both admins' bulk approvals, told once, invited.
    with bot.db() as db:
        imported_numbers = [
            r[0]
            for r in db.execute("SELECT id FROM requests WHERE batch = ? ORDER BY id", (batch,))
        ]
    assert len(imported_numbers) == len(imported)
    for p in imported:
        chats = await _until(
            lambda p=p: [r for r, who in p.direct_invites.items() if who == bot.user_id],
            "a direct chat from the bot",
            300,
            bot,
        )
        await p.accept_invite(chats[0])
    for number, p in zip(imported_numbers, imported, strict=True):
        await _until(lambda p=p, n=number: _told(p, n), "an imported person told", 300, bot)
    # The alert: every room of the territory reached once.
    with bot.db() as db:
        delivered = db.execute(
            "SELECT room_id, event_id FROM deliveries WHERE message LIKE 'alert:%'"
        ).fetchall()
    assert delivered and all(event_id for _, event_id in delivered), delivered
    for room_id, _ in delivered:
        seen = await _until(
            lambda r=room_id: [
                s for s in watcher.seen if s.room_id == r and f"Exercice {bot.sfx}" in s.body
            ],
            "the alert",
            120,
            bot,
        )
        assert len(seen) == 1, [s.body for s in seen]
    # The revocation: done once, its member told once.
    done = await _until(
        lambda: [s for s in first.seen if f"Révocation de {revoked.user_id} terminée" in s.body],
        "the revocation's report",
        300,
        bot,
    )
    await _until(
        lambda: [s for s in revoked.seen if "accès au réseau a été révoqué" in s.body],
        "the revoked member told",
        300,
        bot,
    )
    await asyncio.sleep(2)
    assert len(done) == 1, [s.body for s in done]
    assert len([s for s in revoked.seen if "accès au réseau a été révoqué" in s.body]) == 1
    for p in imported:  # one direct chat each, even when the bot died opening it
        assert len([w for w in p.direct_invites.values() if w == bot.user_id]) == 1
    for number, p in [
        *zip(numbers, applicants, strict=True),
        *zip(imported_numbers, imported, strict=True),
    ]:
        assert len(_told(p, number)) == 1, [s.body for s in _told(p, number)]
    with bot.db() as db:
        rows = db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status").fetchall()
        assert rows == [("approved", len(applicants) + len(imported))], rows
        (decisions,) = db.execute("SELECT COUNT(*) FROM decisions").fetchone()
        assert decisions == 2 * (len(applicants) + len(imported))
        statuses = dict(db.execute("SELECT user_id, status FROM members").fetchall())
        assert len(statuses) == len(applicants) + len(imported)
        assert statuses.pop(revoked.user_id) == "revoked"
        assert set(statuses.values()) == {"active"}, statuses
        assert db.execute("SELECT COUNT(*) FROM inbox WHERE status = 'pending'").fetchone() == (0,)
        failed = db.execute("SELECT kind, error FROM jobs WHERE status = 'failed'").fetchall()
        assert failed == [], failed
        concluded = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT payload) FROM jobs WHERE kind = 'vetting.conclude'"
        ).fetchone()
        assert concluded == (len(numbers) + len(imported),) * 2, concluded
    assert bot.starts == cycles + 1 and cycles >= CYCLES


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
        await agora.territories.reconcile(dry_run=False)
        space = await member.wait_for(lambda: next(iter(member.invites), None), "the space")
        await member.accept_invite(space)

        # A command received just before the outage, its answer still to send.
        dispatcher = agora.tasks.named("dispatcher")
        dispatcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dispatcher
        ping = await admin.say(agora.control.room_id, "!ping")
        from tests.test_territories import eventually

        async def recorded() -> bool:
            return any(r.event_id == ping for r in await agora.store.pending_events())

        await eventually(recorded, "the command in the inbox")
        await hs.stop()
        agora.tasks.loop(agora.dispatcher.run(), "dispatcher")
        try:
            # What !revoke does once parsed: the revocation and its job, in one transaction.
            await agora.moderation.revocation.start(member.user_id, "test", admin.user_id, False)
            agora.jobs.kick()
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
            tmp_path, hs_port, web_port, network={}, vetting={}, rosters={}, new_session=True
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
