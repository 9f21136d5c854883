"""Newcomers welcomed under a coordinator (SQL only; the rules are in ``bot.newcomers``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.store import Store

Jobs = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class WelcomeRow:
    user_id: str
    territory: str
    welcomed_by: str
    at: float
    prompt_event: str | None
    introduce: bool | None  # None: not answered yet
    town: str
    answered: float | None


_COLUMNS = "user_id, territory, welcomed_by, at, prompt_event, introduce, town, answered"


def _row(r: Any) -> WelcomeRow:
    return WelcomeRow(
        r[0], r[1], r[2], r[3], r[4], None if r[5] is None else bool(r[5]), r[6], r[7]
    )  # fmt: skip


class WelcomeStore:
    def __init__(self, store: Store):
        self.store = store

    async def add(self, user_id: str, territory: str, by: str, jobs: Jobs) -> bool:
        """A newcomer welcomed, with the jobs that do it, in one transaction. False (and
        nothing queued) when they were welcomed there already."""
        return await self.store.change_once(
            "INSERT OR IGNORE INTO welcomes (user_id, territory, welcomed_by, at) "
            "VALUES (?, ?, ?, ?)",
            (user_id, territory, by, time.time()),
            jobs,
        )

    async def get(self, user_id: str, territory: str) -> WelcomeRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM welcomes WHERE user_id = ? AND territory = ?",
            (user_id, territory),
        ) as cur:
            row = await cur.fetchone()
        return _row(row) if row else None

    async def set_prompt(self, user_id: str, territory: str, event_id: str) -> None:
        await self.store._write(
            "UPDATE welcomes SET prompt_event = ? WHERE user_id = ? AND territory = ?",
            (event_id, user_id, territory),
        )

    async def of_prompt(self, event_id: str) -> WelcomeRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM welcomes WHERE prompt_event = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return _row(row) if row else None

    async def welcomed(self, user_id: str) -> bool:
        async with self.store.db.execute(
            "SELECT 1 FROM welcomes WHERE user_id = ? LIMIT 1", (user_id,)
        ) as cur:
            return await cur.fetchone() is not None

    async def unanswered(self, user_id: str) -> list[WelcomeRow]:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM welcomes WHERE user_id = ? AND introduce IS NULL "
            "ORDER BY at DESC",
            (user_id,),
        ) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def answer(self, user_id: str, territory: str, yes: bool, town: str, jobs: Jobs) -> bool:
        """The newcomer's answer, once, with the jobs it calls for, in one transaction."""
        return await self.store.change_once(
            "UPDATE welcomes SET introduce = ?, town = ?, answered = ? "
            "WHERE user_id = ? AND territory = ? AND introduce IS NULL",
            (int(yes), town, time.time(), user_id, territory),
            jobs,
        )

    async def arrivals(self, territory: str, since: float, until: float) -> list[WelcomeRow]:
        """Those who agreed to be introduced there, between ``since`` and ``until``."""
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM welcomes WHERE territory = ? AND introduce = 1 "
            "AND answered >= ? AND answered < ? ORDER BY answered",
            (territory, since, until),
        ) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def forget(self, user_id: str) -> int:
        cur = await self.store._write("DELETE FROM welcomes WHERE user_id = ?", (user_id,))
        return cur.rowcount
