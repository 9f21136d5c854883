"""The national directory of health professionals (issue 15): a million-line extraction loaded
while an admin asks `!ping` in the encrypted control room, on the same Synapse, in the same run;
the loading process's resident memory; what a request's lookup costs.

    python bench/directory.py [--rows 1000000] [--block 20] [--settle 0.1] [--lookups 10000]

- The file: a synthetic extraction in the published layout (`tests/rpps_files.py`: the agency's
  header, one line per professional and place, pipe-separated), never real people. With the
  default 1,000,000 lines: 900,000 distinct RPPS numbers (11 digits, `10…`, a valid Luhn check
  digit, in no particular order: an affine permutation), 80,000 of them at a second place (their
  two lines together), and 20,000 ADELI lines (identifier type 0), one in fifty. Names made of
  syllables, communes made up in 101 departments (Corsica and overseas included), professions
  médecin / infirmier / pharmacien / sage-femme / others.
- Loaded four times, each replacing the previous copy (as a monthly refresh does):
  (a) `agora-bot import-directory` as a child process (`python -m bot import-directory --config
  … --data-dir …`) against the running bot's data directory; the child's peak resident memory
  is its own (`VmHWM`), the bot's (this process's) resident memory, both sampled every 20 ms;
  (b) inside the running bot: `RppsStore(agora.store).load(people(file, Tally()), date=…)` as a
  task on the bot's event loop; this process's peak resident memory (`VmHWM`, reset just before
  through `/proc/self/clear_refs`) against what it was before. Synapse is a separate process:
  this process is the bot, plus the admin's matrix-nio client. Each (a), then (b), once with
  nothing else asked of the bot (*quiet*: the load's time), once beside the pings.
- The pings: the admin's `!ping` in the encrypted control room until its decrypted reply,
  `--settle` idle before each: a block of `--block` with nothing loaded (*idle*) before and after
  each load, and as many as each load lasts (*during*: a ping begun before its end counts).
- Diagnosis: the event loop's lag (a 10 ms timer's lateness) in each condition; how long the
  bot's own writes waited for the write lock (the store's lock, then SQLite's, which another
  process's transaction holds); any write of the bot refused (`database is locked`, with the
  SQLite error and how long it had waited); in (b), how long the parsing of each chunk held the
  event loop (the extraction is read by a generator the load iterates on the loop) and how long
  each chunk's transaction held the write lock. A loop of the bot that dies (under `agora-bot
  run` the bot would exit) is reported and the bot restarted on its data directory, as its
  supervisor would; a ping without a reply in 10 s is counted lost; a load refused is reported
  (the previous copy stays).
- The lookups: `RppsStore.entry(rpps)` + `judge(name, profession, entry)` for `--lookups`
  numbers, half in the directory, half not, in random order, on the idle bot.

About 3½–4 minutes with the defaults on 2 cores (the file: about 7 s to write, 133 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile, round_trip  # noqa: E402
from bot.app import Agora  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse  # noqa: E402
from bot.rpps.extraction import Tally, people  # noqa: E402
from bot.rpps.matching import PROFESSION_CODES, judge  # noqa: E402
from bot.store import rpps as rpps_module  # noqa: E402
from bot.store.rpps import RppsStore  # noqa: E402
from tests.conftest import bot_config, free_port, register  # noqa: E402
from tests.people import Person  # noqa: E402
from tests.rpps_files import HEADER, line  # noqa: E402

FILE_NAME = "PS_LibreAcces_Personne_activite_202612010812.txt"
DATE = "2026-12-01"
MODULUS = 10**8  # RPPS numbers 10 + 8 digits + the check digit
MULTIPLIER = 54_435_761  # odd, not a multiple of 5: i → (a·i + b) mod 10^8 is a permutation
OFFSET = 12_345_678
PING_TIMEOUT = 10.0  # seconds: a ping without a reply by then is counted lost
# Codes and shares: médecin, infirmier, pharmacien, sage-femme, chirurgien-dentiste, masseur-
# kinésithérapeute (the last two "Autre" in the synthetic label), one the bot does not offer.
PROFESSIONS = (
    ("10", 30),
    ("60", 35),
    ("21", 10),
    ("50", 4),
    ("40", 6),
    ("70", 10),
    ("91", 5),
)
SYLLABLES = (
    "ba be bi bo bu da de di do du fa fe fi fo la le li lo lu ma me mi mo mu na ne ni no nu "
    "pa pe pi po ra re ri ro ru sa se si so ta te ti to va ve vi vo ran ren rin son tan ter val "
    "ver mar mor bel ber cha che cho gau gue lau lou mau rou"
).split()


def luhn_digit(body: str) -> str:
    """The digit that makes ``body`` + it pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:  # doubled: these are odd positions once the digit is appended
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def rpps_number(i: int) -> str:
    body = f"10{(MULTIPLIER * i + OFFSET) % MODULUS:08d}"
    return body + luhn_digit(body)


