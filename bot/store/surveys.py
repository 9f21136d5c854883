"""Surveys, their deliveries and their responses (SQL only; the rules are in
``bot.surveys``). An anonymous survey's responses and answers are keyed by an opaque token,
never by a user id."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from bot.store import Store

Jobs = list[tuple[str, dict[str, Any], float | None]]  # kind, payload, not before


@dataclass(frozen=True)
class SurveyRow:
    id: int
    author: str
    title: str
    questions: tuple[dict[str, Any], ...]  # as bot.surveys.model.Question.as_json
    audience: dict[str, list[str]]
    anonymous: bool
    closes: float
    status: str
    secret: str | None
    origin: str | None  # a peer region's bot, for a survey it shared
    remote_id: int | None
    shared: bool
    # A peer's survey: the smallest group its region shows (results use the larger of it and
    # this region's own ``surveys.min_group``); None for this region's own surveys.
    min_group: int | None = None

    @property
    def open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class ResponseRow:
    token: str
    territory: str
    profession: str
    who: str | None
    position: int
    finished: bool


@dataclass(frozen=True)
class Turn:
    survey_id: int
    editing: int | None
    last_event: str | None


_COLUMNS = (
    "id, author, title, questions, audience, anonymous, closes, status, secret, origin, "
    "remote_id, shared, min_group"
)


def _survey(r: Any) -> SurveyRow:
    return SurveyRow(
        r[0], r[1], r[2], tuple(json.loads(r[3])),
        json.loads(r[4]), bool(r[5]), r[6], r[7], r[8], r[9], r[10], bool(r[11]), r[12],
    )  # fmt: skip


class SurveyStore:
    def __init__(self, store: Store):
        self.store = store

    # --- drafts ----------------------------------------------------------------------------------

    async def draft(self, user_id: str) -> tuple[str, str, dict[str, Any], str, str | None] | None:
        """(room, step, data, locale, the event that moved it last) of a survey being
        written."""
        async with self.store.db.execute(
            "SELECT room_id, step, data, locale, last_event FROM survey_drafts WHERE user_id = ?",
            (user_id,),
        ) as cur:
            row = await cur.fetchone()
        return (row[0], row[1], json.loads(row[2]), row[3], row[4]) if row else None

    async def save_draft(
        self,
        user_id: str,
        room_id: str,
        step: str,
        data: dict[str, Any],
        locale: str,
        last_event: str | None,
    ) -> None:
        await self.store._write(
            "INSERT INTO survey_drafts (user_id, room_id, step, data, locale, last_event, "
            "updated) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
            "room_id = excluded.room_id, step = excluded.step, data = excluded.data, "
            "locale = excluded.locale, last_event = excluded.last_event, "
            "updated = excluded.updated",
            (user_id, room_id, step, json.dumps(data), locale, last_event,
             time.time()),
        )  # fmt: skip

    async def drop_draft(self, user_id: str) -> bool:
        cur = await self.store._write("DELETE FROM survey_drafts WHERE user_id = ?", (user_id,))
        return cur.rowcount > 0

    # --- surveys ---------------------------------------------------------------------------------

    async def open_survey(
        self,
        author: str,
        data: dict[str, Any],
        secret: str,
        audience: list[str],
        jobs: Jobs,
        *,
        outcome: str | None,
        origin: tuple[str, int] | None = None,
    ) -> int | None:
        """The survey, its deliveries (one row per person of the audience) and its jobs, and
        the author's draft gone, in one transaction; its number. ``origin``: (peer bot, its
        number there) of a survey a peer shared (None if it was taken already)."""
        async with self.store.transaction() as db:
            cur = await db.execute(
                "INSERT INTO surveys (author, title, questions, audience, anonymous, closes, "
                "secret, created, origin, remote_id, min_group) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (origin, remote_id) DO NOTHING",
                (
                    author,
                    data["title"],
                    json.dumps(data["questions"]),
                    json.dumps(
                        {"territories": data["territories"], "professions": data["professions"]}
                    ),
                    int(bool(data["anonymous"])),
                    data["closes"],
                    secret,
                    time.time(),
                    *(origin or (None, None)),
                    data.get("min_group"),
                ),
            )
            if cur.rowcount != 1:
                return None
            survey_id = cur.lastrowid
            assert survey_id is not None
            await db.executemany(
                "INSERT INTO survey_deliveries (survey_id, user_id) VALUES (?, ?)",
                [(survey_id, user) for user in audience],
            )
            await db.execute("DELETE FROM survey_drafts WHERE user_id = ?", (author,))
            for kind, payload, at in jobs:
                await Store.add_job(db, kind, {**payload, "survey": survey_id}, at=at)
            if outcome is not None:  # what the answer that opened it said, for a re-run
                await Store.keep_outcome(
                    db, outcome, {"id": survey_id, "n": len(audience), "closes": data["closes"]}
                )
        return survey_id

    async def get(self, survey_id: int) -> SurveyRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM surveys WHERE id = ?", (survey_id,)
        ) as cur:
            row = await cur.fetchone()
        return _survey(row) if row else None

    async def close(self, survey_id: int, groups: dict[str, dict[str, str]]) -> bool:
        """Closed: the secret erased (no token can be computed again), the groups kept only
        as coarse as ``groups`` says (dimension → group → kept as), and nobody's turn left
        on it. False if it was closed already."""
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE surveys SET status = 'closed', secret = NULL WHERE id = ? "
                "AND status = 'open'",
                (survey_id,),
            )
            if cur.rowcount != 1:
                return False
            for dimension, kept in groups.items():
                assert dimension in ("territory", "profession")
                await db.executemany(
                    f"UPDATE survey_responses SET {dimension} = ? WHERE survey_id = ? "
                    f"AND {dimension} = ?",
                    [(new, survey_id, old) for old, new in kept.items() if new != old],
                )
            await db.execute("DELETE FROM survey_turns WHERE survey_id = ?", (survey_id,))
        return True

    async def mark_shared(self, survey_id: int) -> None:
        await self.store._write("UPDATE surveys SET shared = 1 WHERE id = ?", (survey_id,))

    async def from_peer(self, origin: str, remote_id: int) -> SurveyRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM surveys WHERE origin = ? AND remote_id = ?",
            (origin, remote_id),
        ) as cur:
            row = await cur.fetchone()
        return _survey(row) if row else None

    # --- deliveries ------------------------------------------------------------------------------

    async def pending_deliveries(self, survey_id: int, limit: int) -> list[str]:
        async with self.store.db.execute(
            "SELECT user_id FROM survey_deliveries WHERE survey_id = ? AND status = 'pending' "
            "ORDER BY user_id LIMIT ?",
            (survey_id, limit),
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def delivered(self, survey_id: int, user_id: str, *, turn: bool) -> None:
        """Sent; with ``turn``, their next plain message answers this survey."""
        async with self.store.transaction() as db:
            await db.execute(
                "UPDATE survey_deliveries SET status = 'sent' WHERE survey_id = ? AND user_id = ?",
                (survey_id, user_id),
            )
            if turn:
                await db.execute(
                    "INSERT INTO survey_turns (user_id, survey_id) VALUES (?, ?) "
                    "ON CONFLICT(user_id) DO NOTHING",
                    (user_id, survey_id),
                )

    async def recipients(self, survey_id: int) -> list[str]:
        async with self.store.db.execute(
            "SELECT user_id FROM survey_deliveries WHERE survey_id = ? AND status = 'sent' "
            "ORDER BY user_id",
            (survey_id,),
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def is_recipient(self, survey_id: int, user_id: str) -> bool:
        async with self.store.db.execute(
            "SELECT 1 FROM survey_deliveries WHERE survey_id = ? AND user_id = ? "
            "AND status = 'sent'",
            (survey_id, user_id),
        ) as cur:
            return await cur.fetchone() is not None

    async def open_for(self, user_id: str) -> list[SurveyRow]:
        """Open surveys delivered to ``user_id``, oldest first."""
        async with self.store.db.execute(
            f"SELECT {', '.join('s.' + c for c in _COLUMNS.split(', '))} FROM surveys s "
            "JOIN survey_deliveries d ON d.survey_id = s.id WHERE d.user_id = ? "
            "AND d.status = 'sent' AND s.status = 'open' ORDER BY s.id",
            (user_id,),
        ) as cur:
            return [_survey(r) for r in await cur.fetchall()]

    # --- turns: which survey a person's next plain message answers -------------------------------

    async def turn(self, user_id: str) -> Turn | None:
        async with self.store.db.execute(
            "SELECT survey_id, editing, last_event FROM survey_turns WHERE user_id = ?",
            (user_id,),
        ) as cur:
            row = await cur.fetchone()
        return Turn(row[0], row[1], row[2]) if row else None

    async def set_turn(
        self, user_id: str, survey_id: int, editing: int | None, last_event: str | None
    ) -> None:
        await self.store._write(
            "INSERT INTO survey_turns (user_id, survey_id, editing, last_event) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET survey_id = "
            "excluded.survey_id, editing = excluded.editing, last_event = excluded.last_event",
            (user_id, survey_id, editing, last_event),
        )

    async def end_turn(self, user_id: str) -> None:
        await self.store._write("DELETE FROM survey_turns WHERE user_id = ?", (user_id,))

    # --- responses, under a token -----------------------------------------------------------------

    async def response(self, survey_id: int, token: str) -> ResponseRow | None:
        async with self.store.db.execute(
            "SELECT token, territory, profession, who, position, finished "
            "FROM survey_responses WHERE survey_id = ? AND token = ?",
            (survey_id, token),
        ) as cur:
            row = await cur.fetchone()
        return ResponseRow(row[0], row[1], row[2], row[3], row[4], bool(row[5])) if row else None

    async def begin_response(
        self, survey_id: int, token: str, territory: str, profession: str, who: str | None
    ) -> None:
        await self.store._write(
            "INSERT INTO survey_responses (survey_id, token, territory, profession, who) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(survey_id, token) DO NOTHING",
            (survey_id, token, territory, profession, who),
        )

    async def answer(
        self,
        survey_id: int,
        token: str,
        question: int,
        value: str,
        *,
        position: int,
        finished: bool,
        user_id: str,
        editing: int | None,
        last_event: str | None,
    ) -> None:
        """One answer (new or changed), where the respondent is now, and their turn (the event
        that moved it, so that a re-run does not apply it twice), in one transaction; the turn
        ends when they finished (unless they are changing an answer)."""
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT INTO survey_answers (survey_id, token, question, value) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(survey_id, token, question) DO UPDATE SET "
                "value = excluded.value",
                (survey_id, token, question, value),
            )
            await db.execute(
                "UPDATE survey_responses SET position = ?, finished = ? WHERE survey_id = ? "
                "AND token = ?",
                (position, int(finished), survey_id, token),
            )
            await db.execute(
                "UPDATE survey_turns SET editing = ?, last_event = ? WHERE user_id = ?",
                (editing, last_event, user_id),
            )

    async def answers_of(self, survey_id: int, token: str) -> dict[int, str]:
        async with self.store.db.execute(
            "SELECT question, value FROM survey_answers WHERE survey_id = ? AND token = ?",
            (survey_id, token),
        ) as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}

    async def all_answers(self, survey_id: int) -> list[tuple[int, str, str, str, str | None]]:
        """(question, value, territory, profession, who) of every answer."""
        async with self.store.db.execute(
            "SELECT a.question, a.value, r.territory, r.profession, r.who FROM survey_answers a "
            "JOIN survey_responses r ON r.survey_id = a.survey_id AND r.token = a.token "
            "WHERE a.survey_id = ?",
            (survey_id,),
        ) as cur:
            return [(r[0], r[1], r[2], r[3], r[4]) for r in await cur.fetchall()]

    async def counts(self, survey_id: int) -> tuple[int, int, int]:
        """(people it was sent to, who began, who finished)."""
        async with self.store.db.execute(
            "SELECT (SELECT COUNT(*) FROM survey_deliveries WHERE survey_id = ? AND "
            "status = 'sent'), (SELECT COUNT(*) FROM survey_responses WHERE survey_id = ?), "
            "(SELECT COUNT(*) FROM survey_responses WHERE survey_id = ? AND finished = 1)",
            (survey_id, survey_id, survey_id),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return row[0], row[1], row[2]

    async def groups(self, survey_id: int) -> tuple[list[str], list[str]]:
        """The territory and the profession of each response."""
        async with self.store.db.execute(
            "SELECT territory, profession FROM survey_responses WHERE survey_id = ?", (survey_id,)
        ) as cur:
            rows = await cur.fetchall()
        return [r[0] for r in rows], [r[1] for r in rows]

    async def forget(self, user_id: str, *, erase: bool) -> None:
        """Someone no longer a member: nothing more sent to them, no draft or turn kept; with
        ``erase`` (forgotten), nothing kept of them at all: who a survey was sent to, and
        their name beside a named survey's answers (which stay, as anonymous ones)."""
        async with self.store.transaction() as db:
            await db.execute(
                "DELETE FROM survey_deliveries WHERE user_id = ? AND (status = 'pending' OR ?)",
                (user_id, int(erase)),
            )
            # A survey sent to them: no reminder more, and no answer taken from them now.
            await db.execute(
                "UPDATE survey_deliveries SET status = 'revoked' WHERE user_id = ? "
                "AND status = 'sent'",
                (user_id,),
            )
            await db.execute("DELETE FROM survey_turns WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM survey_drafts WHERE user_id = ?", (user_id,))
            if erase:
                await db.execute("UPDATE survey_responses SET who = NULL WHERE who = ?", (user_id,))
                # Their surveys stay, nobody's: no result is sent to them at the close.
                await db.execute("UPDATE surveys SET author = '' WHERE author = ?", (user_id,))
