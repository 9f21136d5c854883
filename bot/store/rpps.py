"""The national directory of health professionals, as last loaded (SQL only; reading the
extraction and judging a request are in ``bot.rpps``).

The directory is public data, a million lines rewritten whole at each load: it lives in a
file of its own beside the bot's database (``directory.db`` in the data directory), never
in it. A load builds a new file from nothing and puts it in place with one rename, so the
bot's database is never locked by a load, a failed load leaves the file in place as it was,
and a reader sees either the old copy or the new one, whole."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from bot.store import Store

CHUNK = 5_000  # lines staged at a time (four times as many written to the copy at a time)
PAUSE = 0.005  # seconds between two chunks written to the copy: others' writes go through
IN_BATCH = 500  # numbers looked up in one query (SQLite's limit on parameters is higher)
SCHEMA = """
CREATE TABLE people (
    rpps              TEXT PRIMARY KEY,
    last_name         TEXT NOT NULL,
    first_name        TEXT NOT NULL,
    profession        TEXT NOT NULL,
    profession_label  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE places (
    rpps        TEXT NOT NULL,
    department  TEXT NOT NULL,
    commune     TEXT NOT NULL,
    PRIMARY KEY (rpps, department, commune)
) WITHOUT ROWID;
CREATE TABLE loaded (date TEXT NOT NULL, at REAL NOT NULL, people INTEGER NOT NULL);
"""


class TooFew(ValueError):
    """A new copy with fewer people than asked: it does not replace the one in place."""


class PersonRow(Protocol):
    """A line of the extraction (``bot.rpps.extraction.Person``)."""

    @property
    def rpps(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def profession(self) -> str: ...
    @property
    def profession_label(self) -> str: ...
    @property
    def commune(self) -> str: ...
    @property
    def department(self) -> str: ...


@dataclass(frozen=True)
class Entry:
    rpps: str
    last_name: str
    first_name: str
    profession: str
    profession_label: str
    places: tuple[tuple[str, str], ...]  # (department, commune)


class RppsStore:
    """The directory of the data directory ``data_dir``."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "directory.db"

    # --- loading it -----------------------------------------------------------------------------

    async def load(
        self,
        people: Iterable[PersonRow],
        *,
        date: str,
        progress: Callable[[int], None] | None = None,
        at_least: int = 1,
    ) -> int:
        """The directory replaced by ``people``: a new file built beside the one in place
        (in a worker thread: the caller's loop goes on), then renamed over it. If anything
        fails on the way (a malformed file, a full disk, fewer than ``at_least`` people),
        the one in place stays as it was. How many people. One load at a time (the caller
        holds the data directory's lock)."""
        return await asyncio.to_thread(self._build, people, date, progress, at_least)

    def _build(
        self,
        people: Iterable[PersonRow],
        date: str,
        progress: Callable[[int], None] | None,
        at_least: int,
    ) -> int:
        building = self.path.parent / "directory.next.db"  # removed if the load fails
        building.unlink(missing_ok=True)
        try:
            db = sqlite3.connect(building, isolation_level=None)
            disk = os.open(building, os.O_RDONLY)
            try:
                count = self._fill(db, people, date, progress, at_least, lambda: os.fsync(disk))
            finally:
                db.close()
                os.close(disk)
            os.chmod(building, 0o600)
            with open(building, "rb+") as done:
                os.fsync(done.fileno())  # on disk before it takes the old one's place
            os.replace(building, self.path)
            with contextlib.suppress(OSError):  # the rename itself made durable
                fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            return count
        except BaseException:
            building.unlink(missing_ok=True)
            raise

    @staticmethod
    def _fill(
        db: sqlite3.Connection,
        people: Iterable[PersonRow],
        date: str,
        progress: Callable[[int], None] | None,
        at_least: int,
        flush: Callable[[], None],
    ) -> int:
        # A file nobody reads until it is whole and renamed: no journal, no syncs on the way
        # (a crash leaves a file that the next load removes). Sorting spills to temporary
        # files, so memory stays bounded whatever the size of the extraction.
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-16000")  # 16 MB
        db.execute("PRAGMA temp_store=FILE")
        db.executescript(SCHEMA)
        db.execute(
            "CREATE TEMP TABLE stage (rpps TEXT NOT NULL, last_name TEXT NOT NULL, "
            "first_name TEXT NOT NULL, profession TEXT NOT NULL, profession_label TEXT NOT NULL, "
            "department TEXT NOT NULL, commune TEXT NOT NULL)"
        )
        db.execute("BEGIN")
        staged = 0
        lines = iter(people)
        while chunk := list(itertools.islice(lines, CHUNK)):
            db.executemany(
                "INSERT INTO temp.stage VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (p.rpps, p.last_name, p.first_name, p.profession, p.profession_label,
                     p.department, p.commune)
                    for p in chunk
                ],
            )  # fmt: skip
            staged += len(chunk)
            if progress:
                progress(staged)
        db.execute("COMMIT")
        # Read back in RPPS order (a person's first line gives their names and profession), so
        # the new tables are written page after page; written a chunk at a time, each put on
        # disk before the next, with a pause: a burst of tens of megabytes to flush would
        # hold up the homeserver's and the bot's own writes on the same disk.
        count = 0
        ordered = db.execute(
            "SELECT rpps, last_name, first_name, profession, profession_label, department, "
            "commune FROM temp.stage ORDER BY rpps, rowid"
        )
        while rows := ordered.fetchmany(CHUNK * 4):
            db.execute("BEGIN")
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO people VALUES (?, ?, ?, ?, ?)", [r[:5] for r in rows]
            )
            count += db.total_changes - before
            db.executemany(
                "INSERT OR IGNORE INTO places VALUES (?, ?, ?)",
                [(r[0], r[5], r[6]) for r in rows if r[5] or r[6]],
            )
            db.execute("COMMIT")
            flush()
            time.sleep(PAUSE)
        if count < at_least:  # an empty or cut file: it replaces nothing
            raise TooFew(f"{count} people, at least {at_least} expected")
        db.execute("INSERT INTO loaded VALUES (?, ?, ?)", (date, time.time(), count))
        db.execute("DROP TABLE temp.stage")
        return count

    # --- reading it -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection | None]:
        """The copy in place, read only (None when none was ever loaded). A load renames a
        new file over it: this connection goes on reading the copy it opened."""
        try:
            db = await aiosqlite.connect(f"file:{self.path}?mode=ro", uri=True)
        except sqlite3.OperationalError:
            if self.path.exists():
                raise
            yield None
            return
        try:
            yield db
        finally:
            await db.close()

    async def loaded(self) -> dict[str, Any] | None:
        """The directory in place: its date, when it was loaded, how many people; None when
        none was ever loaded."""
        async with self._reading() as db:
            if db is None:
                return None
            async with db.execute("SELECT date, at, people FROM loaded") as cur:
                row = await cur.fetchone()
        return None if row is None else {"date": row[0], "at": row[1], "people": row[2]}

    async def entry(self, rpps: str) -> Entry | None:
        async with self._reading() as db:
            if db is None:
                return None
            async with db.execute(
                "SELECT rpps, last_name, first_name, profession, profession_label FROM people "
                "WHERE rpps = ?",
                (rpps,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            async with db.execute(
                "SELECT department, commune FROM places WHERE rpps = ? "
                "ORDER BY department, commune",
                (rpps,),
            ) as cur:
                places = tuple((r[0], r[1]) for r in await cur.fetchall())
        return Entry(row[0], row[1], row[2], row[3], row[4], places)

    async def professions(self, numbers: Iterable[str]) -> dict[str, tuple[str, str]]:
        """The directory's profession (code, label) of each of ``numbers`` it lists."""
        wanted = sorted(set(numbers))
        out: dict[str, tuple[str, str]] = {}
        async with self._reading() as db:
            if db is None:
                return out
            for start in range(0, len(wanted), IN_BATCH):
                batch = wanted[start : start + IN_BATCH]
                marks = ",".join("?" * len(batch))
                async with db.execute(
                    "SELECT rpps, profession, profession_label FROM people "
                    f"WHERE rpps IN ({marks})",
                    batch,
                ) as cur:
                    for row in await cur.fetchall():
                        out[row[0]] = (row[1], row[2])
        return out

    async def members_against(
        self, store: Store
    ) -> list[tuple[str, str, str, str, str | None, str]]:
        """Every active member of ``store`` with an RPPS number, beside what the directory in
        place says: (user id, name, profession, RPPS, the directory's profession code or
        None when the number is not there, its label)."""
        async with store.db.execute(
            "SELECT m.user_id, r.name, r.profession, r.rpps FROM members m "
            "JOIN requests r ON r.id = m.request_id "
            "WHERE m.status = 'active' AND r.rpps IS NOT NULL AND r.rpps != '' "
            "ORDER BY r.name, m.user_id"
        ) as cur:
            members = [(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]
        listed = await self.professions(m[3] for m in members)
        out: list[tuple[str, str, str, str, str | None, str]] = []
        for user, name, profession, rpps in members:
            code, label = listed.get(rpps, (None, ""))
            out.append((user, name, profession, rpps, code, label))
        return out
