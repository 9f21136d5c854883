"""On-call rosters: a department's year of slots imported inside the bot while a member asks
`!garde` in a direct chat with the bot, beside `!ping` in the same chat, on the same Synapse, in
the same run.

    python bench/rosters.py [--territories 12] [--members 5] [--commands 60] [--block 10]

- The department: 12 territories, each with an oncall room and three slots a day on every day
  (public holidays too): 00:00–08:00 regulation, 08:00–20:00 poste, 20:00–24:00 mobile. One CSV
  per territory (`debut;fin;role;membre`, Europe/Paris) for the 365 days from tomorrow:
  12 × 365 × 3 = 13,140 slots, each given to one of the territory's 5 vetted members in turn
  (a member is on one territory's roster only and a territory's slots never overlap, so no one
  is on two slots at once). The member who asks is one of them; the others exist in the store
  only, as an approved request leaves them.
- The import: `RosterBook.import_file` for the 12 files one after another (after
  `make_slots()`, as `agora-bot import-roster` does), by the bot's own book on the bot's event
  loop, the roster emptied before each import so that each is a fresh one. Timed once with
  nothing else asked of the bot (*quiet*), then at each round beside the commands.
- The commands: `!ping` and `!garde` alternating in the member's encrypted direct chat, each
  until its decrypted reply, `--settle` idle before each. Each round: a block of `--block` of
  each with the year on the roster and nothing imported (*idle*), then as many as the import
  lasts (*during the import*: a command begun before its end counts); rounds until
  `--commands` `!garde` were measured during imports.

Prints the import's time (per 1,000 slots, and the part spent in `RosterStore.fill`: one
transaction, the store's write lock held), p50 / p95 of each command in each condition, the
ratios (the headline: `!garde` during the import against `!ping` idle, target ≤ 1.3; also
against `!ping` during the same imports), the event loop's lag in each condition (a 10 ms
timer's lateness), and what `!garde` itself asks of the bot, timed alone. Before measuring, one
`!garde` and one `!garde moi` are checked: an encrypted answer naming the member's slots.
About 2½ minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_synapse, drained, percentile, round_trip  # noqa: E402
from bot.app import Agora  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.rosters.book import RosterBook  # noqa: E402
from tests.conftest import bot_config, register, vet  # noqa: E402
from tests.people import Person  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
DAYS = 365
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
# Three slots a day, end to end: (start, end, role).
SLOTS = (
    ("00:00", "08:00", "regulation"),
    ("08:00", "20:00", "poste"),
    ("20:00", "24:00", "mobile"),
)
COORDINATOR = "bench/rosters.py"


def department(territories: int) -> tuple[dict, dict]:
    """The network (one oncall room per territory) and the rosters' templates."""
    ids = [f"pdsa{n:02d}" for n in range(1, territories + 1)]
    network = {
        "territories": [
            {
                "id": tid,
                "name": f"PDSA secteur {n}",
                "rooms": [{"id": "garde", "name": f"Garde secteur {n}", "kind": "oncall"}],
            }
            for n, tid in enumerate(ids, 1)
        ]
    }
    templates = [
        {"territory": tid, "days": ALL_DAYS, "start": start, "end": end, "role": role}
        for tid in ids
        for start, end, role in SLOTS
    ]
    return network, {"templates": templates}


def roster_csv(members: list[str], first: dt.date) -> tuple[str, int]:
    """A territory's year from ``first``, its slots given to ``members`` in turn; and how many
    rows."""
    lines, n = ["debut;fin;role;membre"], 0
    for offset in range(DAYS):
        day = first + dt.timedelta(days=offset)
        for start, end, role in SLOTS:
            lines.append(
                f"{day:%Y-%m-%d} {start};{day:%Y-%m-%d} {end};{role};{members[n % len(members)]}"
            )
            n += 1
    return "\n".join(lines) + "\n", n


async def import_department(
    book: RosterBook, files: dict[str, str]
) -> tuple[float, dict[str, float]]:
    """Every territory's file imported as a coordinator's would be: seconds in all, and each."""
    began = time.perf_counter()
    await book.make_slots()
    took = {}
    for territory, text in files.items():
        started = time.perf_counter()
        report, assigned = await book.import_file(
            territory, text, name=f"{territory}.csv", by=COORDINATOR
        )
        took[territory] = time.perf_counter() - started
        if not report.applied or not report.ok:
            raise RuntimeError(f"{territory}: {book.report_text(report, assigned, 'en')[:2000]}")
    return time.perf_counter() - began, took


