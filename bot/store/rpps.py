"""The national directory of health professionals, as last loaded (SQL only; reading the
extraction and judging a request are in ``bot.rpps``)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.store import Store

LOADED_KEY = "directory:loaded"
CHUNK = 5_000  # rows a transaction: the write lock is never held long


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
    def __init__(self, store: Store):
        self.store = store

    async def load(
        self,
        people: Iterable[PersonRow],
        *,
        date: str,
        progress: Callable[[int], None] | None = None,
        at_least: int = 1,
    ) -> int:
        """The directory replaced by ``people``, in three steps that each hold the write lock
        only briefly: the lines appended as they come to a staging table (a few thousand a
        transaction), indexed, then copied in RPPS order into a new copy (so each
        transaction writes neighbouring pages, not pages all over the index), which takes
        the old one's place in one transaction. If anything fails on the way (a malformed
        file, a full disk, fewer than ``at_least`` people), the old one stays as it was. How
        many people. One load at a time (the caller holds the data directory's lock)."""
        async with self.store.transaction() as tx:
            await self._drop_next(tx)
            await tx.execute(
                "CREATE TABLE rpps_stage (rpps TEXT NOT NULL, last_name TEXT NOT NULL, "
                "first_name TEXT NOT NULL, profession TEXT NOT NULL, "
                "profession_label TEXT NOT NULL, department TEXT NOT NULL, "
                "commune TEXT NOT NULL)"
            )
            await tx.execute(
                "CREATE TABLE rpps_people_next (rpps TEXT PRIMARY KEY, last_name TEXT NOT NULL, "
                "first_name TEXT NOT NULL, profession TEXT NOT NULL, "
                "profession_label TEXT NOT NULL) WITHOUT ROWID"
            )
            await tx.execute(
                "CREATE TABLE rpps_places_next (rpps TEXT NOT NULL, department TEXT NOT NULL, "
                "commune TEXT NOT NULL, PRIMARY KEY (rpps, department, commune)) WITHOUT ROWID"
            )
        try:
            rows: list[Any] = []
            count = 0
            for person in people:
                rows.append(person)
                if len(rows) >= CHUNK:
                    count += await self._stage(rows)
                    rows = []
                    if progress:
                        progress(count)
                    await asyncio.sleep(0)  # the bot's other work goes on between chunks
            count += await self._stage(rows)
            async with self.store.transaction() as tx:
                await tx.execute("CREATE INDEX rpps_stage_rpps ON rpps_stage (rpps)")
            people_count = await self._copy_in_order()
            if people_count < at_least:  # an empty or cut file: it replaces nothing
                raise TooFew(f"{people_count} people, at least {at_least} expected")
            await self._swap(date, people_count)
            return people_count
        except BaseException:
            async with self.store.transaction() as tx:
                await self._drop_next(tx)
            raise
        finally:
            async with self.store.transaction() as tx:
                await tx.execute("DROP TABLE IF EXISTS rpps_stage")

    async def _stage(self, rows: list[Any]) -> int:
        if not rows:
            return 0
        async with self.store.transaction() as tx:
            await tx.executemany(
                "INSERT INTO rpps_stage VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (p.rpps, p.last_name, p.first_name, p.profession, p.profession_label,
                     p.department, p.commune)
                    for p in rows
                ],
            )  # fmt: skip
        return len(rows)

    async def _copy_in_order(self) -> int:
        """The staged lines copied into the new copy, CHUNK people at a time in RPPS order;
        a person's first line gives their names and profession. How many people."""
        after, people = "", 0
        while True:
            async with self.store.db.execute(
                "SELECT rpps FROM (SELECT DISTINCT rpps FROM rpps_stage WHERE rpps > ? "
                "ORDER BY rpps LIMIT ?) ORDER BY rpps DESC LIMIT 1",
                (after, CHUNK),
            ) as cur:
                found = await cur.fetchone()
            if found is None:
                return people
            upto = found[0]
            async with self.store.transaction() as tx:
                cur = await tx.execute(
                    "INSERT OR IGNORE INTO rpps_people_next SELECT rpps, last_name, first_name, "
                    "profession, profession_label FROM rpps_stage WHERE rpps > ? AND rpps <= ? "
                    "ORDER BY rpps, rowid",
                    (after, upto),
                )
                people += cur.rowcount
                await tx.execute(
                    "INSERT OR IGNORE INTO rpps_places_next SELECT rpps, department, commune "
                    "FROM rpps_stage WHERE rpps > ? AND rpps <= ? "
                    "AND (department != '' OR commune != '') ORDER BY rpps",
                    (after, upto),
                )
            after = upto
            await asyncio.sleep(0)

    async def _swap(self, date: str, people: int) -> None:
        """The new copy in place of the old, in one transaction; tried again while a read of
        the old one is under way (SQLite will not drop a table being read)."""
        for attempt in range(100):
            try:
                async with self.store.transaction() as tx:
                    await tx.execute("DROP TABLE rpps_people")
                    await tx.execute("DROP TABLE rpps_places")
                    await tx.execute("ALTER TABLE rpps_people_next RENAME TO rpps_people")
                    await tx.execute("ALTER TABLE rpps_places_next RENAME TO rpps_places")
                    loaded = {"date": date, "at": time.time(), "people": people}
                    await tx.execute(Store._PUT, (LOADED_KEY, json.dumps(loaded)))
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or attempt == 99:
                    raise
                await asyncio.sleep(0.1)

    @staticmethod
    async def _drop_next(tx: Any) -> None:
        await tx.execute("DROP TABLE IF EXISTS rpps_stage")
        await tx.execute("DROP TABLE IF EXISTS rpps_people_next")
        await tx.execute("DROP TABLE IF EXISTS rpps_places_next")

    async def loaded(self) -> dict[str, Any] | None:
        """The directory in place: its date, when it was loaded, how many people; None when
        none was ever loaded."""
        found: dict[str, Any] | None = await self.store.get(LOADED_KEY)
        return found

    async def entry(self, rpps: str) -> Entry | None:
        async with self.store.db.execute(
            "SELECT rpps, last_name, first_name, profession, profession_label FROM rpps_people "
            "WHERE rpps = ?",
            (rpps,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        async with self.store.db.execute(
            "SELECT department, commune FROM rpps_places WHERE rpps = ? ORDER BY department, "
            "commune",
            (rpps,),
        ) as cur:
            places = tuple((r[0], r[1]) for r in await cur.fetchall())
        return Entry(row[0], row[1], row[2], row[3], row[4], places)

    async def members_against(self) -> list[tuple[str, str, str, str, str | None, str]]:
        """Every active member with an RPPS number, beside what the directory in place says:
        (user id, name, profession, RPPS, the directory's profession code or None when the
        number is not there, its label)."""
        async with self.store.db.execute(
            "SELECT m.user_id, r.name, r.profession, r.rpps, p.profession, "
            "COALESCE(p.profession_label, '') FROM members m "
            "JOIN requests r ON r.id = m.request_id "
            "LEFT JOIN rpps_people p ON p.rpps = r.rpps "
            "WHERE m.status = 'active' AND r.rpps IS NOT NULL AND r.rpps != '' "
            "ORDER BY r.name, m.user_id"
        ) as cur:
            return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in await cur.fetchall()]
