"""The bot's own database (aiosqlite). SQL lives here, never in handlers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot import effects
from bot.store.migrations import MIGRATIONS

log = logging.getLogger(__name__)

# The outcome of a command its sender withdrew (redacted) before it ran.
REDACTED = "redacted"


def _outcome_key(name: str) -> str | None:
    event_id = effects.current_event()
    return f"{name}\x1f{event_id}" if event_id else None


class StoreTooNew(RuntimeError):
    """A database a newer agora-bot wrote: its schema is past this code's migrations (a
    downgrade, which is refused: the older code would misread it)."""

    def __init__(self, found: int, supported: int, path: str | Path | None = None):
        self.found, self.supported, self.path = found, supported, path
        super().__init__(found, supported, path)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        return (
            f"{where}the database is at schema version {self.found}, newer than this "
            f"agora-bot knows ({self.supported}): a downgrade is refused; run the newer "
            "agora-bot again, or restore a backup made before the upgrade"
        )


async def _aggregate(cur: aiosqlite.Cursor) -> aiosqlite.Row:
    """The row of an aggregate query without GROUP BY: SQL always gives exactly one."""
    row = await cur.fetchone()
    assert row is not None
    return row


@dataclass(frozen=True)
class InboxRow:
    event_id: str
    room_id: str
    sender: str
    body: str
    encrypted: bool
    origin_ts: int
    # The sending device as its Megolm session proves it (None: unencrypted or forwarded).
    device_curve: str | None = None
    device_ed: str | None = None
    megolm_session: str | None = None
    megolm_index: int | None = None
    attempts: int = 0  # runs cut short by the homeserver's absence
    reply_to: str | None = None  # the event a command answers (a file to import, say)
    thread: str | None = None  # the root of the thread it was typed in (answered there)
    # A file sent with the command as its caption: name, mimetype, size and its ``url`` or
    # encrypted ``file`` (with its key). Dropped once the command is handled.
    attachment: dict[str, Any] | None = None


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    status: str  # pending, failed (given up)
    attempts: int
    next_at: float
    error: str | None


@dataclass(frozen=True)
class ManagedRoom:
    key: str
    room_id: str
    kind: str
    territory: str
    is_space: bool
    archived: bool
    adopted: bool


@dataclass(frozen=True)
class DueJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    runs: int = 0  # a recurring job's completed runs

    @property
    def cause(self) -> str:
        """What its effects are named after: a retry of the same run meets the sends of the
        first try, a recurring job's next run sends anew."""
        return f"job:{self.id}" if not self.runs else f"job:{self.id}.{self.runs}"


BUSY_PATIENCE = 60.0  # seconds a write waits for another process's write lock


