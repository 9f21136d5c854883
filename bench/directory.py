"""The national directory of health professionals (issue 15): a million-line extraction loaded
while an admin asks `!ping` in the encrypted control room, on the same Synapse, in the same run;
the resident memory of the loading process and of the bot; what a request's lookup costs.

    python bench/directory.py [--rows 1000000] [--block 20] [--settle 0.1] [--lookups 10000]

- The file: a synthetic extraction in the published layout (`tests/rpps_files.py`: the agency's
  header, one line per professional and place, pipe-separated), never real people. With the
  default 1,000,000 lines: 900,000 distinct RPPS numbers (11 digits, `10…`, a valid Luhn check
  digit, in no particular order: an affine permutation), 80,000 of them at a second place (their
  two lines together), and 20,000 ADELI lines (identifier type 0), one in fifty. Names made of
  syllables, communes made up in 101 departments (Corsica and overseas included), professions
  médecin / infirmier / pharmacien / sage-femme / others.
- Where it goes (`bot.store.rpps`): a file of its own, `directory.db` in the bot's data
  directory, never the bot's database (`agora.db`, checked to hold no directory table). A load
  builds `directory.next.db` from nothing in a worker thread (no journal; the lines staged in a
  temporary table, then read back in RPPS order and written to the tables a chunk at a time,
  each chunk flushed to disk before the next) and renames it over `directory.db`; readers open
  the file read-only at each call.
- Loaded four times, each replacing the previous copy (as a monthly refresh does):
  (a) `agora-bot import-directory` as a child process (`python -m bot import-directory --config
  … --data-dir …`) against the running bot's data directory: what an operator runs, and what
  the bot's own download runs. The child's peak resident memory is its own (`VmHWM`), the bot's
  (this process's) resident memory, both sampled every 20 ms from a thread; the child's CPU time
  from wait4; the end of its staging is the time of its last `… N lines kept` line.
  (b) in the bot's process: `RppsStore(agora.data_dir).load(people(file, Tally()), date=…)`,
  the build in a worker thread of the bot's process (which iterates the lines, so the parsing is
  in that thread too) while the bot's event loop goes on. No path of the bot loads this way; it
  is measured as the alternative: this process's peak resident memory (`VmHWM`, reset just
  before through `/proc/self/clear_refs`) against what it was before, its CPU time, and what the
  worker thread (sharing the GIL) costs the loop and the pings. Synapse is a separate process:
  this process is the bot, plus the admin's matrix-nio client.
  Each (a), then (b), once with nothing else asked of the bot (*quiet*: the load's time), once
  beside the pings.
- The pings: the admin's `!ping` in the encrypted control room until its decrypted reply,
  `--settle` idle before each: a block of `--block` with nothing loaded (*idle*) before and after
  each load, and as many as each load lasts (*during*: a ping begun before its end counts), each
  also counted under the phase of the load it began in (*staging* the lines, or *sorting*:
  writing the tables in RPPS order, the sync and the rename).
- Diagnosis: the event loop's lag (a 10 ms timer's lateness) in each condition; how long the
  bot's own writes waited for the write lock (the store's lock, then SQLite's: no load takes
  either now, so what is left is the bot's own tasks); any write of the bot refused (`database
  is locked`, with the SQLite error and how long it had waited). A loop of the bot that dies
  (under `agora-bot run` the bot would exit) is reported and the bot restarted on its data
  directory, as its supervisor would; a ping without a reply in 10 s is counted lost; a load
  refused is reported (the previous copy stays). After each load, the people counted in
  `directory.db` (`RppsStore(data_dir).loaded()`) must be the file's.
- The lookups: `RppsStore(data_dir).entry(rpps)` + `judge(name, profession, entry)` for
  `--lookups` numbers, half in the directory, half not, in random order, on the idle bot.

About 3 minutes with the defaults on 2 cores (the file: 7–14 s to write, 133 MB).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_synapse, percentile, round_trip  # noqa: E402
from bot.app import Agora  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.rpps.extraction import Tally, people  # noqa: E402
from bot.rpps.matching import PROFESSION_CODES, judge  # noqa: E402
from bot.store.rpps import RppsStore, TooFew  # noqa: E402
from tests.conftest import bot_config, register  # noqa: E402
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
    outside a transaction, retried by the store while another process holds it). The
    directory's load takes neither (it writes a file of its own), so what is left is the bot's
    own contention. A write refused (`database is locked`) is kept with its SQLite error name
    and how long it had waited."""

    def __init__(self) -> None:
        self.condition: str | None = None
        self.waits: dict[str, list[float]] = {}
        self.refused: list[tuple[str | None, str, float, str]] = []

    def install(self, agora: Agora) -> None:
        store = agora.store
        transaction, write = store.transaction, store._write

        def note(started: float, what: str, exc: BaseException | None = None) -> None:
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
class Load:
    kind: str  # "cli" or "bot"
    started: float  # perf_counter at its start
    seconds: float
    count: int
    peak_kb: int  # the loading process's peak resident memory
    before_kb: int = 0  # in (b): this process before the load
    after_kb: int = 0
    cpu: float = 0.0
    staged: float = 0.0  # seconds from its start to the last line staged
    report: str = ""
    failed: str = ""  # the load's error, when it was refused (the old copy then stays)

    @property
    def staged_at(self) -> float:
        return self.started + self.staged