async def emptied(agora: Agora) -> None:
    """The roster as the bot left it at start: no slot, nothing said of any."""
    async with agora.store.transaction() as db:
        await db.execute("DELETE FROM roster_notices")
        await db.execute("DELETE FROM roster_slots")


async def assigned_slots(agora: Agora) -> int:
    async with agora.store.db.execute(
        "SELECT COUNT(*) FROM roster_slots WHERE member IS NOT NULL"
    ) as cur:
        return (await cur.fetchone())[0]


class FillProbe:
    """How long each `RosterStore.fill` takes (one transaction: the store's write lock, which
    every other write of the bot waits for, is held from its BEGIN to its COMMIT)."""

    def __init__(self, book: RosterBook):
        self.times: list[float] = []
        fill = book.slots.fill

        async def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return await fill(*args, **kwargs)
            finally:
                self.times.append(time.perf_counter() - started)

        book.slots.fill = timed  # type: ignore[method-assign]


async def own_work(book: RosterBook, user: str, room_id: str, calls: int = 50) -> dict:
    """Milliseconds per call of what `!garde` asks the book, alone: ``where`` (which rosters
    the member may read) and ``overview`` (now, tonight, next weekend)."""
    took = {"where": 0.0, "overview": 0.0}
    for _ in range(calls):
        started = time.perf_counter()
        rosters = await book.where(user, room_id)
        middle = time.perf_counter()
        await book.overview(rosters, "fr")
        took["where"] += middle - started
        took["overview"] += time.perf_counter() - middle
    return {k: v / calls * 1000 for k, v in took.items()}


class LoopLag:
    """How late a 10 ms timer fires on the event loop (which the bot shares with the member's
    client), recorded under the condition running at the time."""

    def __init__(self) -> None:
        self.condition: str | None = None
        self.lags: dict[str, list[float]] = {"idle": [], "import": []}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + 0.01
            await asyncio.sleep(0.01)
            if self.condition:
                self.lags[self.condition].append(loop.time() - planned)