def _busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another writer, or a read of ours still under way."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    """One connection shared by the bot's tasks. A transaction holds ``_lock`` from BEGIN to
    COMMIT and every other write takes it too, so no task's statement ever lands inside (and
    is committed or rolled back with) another task's transaction."""

    # Seconds a handled command's text is kept (privacy.keep_command_text; 0: not at all).
    keep_command_text: float = 0.0

    def __init__(self, db: aiosqlite.Connection):
        self.db = db
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self._patiently("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self._patiently("COMMIT")

    async def _write(self, sql: str, params: tuple | list = ()) -> aiosqlite.Cursor:
        async with self._lock:
            return await self._patiently(sql, params)

    async def _patiently(self, sql: str, params: tuple | list = ()) -> aiosqlite.Cursor:
        """A statement that takes the write lock, tried again while another process holds it
        (``agora-bot import-directory``, a backup). SQLite's own wait (``busy_timeout``) is
        skipped when this connection has a read under way in another task, which answers
        "database is locked" at once: so the bot waits here instead of failing."""
        delay, waited = 0.01, 0.0
        while True:
            try:
                return await self.db.execute(sql, params)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or waited >= BUSY_PATIENCE:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.5)

    @classmethod
    async def open(cls, path: str | Path, *, up_to: int | None = None) -> Store:
        """The store at ``path``, migrated to this code's schema (``up_to``: to that version
        only, for the tool that makes an older release's store for the upgrade test).
        ``StoreTooNew`` if a newer agora-bot wrote it."""
        db = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            if str(path) != ":memory:":
                os.chmod(path, 0o600)  # personal data: the owner only (WAL files inherit it)
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=5000")
            await db.execute("PRAGMA synchronous=NORMAL")
            store = cls(db)
            await store.migrate(up_to)
        except StoreTooNew as exc:
            await db.close()
            raise StoreTooNew(exc.found, exc.supported, path) from None
        except BaseException:
            await db.close()  # its thread would keep the process alive
            raise
        return store

    async def close(self) -> None:
        await self.db.close()

    async def instance(self) -> str:
        """A random id this store keeps for its life (see ``bot.effects.txn_id``)."""
        value = await self.get("instance")
        if value is None:
            value = secrets.token_hex(8)
            await self.put("instance", value)
        return value

    # --- schema -----------------------------------------------------------------------------

    async def version(self) -> int:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied REAL)"
        )
        async with self.db.execute("SELECT MAX(version) FROM schema_version") as cur:
            row = await _aggregate(cur)
        return row[0] or 0

    async def migrate(self, up_to: int | None = None) -> None:
        current = await self.version()
        if current > len(MIGRATIONS):
            raise StoreTooNew(current, len(MIGRATIONS))
        target = len(MIGRATIONS) if up_to is None else up_to
        for number, migration in enumerate(MIGRATIONS[current:target], start=current + 1):
            rebuilds = getattr(migration, "rebuilds_tables", False)
            if rebuilds:
                await self.db.execute("PRAGMA foreign_keys=OFF")
            try:
                async with self.transaction() as db:
                    await migration(db)
                    if rebuilds:
                        async with db.execute("PRAGMA foreign_key_check") as cur:
                            broken = await cur.fetchall()
                        if broken:
                            raise RuntimeError(f"migration {number} broke foreign keys: {broken}")
                    await db.execute(
                        "INSERT INTO schema_version VALUES (?, ?)", (number, time.time())
                    )
            finally:
                if rebuilds:
                    await self.db.execute("PRAGMA foreign_keys=ON")
        if current and target > current:  # an upgrade (a new store says nothing)
            log.info("store migrated from schema version %d to %d", current, target)

    # --- each person's language ----------------------------------------------------------------

    async def language_of(self, user_id: str) -> str | None:
        """The language ``user_id`` chose (``!langue``), else the one of their latest join
        request (the conversation's or the web form's); None when neither says."""
        async with self.db.execute(
            "SELECT locale FROM languages WHERE user_id = ? UNION ALL "
            "SELECT * FROM (SELECT locale FROM requests WHERE user_id = ? AND locale IS NOT NULL "
            "ORDER BY id DESC LIMIT 1)",
            (user_id, user_id),
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set_language(self, user_id: str, locale: str) -> None:
        await self._write(
            "INSERT INTO languages (user_id, locale, chosen) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale, chosen = excluded.chosen",
            (user_id, locale, time.time()),
        )

    # --- key/value ---------------------------------------------------------------------------

    async def get(self, key: str, default: Any = None) -> Any:
        async with self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return json.loads(row[0]) if row else default

    _PUT = (
        "INSERT INTO kv (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
    )

    async def put(self, key: str, value: Any) -> None:
        await self._write(self._PUT, (key, json.dumps(value)))

    async def first_sight(self, curve: str, session: str, index: int, event_id: str) -> bool:
        """False when this Megolm position was seen before under another event id (the same
        ciphertext posted again: a replay)."""
        await self._write(
            "INSERT INTO megolm_seen (device_curve, session, idx, event_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (curve, session, index, event_id),
        )
        async with self.db.execute(
            "SELECT event_id FROM megolm_seen WHERE device_curve = ? AND session = ? AND idx = ?",
            (curve, session, index),
        ) as cur:
            row = await cur.fetchone()
        return row is not None and row[0] == event_id

    # --- what a command's first run decided ---------------------------------------------------

    async def earlier_outcome(self, name: str) -> tuple[bool, Any]:
        """(True, value) when the command being handled (``effects.current_event``) already
        recorded ``name`` in a run cut short; (False, None) otherwise, and without a cause."""
        key = _outcome_key(name)
        if key is None:
            return False, None
        async with self.db.execute("SELECT value FROM outcomes WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return (True, json.loads(row[0])) if row else (False, None)

    @staticmethod
    async def keep_outcome(db: aiosqlite.Connection, name: str, value: Any) -> None:
        """Inside the transaction that makes the change: what it decided, for a re-run."""
        key = _outcome_key(name)
        if key is not None:
            await db.execute(
                "INSERT OR REPLACE INTO outcomes (key, value, at) VALUES (?, ?, ?)",
                (key, json.dumps(value), time.time()),
            )

    async def keep_outcome_now(self, name: str, value: Any) -> None:
        """``keep_outcome`` on its own, for an outcome known only after effects that cannot
        share a transaction (a sweep's count): a crash before it makes the re-run redo them,
        which must be safe."""
        async with self.transaction() as db:
            await self.keep_outcome(db, name, value)

    async def once(self, key: str) -> bool:
        """True the first time ``key`` is asked about, False ever after (things reported once)."""
        cur = await self._write(
            "INSERT INTO noted (key, at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
            (key, time.time()),
        )
        return cur.rowcount == 1

    # --- inbox ------------------------------------------------------------------------------

    async def record_events(
        self,
        rows: list[InboxRow],
        sync_token: str | None,
        *,
        events: Sequence[tuple[str, str, str | None, dict[str, Any]]] = (),
    ) -> int:
        """Write command events, the other events the bot acts on (``events``: kind, room,
        event id, fields) and the new sync token in one transaction: a crash either keeps all
        or none, so an event is never lost and never recorded twice."""
        now = time.time()
        async with self.transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO events (kind, room_id, event_id, payload, created) "
                "VALUES (?, ?, ?, ?, ?)",
                [(kind, room, eid, json.dumps(fields), now) for kind, room, eid, fields in events],
            )
            before = db.total_changes
            await db.executemany(
                # OR IGNORE: an event seen before, or a ciphertext seen before under another
                # event id (a replay: the unique index on its Megolm position refuses it).
                "INSERT OR IGNORE INTO inbox (event_id, room_id, sender, body, encrypted, "
                "origin_ts, received_at, device_curve, device_ed, megolm_session, "
                "megolm_index, reply_to, attachment, thread) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?)",
                [
                    (
                        r.event_id,
                        r.room_id,
                        r.sender,
                        r.body,
                        int(r.encrypted),
                        r.origin_ts,
                        now,
                        r.device_curve,
                        r.device_ed,
                        r.megolm_session,
                        r.megolm_index,
                        r.reply_to,
                        json.dumps(r.attachment) if r.attachment is not None else None,
                        r.thread,
                    )
                    for r in rows
                ],
            )
            added = db.total_changes - before
            # A command withdrawn (redacted) before it was run is not run.
            await db.executemany(
                "UPDATE inbox SET status = 'done', outcome = ?, done_at = ?, body = '', "
                "attachment = NULL WHERE event_id = ? AND room_id = ? AND status = 'pending' AND attempts = 0",
                [
                    (REDACTED, now, fields["redacts"], room)
                    for kind, room, _, fields in events
                    if kind == "redaction"
                ],
            )
            if sync_token is not None:  # None: a command read later (its key came late)
                await db.execute(self._PUT, ("sync_token", json.dumps(sync_token)))
        return added

    async def pending_events(self, limit: int = 100) -> list[InboxRow]:
        async with self.db.execute(
            "SELECT event_id, room_id, sender, body, encrypted, origin_ts, device_curve, "
            "device_ed, megolm_session, megolm_index, attempts, reply_to, attachment, thread "
            "FROM inbox WHERE status = 'pending' AND next_at <= ? "
            "ORDER BY origin_ts, received_at LIMIT ?",
            (time.time(), limit),
        ) as cur:
            rows = await cur.fetchall()
        return [
            InboxRow(
                r[0],
                r[1],
                r[2],
                r[3],
                bool(r[4]),
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                reply_to=r[11],
                attachment=json.loads(r[12]) if r[12] else None,
                thread=r[13],
            )
            for r in rows
        ]

    async def retry_command(self, event_id: str, delay: float) -> None:
        """A command cut short by the homeserver's absence: run again after ``delay``."""
        await self._write(
            "UPDATE inbox SET attempts = attempts + 1, next_at = ? WHERE event_id = ?",
            (time.time() + delay, event_id),
        )

    async def next_command_at(self) -> float | None:
        async with self.db.execute(
            "SELECT MIN(next_at) FROM inbox WHERE status = 'pending'"
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def finish_event(
        self, event_id: str, outcome: str, *, keep_text: bool = True, react: str | None = None
    ) -> None:
        """A command handled: its id and outcome stay (a replay is recognised), its text goes
        now, or after ``keep_command_text`` seconds when an operator keeps it for a while;
        ``keep_text=False``: now whatever the setting (a plain message in a conversation: an
        answer to a survey is never kept beside its sender). ``react``: the reaction it is
        owed (✅, ❌), recorded in the same write, until ``reacted``."""
        body = "body" if keep_text and self.keep_command_text > 0 else "''"
        await self._write(
            f"UPDATE inbox SET status = 'done', outcome = ?, done_at = ?, body = {body}, "
            "attachment = NULL, reaction = ? WHERE event_id = ?",
            (outcome, time.time(), react, event_id),
        )

    async def owed_reactions(self) -> list[tuple[str, str, str]]:
        """The reactions handled commands are still owed, oldest first: (room, event, key)."""
        async with self.db.execute(
            "SELECT room_id, event_id, reaction FROM inbox WHERE reaction IS NOT NULL "
            "ORDER BY done_at"
        ) as cur:
            return [(r[0], r[1], r[2]) for r in await cur.fetchall()]

    async def reacted(self, event_ids: list[str]) -> None:
        """Those commands' reactions sent (or given up)."""
        async with self.transaction() as db:
            await db.executemany(
                "UPDATE inbox SET reaction = NULL WHERE event_id = ?", [(e,) for e in event_ids]
            )

    async def command_outcome(self, event_id: str) -> str | None:
        async with self.db.execute(
            "SELECT outcome FROM inbox WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def pending_event_rows(self, limit: int = 200) -> list[tuple[int, str, dict, int]]:
        """Events other than commands still to handle, due now, in the order they came:
        (seq, kind, fields, attempts)."""
        async with self.db.execute(
            "SELECT seq, kind, payload, attempts FROM events WHERE status = 'pending' "
            "AND next_at <= ? ORDER BY seq LIMIT ?",
            (time.time(), limit),
        ) as cur:
            return [(r[0], r[1], json.loads(r[2]), r[3]) for r in await cur.fetchall()]

    async def wake_unreadable(self) -> None:
        """Room keys came: the events kept unreadable are tried again at once."""
        await self._write(
            "UPDATE events SET next_at = 0 WHERE kind = 'unreadable' AND status = 'pending'"
        )

    async def finish_event_rows(self, seqs: list[int]) -> None:
        now = time.time()
        async with self.transaction() as db:
            await db.executemany(
                "UPDATE events SET status = 'done', done_at = ?, payload = '{}' WHERE seq = ?",
                [(now, seq) for seq in seqs],
            )

    async def retry_event_rows(
        self,
        seqs: list[int],
        error: str,
        delay: float,
        give_up: bool,
        *,
        report: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Try the rows again after ``delay``, or give them up; ``report``: the job that says
        so, written in the same transaction (a crash cannot lose it)."""
        async with self.transaction() as db:
            await db.executemany(
                "UPDATE events SET attempts = attempts + 1, error = ?, next_at = ?, status = ? "
                "WHERE seq = ?",
                [(error, time.time() + delay, "failed" if give_up else "pending", s) for s in seqs],
            )
            if report is not None:
                await self.add_job(db, *report)

    # --- audit ------------------------------------------------------------------------------

    async def audit(
        self,
        actor: str,
        action: str,
        outcome: str,
        *,
        room_id: str | None = None,
        event_id: str | None = None,
        detail: str = "",
    ) -> None:
        await self._write(
            "INSERT INTO audit (at, actor, room_id, event_id, action, detail, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time.time(), actor, room_id, event_id, action, detail, outcome),
        )

    @staticmethod
    async def audit_in(
        db: aiosqlite.Connection, actor: str, action: str, outcome: str, *, detail: str = ""
    ) -> None:
        """An audit row written inside the caller's transaction, with the change it records."""
        await db.execute(
            "INSERT INTO audit (at, actor, action, detail, outcome) VALUES (?, ?, ?, ?, ?)",
            (time.time(), actor, action, detail, outcome),
        )

    async def audit_entries(self, limit: int = 50) -> list[dict[str, Any]]:
        async with self.db.execute(
            "SELECT at, actor, room_id, event_id, action, detail, outcome FROM audit "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ) as cur:
            return [dict(r) for r in await cur.fetchall()]

    # --- rooms ------------------------------------------------------------------------------

    async def add_room(self, room_id: str, kind: str, peer: str | None = None) -> None:
        await self._write(
            # Not OR IGNORE: that would also swallow a kind the schema refuses.
            "INSERT INTO rooms (room_id, kind, peer, created) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(room_id) DO NOTHING",
            (room_id, kind, peer, time.time()),
        )

    async def room_kind(self, room_id: str) -> str | None:
        """control, dm, managed (a live managed room or space), archived, or None."""
        async with self.db.execute("SELECT kind FROM rooms WHERE room_id = ?", (room_id,)) as cur:
            row = await cur.fetchone()
        if row:
            return row[0]
        async with self.db.execute(
            "SELECT archived FROM managed_rooms WHERE room_id = ?", (room_id,)
        ) as cur:
            row = await cur.fetchone()
        if row:
            return "archived" if row[0] else "managed"
        return None

    async def dm_rooms(self) -> frozenset[str]:
        async with self.db.execute("SELECT room_id FROM rooms WHERE kind = 'dm'") as cur:
            return frozenset(r[0] for r in await cur.fetchall())

    async def room_peer(self, room_id: str) -> str | None:
        async with self.db.execute("SELECT peer FROM rooms WHERE room_id = ?", (room_id,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def rooms_of_kind(self, kind: str) -> list[str]:
        async with self.db.execute(
            "SELECT room_id FROM rooms WHERE kind = ? ORDER BY created", (kind,)
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def remove_room(self, room_id: str) -> None:
        await self._write("DELETE FROM rooms WHERE room_id = ?", (room_id,))

    # --- managed rooms (territories) ----------------------------------------------------------

    async def managed_rooms(self, *, include_archived: bool = True) -> list[ManagedRoom]:
        sql = "SELECT key, room_id, kind, territory, is_space, archived, adopted FROM managed_rooms"
        if not include_archived:
            sql += " WHERE archived = 0"
        async with self.db.execute(sql + " ORDER BY key") as cur:
            return [
                ManagedRoom(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), bool(r[6]))
                for r in await cur.fetchall()
            ]

    async def map_room(
        self,
        key: str,
        room_id: str,
        kind: str,
        territory: str,
        is_space: bool,
        *,
        adopted: bool = False,
    ) -> None:
        await self._write(
            "INSERT INTO managed_rooms (key, room_id, kind, territory, is_space, adopted, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET room_id = "
            "excluded.room_id, kind = excluded.kind, territory = excluded.territory, "
            "is_space = excluded.is_space, archived = 0, updated = excluded.updated",
            (key, room_id, kind, territory, int(is_space), int(adopted), time.time()),
        )

    async def set_archived(self, key: str) -> None:
        await self._write(
            "UPDATE managed_rooms SET archived = 1, updated = ? WHERE key = ?", (time.time(), key)
        )

    async def managed_room_id(self, key: str) -> str | None:
        async with self.db.execute(
            "SELECT room_id FROM managed_rooms WHERE key = ? AND archived = 0", (key,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def managed_key(self, room_id: str) -> str | None:
        async with self.db.execute(
            "SELECT key FROM managed_rooms WHERE room_id = ? AND archived = 0", (room_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def start_run(self, source: str, actions: list[dict[str, Any]]) -> int:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO apply_runs (started, source, planned) VALUES (?, ?, ?)",
                (time.time(), source, len(actions)),
            )
            run_id = cur.lastrowid or 0
            await db.executemany(
                "INSERT INTO apply_actions (run_id, seq, key, op, body) VALUES (?, ?, ?, ?, ?)",
                [(run_id, i, a["key"], a["op"], json.dumps(a)) for i, a in enumerate(actions)],
            )
        return run_id

    async def finish_action(self, run_id: int, seq: int, error: str | None = None) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE apply_actions SET status = ?, done_at = ?, error = ? "
                "WHERE run_id = ? AND seq = ?",
                ("failed" if error else "done", time.time(), error, run_id, seq),
            )
            if not error:
                await db.execute("UPDATE apply_runs SET done = done + 1 WHERE id = ?", (run_id,))

    async def finish_run(self, run_id: int, outcome: str) -> None:
        await self._write(
            "UPDATE apply_runs SET finished = ?, outcome = ? WHERE id = ?",
            (time.time(), outcome, run_id),
        )

    async def interrupted_runs(self) -> list[dict[str, Any]]:
        async with self.db.execute(
            "SELECT id, source, planned, done FROM apply_runs WHERE finished IS NULL ORDER BY id"
        ) as cur:
            return [dict(r) for r in await cur.fetchall()]

    # --- durable jobs -------------------------------------------------------------------------

    async def change_once(
        self, sql: str, params: tuple[Any, ...], jobs: Iterable[tuple[str, dict[str, Any]]]
    ) -> bool:
        """One row changed by ``sql`` and, only then, the jobs it calls for, in one
        transaction; False (nothing queued) when no row was changed (done already)."""
        async with self.transaction() as db:
            cur = await db.execute(sql, params)
            if cur.rowcount != 1:
                return False
            for kind, payload in jobs:
                await Store.add_job(db, kind, payload)
        return True

    @staticmethod
    async def add_job(
        db: aiosqlite.Connection, kind: str, payload: dict[str, Any], *, at: float | None = None
    ) -> None:
        """Called inside a transaction, beside the change that calls for the job; ``at``: not
        before that time (a reminder)."""
        now = time.time()
        await db.execute(
            "INSERT INTO jobs (kind, payload, next_at, created) VALUES (?, ?, ?, ?)",
            (kind, json.dumps(payload), at if at is not None else now, now),
        )

    async def due_jobs(self, limit: int = 50, now: float | None = None) -> list[DueJob]:
        async with self.db.execute(
            "SELECT id, kind, payload, attempts, runs FROM jobs WHERE status = 'pending' AND "
            "next_at <= ? ORDER BY id LIMIT ?",
            (time.time() if now is None else now, limit),
        ) as cur:
            return [DueJob(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in await cur.fetchall()]

    async def finish_job(self, job_id: int) -> None:
        # Only a pending job: one an admin cancelled while it ran stays cancelled.
        await self._write(
            "UPDATE jobs SET status = 'done', done_at = ? WHERE id = ? AND status = 'pending'",
            (time.time(), job_id),
        )

    async def again_at(self, job_id: int, at: float) -> None:
        """A recurring job done for now: the same row runs again at ``at`` (a crash before
        this runs it again now, and never makes two of it)."""
        await self._write(
            "UPDATE jobs SET attempts = 0, error = NULL, next_at = ?, runs = runs + 1 "
            "WHERE id = ? AND status = 'pending'",
            (at, job_id),
        )

    async def pending_jobs(self, kind: str) -> list[dict[str, Any]]:
        """The payloads of the jobs of ``kind`` waiting to run (or being retried)."""
        async with self.db.execute(
            "SELECT payload FROM jobs WHERE kind = ? AND status = 'pending'", (kind,)
        ) as cur:
            return [json.loads(r[0]) for r in await cur.fetchall()]

    async def retry_job(
        self,
        job_id: int,
        error: str,
        delay: float,
        give_up: bool,
        *,
        report: tuple[str, dict[str, Any]] | None = None,
    ) -> bool:
        """Try the job again after ``delay``, or give it up with ``report`` (the job that says
        so) written in the same transaction. False if it was cancelled meanwhile."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE jobs SET attempts = attempts + 1, error = ?, next_at = ?, status = ? "
                "WHERE id = ? AND status = 'pending'",
                (error, time.time() + delay, "failed" if give_up else "pending", job_id),
            )
            if cur.rowcount == 1 and report is not None:
                await self.add_job(db, *report)
        return cur.rowcount == 1

    async def ensure_job(self, kind: str, payload: dict[str, Any], at: float) -> bool:
        """A recurring job of ``kind`` with ``payload`` pending from ``at``, unless one is (in
        one statement: two callers never make two). Whether it was added."""
        text = json.dumps(payload)
        cur = await self._write(
            "INSERT INTO jobs (kind, payload, next_at, created) SELECT ?, ?, ?, ? WHERE NOT "
            "EXISTS (SELECT 1 FROM jobs WHERE kind = ? AND payload = ? AND status = 'pending')",
            (kind, text, at, time.time(), kind, text),
        )
        return cur.rowcount == 1

    async def has_job(self, kind: str, payload: dict[str, Any]) -> bool:
        """Whether a job of ``kind`` with exactly ``payload`` was ever queued (and not pruned)."""
        async with self.db.execute(
            "SELECT 1 FROM jobs WHERE kind = ? AND payload = ? LIMIT 1", (kind, json.dumps(payload))
        ) as cur:
            return await cur.fetchone() is not None

    async def open_jobs(self, limit: int = 30, quiet: Collection[str] = ()) -> list[JobRow]:
        """Jobs not done: waiting, retrying (tried before) and given up, oldest first; those of
        ``quiet`` kinds (recurring ones, always waiting) only when they retry or gave up."""
        where = "status IN ('pending', 'failed')"
        if quiet:  # (``kind IN (NULL)`` would be NULL, and hide every job not tried yet)
            marks = ", ".join("?" for _ in quiet)
            where += f" AND NOT (kind IN ({marks}) AND status = 'pending' AND attempts = 0)"
        async with self.db.execute(
            f"SELECT id, kind, status, attempts, next_at, error FROM jobs WHERE {where} "
            "ORDER BY id LIMIT ?",
            (*quiet, limit),
        ) as cur:
            return [JobRow(*r) for r in await cur.fetchall()]

    async def job(self, job_id: int) -> JobRow | None:
        async with self.db.execute(
            "SELECT id, kind, status, attempts, next_at, error FROM jobs WHERE id = ?",
            (job_id,),
        ) as cur:
            row = await cur.fetchone()
        return JobRow(*row) if row else None

    async def retry_job_now(self, job_id: int) -> bool:
        """A waiting or given-up job tried again now, with its tries counted afresh."""
        cur = await self._write(
            "UPDATE jobs SET status = 'pending', attempts = 0, next_at = ? "
            "WHERE id = ? AND status IN ('pending', 'failed')",
            (time.time(), job_id),
        )
        return cur.rowcount == 1

    async def cancel_job(self, job_id: int) -> bool:
        cur = await self._write(
            "UPDATE jobs SET status = 'cancelled', done_at = ? "
            "WHERE id = ? AND status IN ('pending', 'failed')",
            (time.time(), job_id),
        )
        return cur.rowcount == 1

    async def job_counts(self, quiet: Collection[str] = ()) -> dict[str, int]:
        """Jobs by state (pending split into waiting and retrying), for the metrics; those of
        ``quiet`` kinds are not counted while they wait as they should."""
        marks = ", ".join("?" for _ in quiet) or "NULL"
        async with self.db.execute(
            "SELECT CASE WHEN status = 'pending' AND attempts > 0 THEN 'retrying' "
            "ELSE status END, COUNT(*) FROM jobs WHERE NOT (kind IN ("
            + marks
            + ") AND status = 'pending' AND attempts = 0) GROUP BY 1",
            tuple(quiet),
        ) as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}

    async def backlog(self) -> int:
        """Recorded events (commands and others) not handled yet."""
        async with self.db.execute(
            "SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'pending') + "
            "(SELECT COUNT(*) FROM events WHERE status = 'pending')"
        ) as cur:
            row = await _aggregate(cur)
        return row[0]

    async def prune(self, keep_done: float, hook_window: float = 3600.0) -> int:
        """Forget what has served its time: finished jobs, handled events and the progress
        messages of commands handled more than ``keep_done`` seconds ago (an inbox row stays:
        its id is what refuses a replay), webhook signatures past twice their window (a
        replay that old is refused by its date), web posts past the hour they count for."""
        now = time.time()
        before = now - keep_done
        removed = 0
        async with self.transaction() as db:
            for sql, since in (
                ("DELETE FROM jobs WHERE status IN ('done', 'cancelled') AND done_at < ?", before),
                ("DELETE FROM events WHERE status = 'done' AND done_at < ?", before),
                # A command's outcome is needed only until the command is marked done.
                (
                    "DELETE FROM outcomes WHERE at < ? AND substr(key, instr(key, char(31)) + 1) "
                    "NOT IN (SELECT event_id FROM inbox WHERE status = 'pending')",
                    before,
                ),
                (
                    "DELETE FROM kv WHERE key LIKE 'progress:%' AND substr(key, 10) IN "
                    "(SELECT event_id FROM inbox WHERE status = 'done' AND done_at < ?)",
                    before,
                ),
                ("DELETE FROM hook_seen WHERE at < ?", now - 2 * hook_window),
                ("DELETE FROM web_posts WHERE at < ?", now - 3600.0),
            ):
                cur = await db.execute(sql, (since,))
                removed += cur.rowcount
            await db.execute(
                "UPDATE inbox SET body = '' WHERE status = 'done' AND body != '' AND done_at < ?",
                (time.time() - self.keep_command_text,),
            )
        return removed

    async def count_post(self, client: str, limit: int, window: float = 3600.0) -> bool:
        """Count one web post of ``client`` (a keyed hash), unless it already made ``limit``
        within ``window`` seconds: False then, and nothing is counted."""
        now = time.time()
        async with self.transaction() as db:
            async with db.execute(
                "SELECT COUNT(*) FROM web_posts WHERE client = ? AND at > ?",
                (client, now - window),
            ) as cur:
                (made,) = await _aggregate(cur)
            if made >= limit:
                return False
            await db.execute("INSERT INTO web_posts (client, at) VALUES (?, ?)", (client, now))
        return True

    async def counts(self) -> dict[str, int]:
        out = {}
        for name, sql in (
            ("commands", "SELECT COUNT(*) FROM inbox WHERE status = 'done'"),
            ("audit", "SELECT COUNT(*) FROM audit"),
            ("rooms", "SELECT (SELECT COUNT(*) FROM rooms) + (SELECT COUNT(*) FROM managed_rooms)"),
        ):
            async with self.db.execute(sql) as cur:
                out[name] = (await _aggregate(cur))[0]
        return out

    async def dm_with(self, peer: str) -> str | None:
        """The direct chat the bot keeps with ``peer``, if any (the newest)."""
        async with self.db.execute(
            "SELECT room_id FROM rooms WHERE kind = 'dm' AND peer = ? ORDER BY created DESC "
            "LIMIT 1",
            (peer,),
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None
