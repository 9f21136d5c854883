"""Polls, the rooms they are posted in and the responses they get (SQL only; the rules are in
``bot.polls``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from bot.store import Store

Jobs = list[tuple[str, dict[str, Any], float | None]]  # kind, payload, not before


@dataclass(frozen=True)
class PollRow:
    id: int
    author: str
    question: str
    answers: tuple[tuple[str, str], ...]  # (id, text)
    scope: str  # the territory, or "" for one room
    closes: float
    status: str  # open, closed, done
    closed_at: float | None


@dataclass(frozen=True)
class PollRoom:
    room_id: str
    start_event: str | None
    end_event: str | None
    result_event: str | None


@dataclass(frozen=True)
class ResponseRow:
    event_id: str
    room_id: str
    sender: str
    ts: int
    answers: tuple[str, ...] | None


_COLUMNS = "id, author, question, answers, scope, closes, status, closed_at"


def _poll(r: Any) -> PollRow:
    answers = tuple((str(i), str(text)) for i, text in json.loads(r[3]))
    return PollRow(r[0], r[1], r[2], answers, r[4], r[5], r[6], r[7])


class PollStore:
    def __init__(self, store: Store):
        self.store = store

    async def add(
        self,
        author: str,
        question: str,
        answers: list[tuple[str, str]],
        scope: str,
        closes: float,
        rooms: list[str],
        jobs: Jobs,
    ) -> PollRow:
        """A new poll, its rooms and the jobs that follow it (its posting, its close), in one
        transaction: ``jobs`` payloads get ``poll`` filled in. The command's outcome is kept
        with it: run again after a crash, the command finds this poll instead of making two."""
        now = time.time()
        async with self.store.transaction() as db:
            cur = await db.execute(
                "INSERT INTO polls (author, question, answers, scope, closes, status, created, "
                "updated) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
                (author, question, json.dumps(answers), scope, closes, now, now),
            )
            poll_id = cur.lastrowid
            assert poll_id is not None
            await db.executemany(
                "INSERT INTO poll_rooms (poll_id, room_id) VALUES (?, ?)",
                [(poll_id, room_id) for room_id in rooms],
            )
            for kind, payload, at in jobs:
                await Store.add_job(db, kind, {**payload, "poll": poll_id}, at=at)
            await Store.keep_outcome(db, "poll", poll_id)
        found = await self.get(poll_id)
        assert found is not None
        return found

    async def get(self, poll_id: int) -> PollRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM polls WHERE id = ?", (poll_id,)
        ) as cur:
            row = await cur.fetchone()
        return _poll(row) if row else None

    async def open_polls(self) -> list[PollRow]:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM polls WHERE status = 'open' ORDER BY closes"
        ) as cur:
            return [_poll(r) for r in await cur.fetchall()]

    async def rooms(self, poll_id: int) -> list[PollRoom]:
        async with self.store.db.execute(
            "SELECT room_id, start_event, end_event, result_event FROM poll_rooms "
            "WHERE poll_id = ? ORDER BY rowid",
            (poll_id,),
        ) as cur:
            return [PollRoom(*r) for r in await cur.fetchall()]

    async def sent(self, poll_id: int, room_id: str, what: str, event_id: str) -> None:
        """The bot's ``start``, ``end`` or ``result`` event in one of the poll's rooms."""
        assert what in ("start", "end", "result")
        await self.store._write(
            f"UPDATE poll_rooms SET {what}_event = ? WHERE poll_id = ? AND room_id = ?",
            (event_id, poll_id, room_id),
        )

    async def poll_of_start(self, start_event: str) -> int | None:
        async with self.store.db.execute(
            "SELECT poll_id FROM poll_rooms WHERE start_event = ?", (start_event,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def add_response(
        self,
        poll_id: int,
        event_id: str,
        room_id: str,
        sender: str,
        ts: int,
        answers: tuple[str, ...] | None,
    ) -> bool:
        """A response recorded once (its event id): False if it was before."""
        cur = await self.store._write(
            "INSERT INTO poll_responses (event_id, poll_id, room_id, sender, ts, answers) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
            (
                event_id,
                poll_id,
                room_id,
                sender,
                ts,
                None if answers is None else json.dumps(list(answers)),
            ),
        )
        return cur.rowcount == 1

    async def withdraw_response(self, room_id: str, event_id: str) -> bool:
        """A response redacted by its sender: as if never sent. Whether it was one."""
        cur = await self.store._write(
            "UPDATE poll_responses SET redacted = 1 WHERE event_id = ? AND room_id = ?",
            (event_id, room_id),
        )
        return cur.rowcount == 1

    async def forget(self, sender: str) -> int:
        """A forgotten person's responses erased (their vote with them); how many."""
        cur = await self.store._write("DELETE FROM poll_responses WHERE sender = ?", (sender,))
        return cur.rowcount

    async def responses(self, poll_id: int) -> list[ResponseRow]:
        """The poll's responses from all its rooms, those withdrawn left out."""
        async with self.store.db.execute(
            "SELECT event_id, room_id, sender, ts, answers FROM poll_responses "
            "WHERE poll_id = ? AND redacted = 0",
            (poll_id,),
        ) as cur:
            return [
                ResponseRow(
                    r[0], r[1], r[2], r[3], None if r[4] is None else tuple(json.loads(r[4]))
                )
                for r in await cur.fetchall()
            ]

    async def close(self, poll_id: int, at: float, jobs: Jobs) -> bool:
        """The poll closed at ``at`` (only an open one), with ``jobs`` queued, in one
        transaction. False when it was not open (closed before, by a run cut short, or by
        its author)."""
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE polls SET status = 'closed', closed_at = ?, updated = ? "
                "WHERE id = ? AND status = 'open'",
                (at, time.time(), poll_id),
            )
            if cur.rowcount != 1:
                return False
            for kind, payload, when in jobs:
                await Store.add_job(db, kind, {**payload, "poll": poll_id}, at=when)
        return True

    async def done(self, poll_id: int) -> None:
        """The result posted everywhere: its responses are no longer needed (who voted what
        is personal), only the poll and its events."""
        async with self.store.transaction() as db:
            await db.execute(
                "UPDATE polls SET status = 'done', updated = ? WHERE id = ? AND status = 'closed'",
                (time.time(), poll_id),
            )
            await db.execute("DELETE FROM poll_responses WHERE poll_id = ?", (poll_id,))