def cli_load(data_dir: Path, config: Path, extraction: Extraction, sampler: Sampler) -> Load:
    """`agora-bot import-directory` as a child process (in a thread of the bench: it reads the
    child's progress lines as they come). Its peak memory is its VmHWM as last sampled (at most
    20 ms before its end): not wait4's ru_maxrss, which counts the pages the child shared with
    this process between fork and exec."""
    errors = data_dir.parent / "import-directory.err"
    command = [sys.executable, "-m", "bot", "import-directory", "--config", str(config)]
    command += ["--data-dir", str(data_dir), str(extraction.path)]
    report: list[str] = []
    with open(errors, "w") as err:
        started = staged_at = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, cwd=ROOT, text=True)
        sampler.child, sampler.child_peak = child.pid, 0
        assert child.stdout is not None
        for row in child.stdout:
            if row.startswith("…"):
                staged_at = time.perf_counter()
            elif row.strip():
                report.append(row.strip())
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - started
        sampler.child = None
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"import-directory: {child.returncode}\n{errors.read_text()}")
    return Load(
        "cli",
        started,
        took,
        extraction.people,
        sampler.child_peak,
        cpu=usage.ru_utime + usage.ru_stime,
        staged=staged_at - started,
        report="\n".join(report),
    )


async def bot_load(agora: Agora, extraction: Extraction) -> Load:
    """The load in the bot's process (a worker thread of it); this process's peak from VmHWM."""
    import gc

    gc.collect()
    before = memory()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM back to the current VmRSS
    tally = Tally()
    cpu, started = time.process_time(), time.perf_counter()
    staged_at = started
    failed = ""

    def staged(_: int) -> None:  # called from the worker thread after each chunk
        nonlocal staged_at
        staged_at = time.perf_counter()

    with open(extraction.path, encoding="utf-8-sig", newline="") as lines:
        try:
            count = await RppsStore(agora.data_dir).load(
                people(lines, tally), date=DATE, progress=staged
            )
        except (sqlite3.Error, OSError, TooFew) as exc:
            count = 0
            failed = f"{exc!r}, {time.perf_counter() - started:.1f} s in"
    took = time.perf_counter() - started
    peak = memory()["VmHWM"]
    gc.collect()
    return Load(
        "bot",
        started,
        took,
        count,
        peak,
        before,
        memory()["VmRSS"],
        time.process_time() - cpu,
        staged_at - started,
        f"{tally.read} lines read, {tally.kept} kept ({count} people), {tally.skipped} not "
        f"RPPS, {tally.refused} refused",
        failed,
    )


async def count_people(data_dir: Path) -> int:
    """The people of the copy in place, as its load counted them."""
    loaded = await RppsStore(data_dir).loaded()
    assert loaded is not None, "no directory in place"
    return int(loaded["people"])


async def directory_tables_in_bot_db(agora: Agora) -> list[str]:
    """Tables of the bot's own database that belong to the directory (there should be none)."""
    async with agora.store.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rpps%'"
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def lookups(data_dir: Path, sample: list[tuple[str, str, str, bool]]) -> dict[str, Any]:
    """µs per `entry` + `judge`, present and absent numbers; and that each verdict is right."""
    store = RppsStore(data_dir)
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


async def ping(admin: Person, room: str, settle: float) -> tuple[float, float | None]:
    """When it was sent, and its round trip (None if no reply came within PING_TIMEOUT s)."""
    await asyncio.sleep(settle)
    started = time.perf_counter()
    event_id = await admin.say(room, "!ping")
    try:
        await admin.reply_to(event_id, timeout=PING_TIMEOUT)
    except AssertionError:
        return started, None
    return started, time.perf_counter() - started


