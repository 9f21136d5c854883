"""The national directory of health professionals, as last loaded (SQL only; reading the
extraction and judging a request are in ``bot.rpps``)."""

from __future__ import annotations

import asyncio
import json
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
        """The directory replaced by ``people``: written aside a few thousand rows at a time,
        then put in place of the old one in one transaction. If anything fails on the way
        (a malformed file, a full disk, fewer than ``at_least`` people), the old one stays as
        it was. How many people. One load at a time (the caller holds the data directory's
        lock)."""
        async with self.store.transaction() as tx:
            await self._drop_next(tx)
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
                    count += await self._write_next(rows)
                    rows = []
                    if progress:
                        progress(count)
                    await asyncio.sleep(0)  # the bot's other work goes on between chunks
            count += await self._write_next(rows)
            async with self.store.transaction() as tx:
                async with tx.execute("SELECT COUNT(*) FROM rpps_people_next") as cur:
                    counted = await cur.fetchone()
                people_count = counted[0] if counted else 0
                if people_count < at_least:  # an empty or cut file: it replaces nothing
                    raise TooFew(f"{people_count} people, at least {at_least} expected")
                await tx.execute("DROP TABLE rpps_people")
                await tx.execute("DROP TABLE rpps_places")
                await tx.execute("ALTER TABLE rpps_people_next RENAME TO rpps_people")
                await tx.execute("ALTER TABLE rpps_places_next RENAME TO rpps_places")
                loaded = {"date": date, "at": time.time(), "people": people_count}
                await tx.execute(Store._PUT, (LOADED_KEY, json.dumps(loaded)))
            return people_count
        except BaseException:
            async with self.store.transaction() as tx:
                await self._drop_next(tx)
            raise

    @staticmethod
    async def _drop_next(tx: Any) -> None:
        await tx.execute("DROP TABLE IF EXISTS rpps_people_next")
        await tx.execute("DROP TABLE IF EXISTS rpps_places_next")

    async def _write_next(self, rows: list[Any]) -> int:
        if not rows:
            return 0
        async with self.store.transaction() as tx:
            # A person has a line per place: the first line's names and profession are kept.
            await tx.executemany(
                "INSERT OR IGNORE INTO rpps_people_next (rpps, last_name, first_name, "
                "profession, profession_label) VALUES (?, ?, ?, ?, ?)",
                [
                    (p.rpps, p.last_name, p.first_name, p.profession, p.profession_label)
                    for p in rows
                ],
            )
            await tx.executemany(
                "INSERT OR IGNORE INTO rpps_places_next (rpps, department, commune) "
                "VALUES (?, ?, ?)",
                [(p.rpps, p.department, p.commune) for p in rows if p.commune or p.department],
            )
        return len(rows)

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