async def main(territories: int, members: int, commands: int, block: int, settle: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    network, rosters = department(territories)
    lag = LoopLag()
    times: dict[str, list[float]] = {
        "ping idle": [],
        "garde idle": [],
        "ping import": [],
        "garde import": [],
    }
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        hs = bench_synapse(tmp)
        await hs.start()
        agora = doctor = lag_task = None
        try:
            admin_id, _ = await register(hs, "admin")
            doctor_id, doctor_pw = await register(hs, "dr")
            bot_id, bot_pw = await register(hs, "agora")
            settings = bot_config(
                hs, bot_id[1:].split(":")[0], bot_pw, [admin_id], network=network, rosters=rosters
            )
            config = parse_config(settings, env={})
            agora = Agora(config, tmp / "agora")
            await agora.start()
            await agora.settled()
            book = agora.rosters.book
            probe = FillProbe(book)

            # Each territory's vetted members (the doctor is the first of the first): ids the
            # store knows, as an approved request leaves them; only the doctor has a client.
            tids = book.territories()
            first = dt.datetime.now(PARIS).date() + dt.timedelta(days=1)
            files, slots = {}, 0
            for n, tid in enumerate(tids):
                people = [f"@dr-{tid}-{k}:{hs.server_name}" for k in range(members)]
                if n == 0:
                    people[0] = doctor_id
                for user_id in people:
                    await vet(agora, user_id, tid)
                files[tid], rows = roster_csv(people, first)
                slots += rows
            size = sum(len(text.encode()) for text in files.values())

            doctor = await Person.login(hs.url, doctor_id, doctor_pw, tmp / "dr")
            dm = await doctor.dm(agora.gateway.user_id)
            await drained(agora)  # the start's notices (slots to fill in the next 72 h) said
            for command in ("!ping", "!garde", "!ping", "!garde"):  # warm up
                await round_trip(doctor, dm, command=command)

            # The import alone, nothing else asked of the bot.
            await emptied(agora)
            quiet, quiet_each = await import_department(book, files)
            quiet_fills = probe.times[-len(files) :]  # the imports' (make_slots fills too)
            assert await assigned_slots(agora) == slots
            await drained(agora)
            # What is measured is a real answer: the member's roster, encrypted.
            answer, reaction = await doctor.command(dm, "!garde")
            assert reaction == "✅" and answer.encrypted and "•" in answer.body, answer.body
            mine, _ = await doctor.command(dm, "!garde moi")
            assert mine.body.count(doctor_id) == 10, mine.body  # the next ten of theirs
            # `!garde`'s own work in the bot, timed alone (no Matrix): the rosters the member
            # may read, then who is on duty now, tonight and next weekend.
            garde_work = await own_work(book, doctor_id, dm)

            lag_task = asyncio.create_task(lag.run())
            busy: list[float] = []  # each round's import, with the commands beside it
            while len(times["garde import"]) < commands:
                lag.condition = "idle"  # the year on the roster, nothing imported
                for _ in range(block):
                    times["ping idle"].append(await round_trip(doctor, dm, settle))
                    times["garde idle"].append(await round_trip(doctor, dm, settle, "!garde"))
                lag.condition = None
                await emptied(agora)
                lag.condition = "import"
                task = asyncio.create_task(import_department(book, files))
                while not task.done():  # a command begun during the import counts as during
                    times["ping import"].append(await round_trip(doctor, dm, settle))
                    if task.done():
                        break
                    times["garde import"].append(await round_trip(doctor, dm, settle, "!garde"))
                lag.condition = None
                busy.append((await task)[0])
                assert await assigned_slots(agora) == slots
                await drained(agora)
        finally:
            if lag_task:
                lag_task.cancel()
            if doctor:
                await doctor.close()
            if agora:
                await agora.stop()
            await hs.stop()

    def ms(v: float) -> str:
        return f"{v * 1000:7.1f} ms"

    def p(name: str, q: float) -> float:
        return percentile(times[name], q)

    print(
        f"rosters: {territories} territories × {DAYS} days × {len(SLOTS)} slots = {slots} slots "
        f"({members} members each, {size / 1000:.0f} KB of CSV), imported by the bot's "
        f"RosterBook on its event loop; same Synapse, same run"
    )
    print(
        f"  import, quiet:            {quiet:6.2f} s = {quiet / slots * 1000:.3f} s per 1,000 "
        f"slots (a territory: {min(quiet_each.values()):.2f}–{max(quiet_each.values()):.2f} s)"
    )
    print(
        f"    of which RosterStore.fill (write lock held): {sum(quiet_fills):.2f} s, "
        f"{ms(statistics.mean(quiet_fills)).strip()} per territory, longest "
        f"{ms(max(quiet_fills)).strip()}"
    )
    print(
        f"  import, beside commands:  median {statistics.median(busy):6.2f} s = "
        f"{statistics.median(busy) / slots * 1000:.3f} s per 1,000 slots "
        f"({len(busy)} rounds: {', '.join(f'{b:.2f}' for b in busy)} s)"
    )
    print(
        f"  !garde's own work in the bot, alone: where {garde_work['where']:.1f} ms + "
        f"overview {garde_work['overview']:.1f} ms"
    )
    print(
        f"  commands in the member's encrypted direct chat, {settle * 1000:.0f} ms idle before "
        f"each; idle blocks of {block} of each, alternating with the imports"
    )
    for name in times:
        values = times[name]
        print(
            f"  {name:13} n {len(values):4}  p50 {ms(p(name, 0.5))}  p95 {ms(p(name, 0.95))}  "
            f"mean {ms(statistics.mean(values))}  max {ms(max(values))}"
        )

    def ratio(a: str, b: str) -> str:
        return f"p50 {p(a, 0.5) / p(b, 0.5):.2f}x  p95 {p(a, 0.95) / p(b, 0.95):.2f}x"

    headline = ratio("garde import", "ping idle")
    print(f"  !garde during import / !ping idle:   {headline}  (target ≤ 1.3x)")
    print(f"  !garde during import / !ping during: {ratio('garde import', 'ping import')}")
    print(f"  !garde idle / !ping idle:            {ratio('garde idle', 'ping idle')}")
    print(f"  !ping during import / !ping idle:    {ratio('ping import', 'ping idle')}")
    for name, lags in lag.lags.items():
        print(
            f"  event loop lag, {name + ':':7} p50 {ms(percentile(lags, 0.5))}  "
            f"p99 {ms(percentile(lags, 0.99))}  max {ms(max(lags))}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--territories", type=int, default=12)
    parser.add_argument("--members", type=int, default=5, help="vetted members per territory")
    parser.add_argument(
        "--commands", type=int, default=60, help="each command during imports, at least"
    )
    parser.add_argument("--block", type=int, default=10, help="each command per idle block")
    parser.add_argument(
        "--settle", type=float, default=0.1, help="idle seconds before each command"
    )
    args = parser.parse_args()
    asyncio.run(main(args.territories, args.members, args.commands, args.block, args.settle))
