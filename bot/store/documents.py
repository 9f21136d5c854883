"""The files shared in the territories' rooms, who may find them, and those pinned (SQL only;
the rules are in ``bot.documents``). Only metadata: never a file's content, and for an
encrypted file neither its mxc URL nor its key."""

from __future__ import annotations

import time
from typing import Any

from bot.store import Store

_COLUMNS = "id, event_id, room_id, sender, name, words, msgtype, mimetype, size, encrypted, sent_ts"
Jobs = list[tuple[str, dict[str, Any]]]  # kind, payload
_ADDED = (
    "event_id", "room_id", "sender", "name", "words", "msgtype", "mimetype", "size", "encrypted",
    "sent_ts",
)  # fmt: skip


def _fields(r: Any) -> dict[str, Any]:
    keys = [c.strip() for c in _COLUMNS.split(",")]
    found = dict(zip(keys, r, strict=True))
    found["encrypted"] = bool(found["encrypted"])
    return found


class DocumentStore:
    def __init__(self, store: Store):
        self.store = store

    async def add(self, fields: dict[str, Any]) -> bool:
        """A file indexed once (its event id is unique); whether it was new."""
        cur = await self.store._write(
            "INSERT INTO documents (event_id, room_id, sender, name, words, msgtype, mimetype, "
            "size, encrypted, sent_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(event_id) DO NOTHING",
            tuple(fields[k] for k in _ADDED),
        )
        return cur.rowcount == 1

    async def get(self, document_id: int) -> dict[str, Any] | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM documents WHERE id = ?", (document_id,)
        ) as cur:
            row = await cur.fetchone()
        return _fields(row) if row else None

    async def by_event(self, event_id: str) -> dict[str, Any] | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM documents WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return _fields(row) if row else None

    async def joined_rooms(self, user: str, room_ids: list[str]) -> list[str]:
        """Those of these rooms the index has ``user`` joined in."""
        if not room_ids:
            return []
        marks = ", ".join("?" for _ in room_ids)
        async with self.store.db.execute(
            "SELECT room_id FROM document_readers WHERE user_id = ? AND membership = 'join' "
            f"AND room_id IN ({marks})",
            (user, *room_ids),
        ) as cur:
            found = {r[0] for r in await cur.fetchall()}
        return [r for r in room_ids if r in found]

    async def readable_by(self, user: str, room_ids: list[str]) -> list[dict[str, Any]]:
        """The files of these rooms ``user`` has joined, posted since they were asked in."""
        if not room_ids:
            return []
        marks = ", ".join("?" for _ in room_ids)
        columns = ", ".join(f"d.{c.strip()}" for c in _COLUMNS.split(","))
        async with self.store.db.execute(
            f"SELECT {columns} FROM documents d JOIN document_readers r "
            "ON r.room_id = d.room_id AND r.user_id = ? AND r.membership = 'join' "
            f"AND d.sent_ts >= r.since WHERE d.room_id IN ({marks})",
            (user, *room_ids),
        ) as cur:
            return [_fields(r) for r in await cur.fetchall()]

    async def remove(self, event_id: str, board_job: str, state_job: str) -> list[str]:
        """A file out of the index (withdrawn) and out of the pins: a ``board_job`` for each
        territory whose pins it left, and a ``state_job`` to unpin it in its room. Those
        territories."""
        async with self.store.transaction() as db:
            async with db.execute(
                "SELECT p.territory, d.room_id FROM document_pins p JOIN documents d "
                "ON d.id = p.document_id WHERE d.event_id = ?",
                (event_id,),
            ) as cur:
                rows = list(await cur.fetchall())
            await db.execute("DELETE FROM documents WHERE event_id = ?", (event_id,))
            for territory, _ in rows:
                await Store.add_job(db, board_job, {"territory": territory})
            if rows:
                payload = {"room": rows[0][1], "event": event_id, "pin": False}
                await Store.add_job(db, state_job, payload)
        return [r[0] for r in rows]

    async def forget(self, user: str, board_job: str, state_job: str) -> int:
        """A forgotten person's files out of the index and the pins (each territory's shown
        again, each file unpinned in its room), and what is known of where they were; how
        many files."""
        async with self.store.transaction() as db:
            async with db.execute(
                "SELECT p.territory, d.room_id, d.event_id FROM document_pins p "
                "JOIN documents d ON d.id = p.document_id WHERE d.sender = ?",
                (user,),
            ) as cur:
                rows = list(await cur.fetchall())
            cur = await db.execute("DELETE FROM documents WHERE sender = ?", (user,))
            erased = cur.rowcount
            await db.execute("DELETE FROM document_readers WHERE user_id = ?", (user,))
            for territory in sorted({r[0] for r in rows}):
                await Store.add_job(db, board_job, {"territory": territory})
            for room_id, event_id in sorted({(r[1], r[2]) for r in rows}):
                payload = {"room": room_id, "event": event_id, "pin": False}
                await Store.add_job(db, state_job, payload)
        return erased

    # --- who reads which room since when ------------------------------------------------------

    async def reader(self, room_id: str, user: str, membership: str, since: int) -> None:
        """``user`` invited or joined (since ``since``, ms, kept from the invitation on), or
        gone (their row dropped: coming back starts again)."""
        if membership in ("invite", "join"):
            await self.store._write(
                "INSERT INTO document_readers (room_id, user_id, membership, since) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(room_id, user_id) DO UPDATE SET "
                "membership = excluded.membership",
                (room_id, user, membership, since),
            )
        else:
            await self.store._write(
                "DELETE FROM document_readers WHERE room_id = ? AND user_id = ?", (room_id, user)
            )

    async def seed(self, room_id: str, members: dict[str, str], since: int) -> None:
        """Members (user → invite or join) the index has no row for, counted from ``since``."""
        async with self.store.transaction() as db:
            await db.executemany(
                "INSERT INTO document_readers (room_id, user_id, membership, since) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(room_id, user_id) DO NOTHING",
                [(room_id, user, m, since) for user, m in members.items()],
            )

    # --- pins ---------------------------------------------------------------------------------

    async def pin(self, territory: str, document_id: int, by: str, jobs: Jobs) -> bool:
        """Pinned (with its jobs, in one transaction); False if it was already."""
        return await self.store.change_once(
            "INSERT INTO document_pins (territory, document_id, pinned_by, pinned_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (territory, document_id, by, time.time()),
            jobs,
        )

    async def unpin(self, territory: str, document_id: int, jobs: Jobs) -> bool:
        return await self.store.change_once(
            "DELETE FROM document_pins WHERE territory = ? AND document_id = ?",
            (territory, document_id),
            jobs,
        )

    async def pinned(self, territory: str) -> list[dict[str, Any]]:
        """A territory's pinned files, in the order they were pinned."""
        columns = ", ".join(f"d.{c.strip()}" for c in _COLUMNS.split(","))
        async with self.store.db.execute(
            f"SELECT {columns} FROM document_pins p JOIN documents d ON d.id = p.document_id "
            "WHERE p.territory = ? ORDER BY p.pinned_at, d.id",
            (territory,),
        ) as cur:
            return [_fields(r) for r in await cur.fetchall()]

    async def pinned_in(self, document_id: int) -> list[str]:
        async with self.store.db.execute(
            "SELECT territory FROM document_pins WHERE document_id = ?", (document_id,)
        ) as cur:
            return [r[0] for r in await cur.fetchall()]