@dataclass
class Extraction:
    path: Path
    lines: int
    people: int
    two_places: int
    adeli: int
    size: int
    # (rpps, name as a person would give it, Agora's profession or "", present)
    sample: list[tuple[str, str, str, bool]]


def communes(rng: random.Random) -> list[tuple[str, str, str]]:
    """(name, INSEE code, postcode) of made-up communes, a few in each department."""
    departments = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B"]
    departments += ["971", "972", "973", "974"]
    out = []
    for dep in departments:
        for _ in range(4):
            name = "-".join(
                "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
                for _ in range(rng.choice((1, 1, 1, 2)))
            ).upper()
            if len(dep) == 3:
                insee, postcode = f"{dep}{rng.randint(1, 34):02d}", f"{dep}{rng.randint(0, 99):02d}"
            elif dep in ("2A", "2B"):
                insee, postcode = f"{dep}{rng.randint(1, 366):03d}", "20000"
            else:
                insee, postcode = f"{dep}{rng.randint(1, 999):03d}", f"{dep}{rng.randint(0, 9)}00"
            out.append((name, insee, postcode))
    return out


def write_extraction(folder: Path, rows: int, sample: int, seed: int = 15) -> Extraction:
    """The file, streamed: nothing but a small sample is kept in memory."""
    rng = random.Random(seed)
    places = communes(rng)
    last_names = [
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).upper()
        for _ in range(6000)
    ]
    last_names += [f"{a}-{b}" for a, b in zip(last_names[:400], last_names[400:800], strict=True)]
    first_names = [
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        for _ in range(2000)
    ]
    codes = [code for code, weight in PROFESSIONS for _ in range(weight)]
    adeli = rows // 50
    persons = round(rows * 0.9)
    two = rows - adeli - persons
    every_two = persons / two if two else float("inf")
    keep_every = max(1, persons // sample)
    kept: list[tuple[str, str, str, bool]] = []
    path = folder / FILE_NAME
    written = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER + "\n")
        buffer: list[str] = []
        n_adeli = n_two = 0
        for i in range(persons):
            number = rpps_number(i)
            last, first = rng.choice(last_names), rng.choice(first_names)
            code = rng.choice(codes)
            commune, insee, postcode = rng.choice(places)
            buffer.append(line(number, last, first, code, commune, postcode, insee))
            if n_two < two and i >= n_two * every_two:
                commune, insee, postcode = rng.choice(places)
                buffer.append(line(number, last, first, code, commune, postcode, insee))
                n_two += 1
            while n_adeli < adeli and (written + len(buffer)) >= (n_adeli + 1) * 50 - 1:
                dep = rng.choice(places)[1][:2]
                ident = f"{dep}{rng.randint(0, 9_999_999):07d}"
                code = rng.choice(codes)
                buffer.append(line(ident, last, first, code, commune, postcode, insee, kind="0"))
                n_adeli += 1
            if i % keep_every == 0:
                # A join request as a person would write it: first name, then last name.
                kept.append(
                    (number, f"{first} {last.title()}", PROFESSION_CODES.get(code, ""), True)
                )
            if len(buffer) >= 10_000:
                out.write("\n".join(buffer) + "\n")
                written += len(buffer)
                buffer = []
        while n_adeli < adeli:  # rounding: the last few at the end
            buffer.append(line(f"84{n_adeli:07d}", "ADELI", "Adeli", "60", kind="0"))
            n_adeli += 1
        out.write("\n".join(buffer) + "\n")
        written += len(buffer)
    # Numbers in no line: the permutation's next ones (an ADELI identifier has 9 characters).
    absent = [(rpps_number(persons + k), "Jean Absent", "medecin", False) for k in range(len(kept))]
    both: list[Any] = kept + absent
    rng.shuffle(both)
    return Extraction(path, written, persons, n_two, n_adeli, path.stat().st_size, both)