async def pings(
    admin: Person, room: str, settle: float, agora: Agora, times: list[tuple[float, float]],
    lost: list[str], label: str, count: int | None = None, beside: asyncio.Future | None = None,
) -> None:  # fmt: skip
    """``count`` pings, or as many as ``beside`` lasts (a ping begun before its end counts as
    during it), each as (when sent, round trip); stopped when a loop of the bot died."""
    n = 0
    while (beside is None and n < (count or 0)) or (beside is not None and not beside.done()):
        sent, took = await ping(admin, room, settle)
        n += 1
        if took is None:
            lost.append(label)
        else:
            times.append((sent, took))
        if dead_loops(agora):
            return


async def main(rows: int, block: int, settle: float, n_lookups: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("nio.crypto.log").setLevel(logging.ERROR)  # the first ping's key sharing
    sampler = Sampler()
    lag = LoopLag()
    times: dict[str, list[tuple[float, float]]] = {"idle": [], "cli": [], "bot": []}
    loads: dict[str, Load] = {}
    lost: list[str] = []  # pings without a reply, by condition
    deaths: list[tuple[str, str]] = []  # (condition, the bot's loops that died and why)
    waits = WriteWait()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        started = time.perf_counter()
        extraction = write_extraction(tmp, rows, n_lookups // 2)
        generated = time.perf_counter() - started
        hs = bench_synapse(tmp)
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
            assert await count_people(data_dir) == extraction.people
            condition("bot quiet")
            loads["bot quiet"] = await bot_load(agora, extraction)
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
                    task = asyncio.ensure_future(bot_load(agora, extraction))
                await pings(admin, control, settle, agora, times[kind], lost, kind, beside=task)
                loads[kind] = await task
                agora = await survived(kind)
                assert loads[kind].failed or await count_people(data_dir) == extraction.people
            condition(None)
            in_bot_db = await directory_tables_in_bot_db(agora)
            directory = RppsStore(data_dir).path
            directory_size = directory.stat().st_size
            leftover = [p.name for p in data_dir.glob("directory*.db") if p != directory]
            found = await lookups(data_dir, extraction.sample)
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
    print(
        f"  {directory.name}: {directory_size / 1e6:.0f} MB; other copies left behind: "
        f"{leftover or 'none'}; directory tables in the bot's agora.db: {in_bot_db or 'none'}"
    )
    print(
        "  load          time    lines/s   CPU    staging + sorting      peak RSS of the "
        "loading process"
    )
    for name, load in loads.items():
        kind = "(a) agora-bot import-directory" if load.kind == "cli" else "(b) in the bot"
        extra = (
            f"child {mb(load.peak_kb)}"
            if load.kind == "cli"
            else f"bot {mb(load.peak_kb)} (before {mb(load.before_kb).strip()}, "
            f"+{mb(load.peak_kb - load.before_kb).strip()}; after {mb(load.after_kb).strip()})"
        )
        print(
            f"  {name:9} {load.seconds:6.1f} s  {extraction.lines / load.seconds:9,.0f}  "
            f"{load.cpu:5.1f} s  {load.staged:5.1f} s + {load.seconds - load.staged:5.1f} s  "
            f"{extra}   {kind}{'  FAILED' if load.failed else ''}"
        )
    for phase in ("idle", "cli quiet", "cli", "bot quiet", "bot"):
        own = sampler.own.get(phase, [0])
        print(
            f"  the bot's (this process's) RSS, {phase + ':':10} max {mb(max(own))}, "
            f"median {mb(statistics.median(own))}"
        )
    print(
        f"  !ping in the encrypted control room, {settle * 1000:.0f} ms idle before each; idle "
        f"blocks of {block} before and after each load"
    )
    labels = {"idle": "idle", "cli": "during (a)", "bot": "during (b)"}
    rounds = {name: [took for _, took in values] for name, values in times.items()}
    for name, values in rounds.items():
        print(
            f"  {labels[name]:11} n {len(values):4}  p50 {ms(percentile(values, 0.5))}  "
            f"p95 {ms(percentile(values, 0.95))}  max {ms(max(values))}"
        )
        if name in loads:
            staged_at = loads[name].staged_at
            for part, inside in (("staging", True), ("sorting", False)):
                these = [took for sent, took in times[name] if (sent < staged_at) == inside]
                if these:
                    print(
                        f"    {part:9} n {len(these):4}  p50 {ms(percentile(these, 0.5))}  "
                        f"p95 {ms(percentile(these, 0.95))}  max {ms(max(these))}"
                    )
    idle = rounds["idle"]
    for name in ("cli", "bot"):
        values = rounds[name]
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