# --- measuring ------------------------------------------------------------------------------


def memory(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM in kB; empty once the process is gone."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for row in status:
                if row.startswith(("VmRSS:", "VmHWM:")):
                    found[row.split(":")[0]] = int(row.split()[1])
    except OSError:
        pass
    return found


class Sampler:
    """This process's and the child's resident memory every 20 ms, from a thread (so a busy
    event loop does not delay the samples), each sample under the phase running then."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.child: int | None = None
        self.own: dict[str, list[int]] = {}
        self.of_child: dict[str, list[int]] = {}
        self.child_peak = 0  # the child's VmHWM, as last read
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            phase, child = self.phase, self.child
            if phase is None:
                continue
            self.own.setdefault(phase, []).append(memory().get("VmRSS", 0))
            if child is not None:
                found = memory(child)
                if found.get("VmRSS"):
                    self.of_child.setdefault(phase, []).append(found["VmRSS"])
                    self.child_peak = max(self.child_peak, found["VmHWM"])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class LoopLag:
    """How late a 10 ms timer fires on the event loop (the bot's, shared with the admin's
    client), under the condition running at the time."""

    def __init__(self) -> None:
        self.condition: str | None = None
        self.lags: dict[str, list[float]] = {}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + 0.01
            await asyncio.sleep(0.01)
            if self.condition:
                self.lags.setdefault(self.condition, []).append(loop.time() - planned)


class WriteWait:
    """How long each of the bot's own writes waited for the write lock: the store's lock
    (another task's transaction), then SQLite's (`BEGIN IMMEDIATE`, or the statement itself
    outside a transaction: another process's transaction, SQLite's busy handler sleeping
    meanwhile up to busy_timeout, 5 s). The directory's own load is left out. A write refused
    (`database is locked`) is kept with its SQLite error name and how long it had waited."""

    def __init__(self) -> None:
        self.condition: str | None = None
        self.load_task: asyncio.Task | None = None
        self.waits: dict[str, list[float]] = {}
        self.refused: list[tuple[str | None, str, float, str]] = []

    def install(self, agora: Agora) -> None:
        store = agora.store
        transaction, write = store.transaction, store._write

        def note(started: float, what: str, exc: BaseException | None = None) -> None:
            if asyncio.current_task() is self.load_task:
                return
            waited = time.perf_counter() - started
            if exc is not None:
                name = getattr(exc, "sqlite_errorname", type(exc).__name__)
                self.refused.append((self.condition, what, waited, name))
            elif self.condition:
                self.waits.setdefault(self.condition, []).append(waited)

        @contextlib.asynccontextmanager
        async def timed_transaction():  # type: ignore[no-untyped-def]
            started, entered = time.perf_counter(), False
            try:
                async with transaction() as db:
                    entered = True
                    note(started, "transaction")
                    yield db
            except sqlite3.OperationalError as exc:
                if not entered:
                    note(started, "BEGIN IMMEDIATE", exc)
                raise

        async def timed_write(sql: str, params: tuple | list = ()) -> Any:
            started = time.perf_counter()
            try:
                cursor = await write(sql, params)
            except sqlite3.OperationalError as exc:
                note(started, " ".join(sql.split()[:3]), exc)
                raise
            note(started, "write")
            return cursor

        store.transaction = timed_transaction  # type: ignore[method-assign]
        store._write = timed_write  # type: ignore[method-assign]


def dead_loops(agora: Agora) -> list[str]:
    """The bot's loops that ended (under `agora-bot run`, the bot would stop: exit 1)."""
    return [t.get_name() for t in agora.tasks.loops if t.done() and not t.cancelled()]


@dataclass
class LoadProbe:
    """In (b): each chunk's parsing on the event loop, and each chunk's transaction."""

    parse: list[float] = field(default_factory=list)
    write: list[float] = field(default_factory=list)
    last_write_end: float = 0.0

    def rows(self, rows: Iterator[Any]) -> Iterator[Any]:
        """The people, timing each stretch of ``CHUNK`` rows read on the loop in one go."""
        chunk = rpps_module.CHUNK
        started, n = time.perf_counter(), 0
        for row in rows:
            n += 1
            if n == chunk:
                self.parse.append(time.perf_counter() - started)
                n = 0
                yield row
                started = time.perf_counter()
            else:
                yield row
        self.parse.append(time.perf_counter() - started)

    def wrap(self, store: RppsStore) -> None:
        write = store._stage

        async def timed(rows: list[Any]) -> int:
            started = time.perf_counter()
            try:
                return await write(rows)
            finally:
                self.last_write_end = time.perf_counter()
                self.write.append(self.last_write_end - started)

        store._stage = timed  # type: ignore[method-assign]


@dataclass
class Load:
    kind: str  # "cli" or "bot"
    seconds: float
    count: int
    peak_kb: int  # the loading process's peak resident memory
    before_kb: int = 0  # in (b): this process before the load
    after_kb: int = 0
    cpu: float = 0.0
    swap: float = 0.0  # in (b): from the last chunk's commit to the new copy in place
    probe: LoadProbe | None = None
    report: str = ""
    failed: str = ""  # the load's error, when it was refused (the old copy then stays)


def cli_load(data_dir: Path, config: Path, extraction: Extraction, sampler: Sampler) -> Load:
    """`agora-bot import-directory` as a child process. Its peak memory is its VmHWM as last
    sampled (at most 20 ms before its end): not wait4's ru_maxrss, which counts the pages the
    child shared with this process between fork and exec."""
    logs = data_dir.parent / "import-directory"
    command = [sys.executable, "-m", "bot", "import-directory", "--config", str(config)]
    command += ["--data-dir", str(data_dir), str(extraction.path)]
    with open(f"{logs}.out", "w") as out, open(f"{logs}.err", "w") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        sampler.child, sampler.child_peak = child.pid, 0
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - started
        sampler.child = None
        child.returncode = os.waitstatus_to_exitcode(status)
    report = Path(f"{logs}.out").read_text().strip()
    if child.returncode != 0:
        raise RuntimeError(
            f"import-directory: {child.returncode}\n{Path(f'{logs}.err').read_text()}"
        )
    return Load(
        "cli",
        took,
        extraction.people,
        sampler.child_peak,
        cpu=usage.ru_utime + usage.ru_stime,
        report=report,
    )


async def bot_load(agora: Agora, extraction: Extraction, waits: WriteWait) -> Load:
    """The load inside the bot, on its event loop; this process's peak from VmHWM."""
    import gc

    gc.collect()
    before = memory()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM back to the current VmRSS
    probe = LoadProbe()
    store = RppsStore(agora.store)
    probe.wrap(store)
    tally = Tally()
    cpu, started = time.process_time(), time.perf_counter()
    failed = ""
    with open(extraction.path, encoding="utf-8-sig", newline="") as lines:
        waits.load_task = asyncio.create_task(
            store.load(probe.rows(people(lines, tally)), date=DATE)
        )
        try:
            count = await waits.load_task
        except sqlite3.OperationalError as exc:
            count = 0
            name = getattr(exc, "sqlite_errorname", "")
            failed = f"{exc} ({name}), {time.perf_counter() - started:.1f} s in"
    took = time.perf_counter() - started
    peak = memory()["VmHWM"]
    gc.collect()
    return Load(
        "bot",
        took,
        count,
        peak,
        before,
        memory()["VmRSS"],
        time.process_time() - cpu,
        time.perf_counter() - probe.last_write_end,
        probe,
        f"{tally.read} lines read, {tally.kept} kept ({count} people), {tally.skipped} not "
        f"RPPS, {tally.refused} refused",
        failed,
    )


async def count_people(agora: Agora) -> int:
    async with agora.store.db.execute("SELECT COUNT(*) FROM rpps_people") as cur:
        return (await cur.fetchone())[0]


async def lookups(agora: Agora, sample: list[tuple[str, str, str, bool]]) -> dict[str, Any]:
    """µs per `entry` + `judge`, present and absent numbers; and that each verdict is right."""
    store = RppsStore(agora.store)
    took: dict[bool, list[float]] = {True: [], False: []}
    wrong = 0
    for number, name, profession, present in sample:
        started = time.perf_counter()
        verdict = judge(name, profession, await store.entry(number))
        took[present].append(time.perf_counter() - started)
        expected = present and bool(profession)
        if verdict.found != present or verdict.ok != expected:
            wrong += 1
    every = took[True] + took[False]
    return {
        "n": len(every),
        "mean": statistics.mean(every),
        "p50": percentile(every, 0.5),
        "p99": percentile(every, 0.99),
        "present": statistics.mean(took[True]),
        "absent": statistics.mean(took[False]),
        "wrong": wrong,
    }


async def ping(admin: Person, room: str, settle: float) -> float | None:
    """A round trip, None if no reply came within PING_TIMEOUT seconds."""
    await asyncio.sleep(settle)
    started = time.perf_counter()
    event_id = await admin.say(room, "!ping")
    try:
        await admin.reply_to(event_id, timeout=PING_TIMEOUT)
    except AssertionError:
        return None
    return time.perf_counter() - started


async def pings(
    admin: Person, room: str, settle: float, agora: Agora, times: list[float], lost: list[str],
    label: str, count: int | None = None, beside: asyncio.Future | None = None,
) -> None:  # fmt: skip
    """``count`` pings, or as many as ``beside`` lasts (a ping begun before its end counts as
    during it); stopped when a loop of the bot died."""
    n = 0
    while (beside is None and n < (count or 0)) or (beside is not None and not beside.done()):
        took = await ping(admin, room, settle)
        n += 1
        if took is None:
            lost.append(label)
        else:
            times.append(took)
        if dead_loops(agora):
            return


async def main(rows: int, block: int, settle: float, n_lookups: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("nio.crypto.log").setLevel(logging.ERROR)  # the first ping's key sharing
    sampler = Sampler()
    lag = LoopLag()
    times: dict[str, list[float]] = {"idle": [], "cli": [], "bot": []}
    loads: dict[str, Load] = {}
    lost: list[str] = []  # pings without a reply, by condition
    deaths: list[tuple[str, str]] = []  # (condition, the bot's loops that died and why)
    waits = WriteWait()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        started = time.perf_counter()
        extraction = write_extraction(tmp, rows, n_lookups // 2)
        generated = time.perf_counter() - started
        hs = EmbeddedSynapse(tmp, "localhost", free_port(), extra=RELAXED_RATE_LIMITS)
        await hs.start()
        agora = admin = lag_task = None
        try:
            admin_id, admin_pw = await register(hs, "admin")
            bot_id, bot_pw = await register(hs, "agora")
            settings = bot_config(hs, bot_id[1:].split(":")[0], bot_pw, [admin_id])
            config_file = tmp / "agora.yaml"
            config_file.write_text(json.dumps(settings))  # JSON is YAML
            config = parse_config(settings, env={})
            data_dir = tmp / "agora"
            agora = Agora(config, data_dir)
            await agora.start()
            await agora.settled()
            admin = await Person.login(hs.url, admin_id, admin_pw, tmp / "admin")
            control = agora.control.room_id
            await admin.accept_invite(control)
            for _ in range(3):  # warm up: sessions shared, keys claimed
                await round_trip(admin, control)
            waits.install(agora)
            lag_task = asyncio.create_task(lag.run())

            def condition(name: str | None) -> None:
                lag.condition = waits.condition = sampler.phase = name

            async def survived(phase: str) -> Agora:
                """The bot, restarted on its data directory (as its supervisor would) if one
                of its loops died during ``phase``."""
                dead = dead_loops(agora)
                if not dead:
                    return agora
                why = {t.get_name(): repr(t.exception()) for t in agora.tasks.loops if t.done()}
                deaths.append((phase, ", ".join(f"{n}: {why.get(n)}" for n in dead)))
                await agora.stop()
                fresh = Agora(config, data_dir)
                await fresh.start()
                await fresh.settled()
                waits.install(fresh)
                for _ in range(3):  # the failed command answered on restart, then as before
                    await ping(admin, control, settle)
                return fresh

            # Quiet: each kind of load with nothing else asked of the bot.
            condition("cli quiet")
            loads["cli quiet"] = await asyncio.to_thread(
                cli_load, data_dir, config_file, extraction, sampler
            )
            agora = await survived("cli quiet")
            assert await count_people(agora) == extraction.people
            condition("bot quiet")
            loads["bot quiet"] = await bot_load(agora, extraction, waits)
            agora = await survived("bot quiet")
            assert loads["bot quiet"].failed or loads["bot quiet"].count == extraction.people
            # Beside the pings: idle, (a), idle, (b), idle.
            for kind in ("cli", "bot", None):
                condition("idle")
                await pings(admin, control, settle, agora, times["idle"], lost, "idle", block)
                agora = await survived("idle")
                if kind is None:
                    break
                condition(kind)
                if kind == "cli":
                    task = asyncio.ensure_future(
                        asyncio.to_thread(cli_load, data_dir, config_file, extraction, sampler)
                    )
                else:
                    task = asyncio.ensure_future(bot_load(agora, extraction, waits))
                await pings(admin, control, settle, agora, times[kind], lost, kind, beside=task)
                loads[kind] = await task
                agora = await survived(kind)
                assert loads[kind].failed or await count_people(agora) == extraction.people
            condition(None)
            found = await lookups(agora, extraction.sample)
        finally:
            sampler.stop()
            if lag_task:
                lag_task.cancel()
            if admin:
                await admin.close()
            if agora:
                await agora.stop()
            await hs.stop()

    def ms(v: float) -> str:
        return f"{v * 1000:7.1f} ms"

    def mb(kb: float) -> str:
        return f"{kb / 1024:6.1f} MB"

    print(
        f"directory: {extraction.lines:,} lines ({extraction.size / 1e6:.0f} MB; "
        f"{extraction.people:,} RPPS numbers, {extraction.two_places:,} at two places, "
        f"{extraction.adeli:,} ADELI lines), written in {generated:.1f} s; same Synapse, same run"
    )
    print(f"  the load's report: {loads['cli quiet'].report.splitlines()[0]}")
    print(f"  in the bot (b):    {loads['bot quiet'].report}")
    print("  load                  time    lines/s   CPU    peak RSS of the loading process")
    for name, load in loads.items():
        kind = "(a) agora-bot import-directory" if load.kind == "cli" else "(b) in the bot"
        extra = (
            f"child {mb(load.peak_kb)}"
            if load.kind == "cli"
            else f"bot {mb(load.peak_kb)} (before {mb(load.before_kb).strip()}, "
            f"+{mb(load.peak_kb - load.before_kb).strip()}; after {mb(load.after_kb).strip()})"
        )
        label = f"{name:9}"
        print(
            f"  {label} {load.seconds:6.1f} s  {extraction.lines / load.seconds:9,.0f}  "
            f"{load.cpu:5.1f} s  {extra}   {kind}{'  FAILED at the swap' if load.failed else ''}"
        )
    for phase in ("cli quiet", "cli"):
        own = sampler.own.get(phase, [0])
        print(
            f"  the bot's (this process's) RSS during {phase + ':':10} max {mb(max(own))}, "
            f"median {mb(statistics.median(own))}"
        )
    for name in ("bot quiet", "bot"):
        load = loads[name]
        assert load.probe is not None
        parse, write = load.probe.parse, load.probe.write
        print(
            f"  (b) {name + ':':10} {len(write)} chunks of {rpps_module.CHUNK:,}: parsing on the "
            f"event loop {sum(parse):5.1f} s (per chunk p50 {ms(percentile(parse, 0.5)).strip()}, "
            f"max {ms(max(parse)).strip()}); transactions (write lock held) {sum(write):5.1f} s "
            f"(p50 {ms(percentile(write, 0.5)).strip()}, max {ms(max(write)).strip()}); "
            f"the swap {ms(load.swap).strip()}"
        )
    print(
        f"  !ping in the encrypted control room, {settle * 1000:.0f} ms idle before each; idle "
        f"blocks of {block} before and after each load"
    )
    labels = {"idle": "idle", "cli": "during (a)", "bot": "during (b)"}
    for name, values in times.items():
        print(
            f"  {labels[name]:11} n {len(values):4}  p50 {ms(percentile(values, 0.5))}  "
            f"p95 {ms(percentile(values, 0.95))}  max {ms(max(values))}"
        )
    idle = times["idle"]
    for name in ("cli", "bot"):
        values = times[name]
        print(
            f"  {labels[name]} / idle: p50 {percentile(values, 0.5) / percentile(idle, 0.5):.2f}x"
            f"  p95 {percentile(values, 0.95) / percentile(idle, 0.95):.2f}x  max / idle p50 "
            f"{max(values) / percentile(idle, 0.5):.2f}x  max / idle max "
            f"{max(values) / max(idle):.2f}x  (target: none above 1.3x)"
        )
    for name in ("idle", "cli quiet", "cli", "bot quiet", "bot"):
        lags = lag.lags.get(name, [0.0])
        print(
            f"  event loop lag, {name + ':':10} p50 {ms(percentile(lags, 0.5))}  "
            f"p99 {ms(percentile(lags, 0.99))}  max {ms(max(lags))}"
        )
    for name in ("idle", "cli", "bot"):
        w = waits.waits.get(name, [0.0])
        print(
            f"  the bot's writes waited for the write lock, {name + ':':5} n {len(w):4}  "
            f"p50 {ms(percentile(w, 0.5))}  p95 {ms(percentile(w, 0.95))}  max {ms(max(w))}"
        )
    for condition_name, what, waited, name in waits.refused:
        print(
            f"  REFUSED: a write of the bot ({what}) during {condition_name}: {name} after "
            f"waiting {waited:.2f} s"
        )
    for name, load in loads.items():
        if load.failed:
            print(f"  FAILED: the load {name}: {load.failed} (the previous copy stayed)")
    for phase, dead in deaths:
        print(f"  DIED during {phase}: {dead} (the bot restarted on its data directory)")
    for label in dict.fromkeys(lost):
        print(
            f"  LOST: {lost.count(label)} ping(s) {labels[label]} without a reply in "
            f"{PING_TIMEOUT:.0f} s"
        )
    print(
        f"  lookup (entry + judge), {found['n']:,} numbers (half absent): mean "
        f"{found['mean'] * 1e6:.0f} µs (present {found['present'] * 1e6:.0f}, absent "
        f"{found['absent'] * 1e6:.0f}), p50 {found['p50'] * 1e6:.0f} µs, p99 "
        f"{found['p99'] * 1e6:.0f} µs; verdicts wrong: {found['wrong']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="lines of the extraction")
    parser.add_argument("--block", type=int, default=20, help="pings per idle block")
    parser.add_argument("--settle", type=float, default=0.1, help="idle seconds before each ping")
    parser.add_argument("--lookups", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.block, args.settle, args.lookups))
