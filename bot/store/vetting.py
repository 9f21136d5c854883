"""Join requests, admins' decisions and vetted members (SQL only; the rules are in
``bot.vetting``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Protocol

import aiosqlite

from bot import effects
from bot.store import Store


def asked_key(user_id: str) -> str:
    """Where the request an applicant was asked a question about is kept (their next words
    in their direct chat go to its card's thread)."""
    return f"vetting:asked:{user_id}"


def refused_key(request_id: int) -> str:
    """Where a request the directory refused (``require``) keeps what did not match."""
    return f"directory:refused:{request_id}"


class RequestData(Protocol):
    """What a request holds once validated (``bot.vetting.form.JoinRequestData``)."""

    @property
    def name(self) -> str: ...

    @property
    def profession(self) -> str: ...

    @property
    def territory(self) -> str: ...

    @property
    def email(self) -> str: ...

    @property
    def structure(self) -> str: ...

    @property
    def rpps(self) -> str | None: ...

    @property
    def adeli(self) -> str | None: ...


@dataclass(frozen=True)
class Decision:
    admin: str
    decision: str  # approve | reject
    note: str = ""


@dataclass(frozen=True)
class MemberInfo:
    user_id: str
    territory: str  # home territory
    profession: str = ""
    # What animators gave beyond the rules: territory ids (`!admit`) and room keys
    # (`!group invite`).
    grants: frozenset[str] = frozenset()


_COLUMNS = (
    "id, source, user_id, dm_room, name, profession, territory, email, structure, rpps, "
    "adeli, submitted_by, status, reason, card_event, created, reg_token, locale, batch"
)


@dataclass(frozen=True)
class RequestRow:
    id: int
    source: str
    user_id: str | None
    dm_room: str | None
    name: str
    profession: str
    territory: str
    email: str
    structure: str
    rpps: str | None
    adeli: str | None
    submitted_by: str
    status: str
    reason: str | None
    card_event: str | None
    created: float
    reg_token: str | None = None
    locale: str | None = None
    batch: str | None = None


class VettingStore:
    def __init__(self, store: Store):
        self.store = store

    async def add_request(
        self,
        data: RequestData,
        *,
        source: str,
        user_id: str | None,
        dm_room: str | None,
        submitted_by: str,
        status_hash: str | None = None,
        locale: str | None = None,
        batch: str | None = None,
        status: str = "pending",
        db: aiosqlite.Connection | None = None,
        replacement_for: int | None = None,
    ) -> int:
        """A new request (``pending``, or ``unconfirmed`` until its email is confirmed);
        inside the caller's transaction when ``db`` is given."""
        sql = (
            "INSERT INTO requests (source, user_id, dm_room, name, profession, territory, "
            "email, structure, rpps, adeli, submitted_by, created, status_hash, locale, batch, "
            "status, source_event, replacement_for) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        params = (
            source,
            user_id,
            dm_room,
            data.name,
            data.profession,
            data.territory,
            data.email,
            data.structure,
            data.rpps,
            data.adeli,
            submitted_by,
            time.time(),
            status_hash,
            locale,
            batch,
            status,
            effects.current_event(),  # the command that filed it, recognised on a re-run
            replacement_for,  # an absence's replacement: a member of no territory of their own
        )
        cur = await (db.execute(sql, params) if db is not None else self.store._write(sql, params))
        return cur.lastrowid or 0

    async def request(self, request_id: int) -> RequestRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE id = ?", (request_id,)
        ) as cur:
            row = await cur.fetchone()
        return RequestRow(*row) if row else None

    async def request_by_source(self, event_id: str) -> RequestRow | None:
        """The request the command or answer ``event_id`` filed, if it did."""
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE source_event = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return RequestRow(*row) if row else None

    async def request_by_card(self, event_id: str) -> RequestRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE card_event = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return RequestRow(*row) if row else None

    async def requests(
        self, *, status: str | None = None, user_id: str | None = None, limit: int = 50
    ) -> list[RequestRow]:
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append(status)
        if user_id:
            where.append("user_id = ?")
            params.append(user_id)
        sql = f"SELECT {_COLUMNS} FROM requests"
        if where:
            sql += " WHERE " + " AND ".join(where)
        async with self.store.db.execute(
            sql + " ORDER BY id DESC LIMIT ?", (*params, limit)
        ) as cur:
            return [RequestRow(*r) for r in await cur.fetchall()]

    async def duplicates(
        self, data: RequestData, user_id: str | None, exclude: int | None = None
    ) -> list[tuple[int, str]]:
        """Pending or approved requests sharing an identifier, the email or the Matrix id."""
        checks = [
            ("email", data.email),
            ("rpps", data.rpps),
            ("adeli", data.adeli),
            ("user_id", user_id),
        ]
        found: list[tuple[int, str]] = []
        for column, value in checks:
            if not value:
                continue
            async with self.store.db.execute(
                f"SELECT id FROM requests WHERE {column} = ? AND status IN "
                "('pending', 'approved') AND id != ?",
                (value, exclude or -1),
            ) as cur:
                found += [(r[0], column) for r in await cur.fetchall()]
        return found

    async def set_card(self, request_id: int, event_id: str | None) -> None:
        await self.store._write(
            "UPDATE requests SET card_event = ? WHERE id = ?", (event_id, request_id)
        )

    async def record_decision(self, request_id: int, admin: str, decision: str, note: str) -> None:
        """An admin's decision, with the command or reaction that made it."""
        await self.store._write(
            "INSERT INTO decisions (request_id, admin, decision, note, at, event_id) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(request_id, admin) DO UPDATE SET "
            "decision = excluded.decision, note = excluded.note, at = excluded.at, "
            "event_id = excluded.event_id",
            (request_id, admin, decision, note, time.time(), effects.current_event()),
        )

    async def decided_by_event(self, request_id: int, event_id: str) -> bool:
        """Whether ``event_id`` (a command or a reaction) recorded a decision on the request."""
        async with self.store.db.execute(
            "SELECT 1 FROM decisions WHERE request_id = ? AND event_id = ?", (request_id, event_id)
        ) as cur:
            return await cur.fetchone() is not None

    async def decision_by_event(self, event_id: str) -> tuple[int, str, str] | None:
        """(request, admin, decision) that the command or reaction ``event_id`` recorded."""
        async with self.store.db.execute(
            "SELECT request_id, admin, decision FROM decisions WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return (row[0], row[1], row[2]) if row else None

    async def withdraw_decision(self, request_id: int, admin: str, event_id: str) -> bool:
        """The decision ``event_id`` made, taken back while its request is still pending (in
        one statement, so a decision that closed the request is never taken back)."""
        cur = await self.store._write(
            "DELETE FROM decisions WHERE request_id = ? AND admin = ? AND event_id = ? AND "
            "(SELECT status FROM requests WHERE id = ?) = 'pending'",
            (request_id, admin, event_id, request_id),
        )
        return cur.rowcount == 1

    async def decisions(self, request_id: int) -> list[Decision]:
        async with self.store.db.execute(
            "SELECT admin, decision, note FROM decisions WHERE request_id = ? ORDER BY at",
            (request_id,),
        ) as cur:
            return [Decision(*r) for r in await cur.fetchall()]

    async def refuse_by_directory(
        self, request_id: int, reason: str, what: list[str], by: str, *, then: str
    ) -> bool:
        """A pending request the national directory does not bear out, refused: its status,
        what did not match, the job that tells the outcome and the audit row, in one
        transaction. False when it was no longer pending."""
        now = time.time()
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE requests SET status = 'rejected', reason = ?, decided = ? "
                "WHERE id = ? AND status = 'pending'",
                (reason, now, request_id),
            )
            if cur.rowcount != 1:
                return False
            await db.execute(Store._PUT, (refused_key(request_id), json.dumps(what)))
            await self.store.add_job(db, then, {"request_id": request_id})
            await Store.audit_in(db, by, "vetting.directory_refused", "ok", detail=f"#{request_id}")
        return True

    async def reopen_refused(self, request_id: int, admin: str, note: str) -> bool:
        """A request the directory refused, open again because an admin admits it without
        the directory (with their reason, audited), in one transaction."""
        key = refused_key(request_id)
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE requests SET status = 'pending', reason = NULL, decided = NULL "
                "WHERE id = ? AND status = 'rejected' AND EXISTS "
                "(SELECT 1 FROM kv WHERE key = ? AND value != 'null')",
                (request_id, key),
            )
            if cur.rowcount != 1:
                return False
            await db.execute("DELETE FROM kv WHERE key = ?", (key,))
            await Store.audit_in(
                db, admin, "vetting.directory_override", "ok", detail=f"#{request_id} {note}"
            )
        return True

    async def close_request(
        self, request_id: int, status: str, reason: str | None = None, *, then: str | None = None
    ) -> bool:
        """Move a pending request to its final status and, in the same transaction, queue the
        job ``then`` that carries the outcome out. False if it was no longer pending (another
        decision got there first), so that an outcome happens once."""
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE requests SET status = ?, reason = ?, decided = ? "
                "WHERE id = ? AND status = 'pending'",
                (status, reason, time.time(), request_id),
            )
            closed = cur.rowcount == 1
            if closed and then:
                await self.store.add_job(db, then, {"request_id": request_id})
        return closed

    async def add_member(self, user_id: str, request_id: int, territory: str) -> None:
        await self.store._write(
            "INSERT INTO members (user_id, request_id, territory, since) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET request_id = excluded.request_id, "
            "territory = excluded.territory, status = 'active'",
            (user_id, request_id, territory, time.time()),
        )

    async def is_member(self, user_id: str) -> bool:
        """Whether ``user_id`` is a vetted member (a replacement's member has no territory)."""
        return await self.member_territory(user_id) is not None

    async def member_territory(self, user_id: str) -> str | None:
        """An active member's home territory ('' for a replacement's: none of their own);
        None for someone who is not a member."""
        async with self.store.db.execute(
            "SELECT territory FROM members WHERE user_id = ? AND status = 'active'", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    _MEMBERS = (
        "SELECT m.user_id, r.name, r.profession, m.territory, r.structure, r.email, r.rpps, "
        "r.adeli, m.since, m.status FROM members m LEFT JOIN requests r "
        "ON r.id = m.request_id WHERE m.status = 'active'"
    )

    async def members(self, territories: set[str] | None = None) -> list[dict]:
        """Active members with the fields of the request that admitted them."""
        async with self.store.db.execute(self._MEMBERS + " ORDER BY r.name, m.user_id") as cur:
            rows = [dict(r) for r in await cur.fetchall()]
        return [r for r in rows if territories is None or r["territory"] in territories]

    async def member(self, user_id: str) -> dict | None:
        """One active member, as ``members`` lists them."""
        async with self.store.db.execute(self._MEMBERS + " AND m.user_id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        return dict(row) if row else None

    async def dialogue(self, user_id: str) -> tuple[str, str, dict[str, str], str] | None:
        """(room, step, fields, locale) of the person's conversation in progress."""
        async with self.store.db.execute(
            "SELECT room_id, step, fields, locale FROM dialogues WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return (row[0], row[1], json.loads(row[2]), row[3]) if row else None

    async def save_dialogue(
        self, user_id: str, room_id: str, step: str, fields: dict[str, str], locale: str
    ) -> None:
        await self.store._write(
            "INSERT INTO dialogues (user_id, room_id, step, fields, locale, updated) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET room_id = "
            "excluded.room_id, step = excluded.step, fields = excluded.fields, "
            "locale = excluded.locale, updated = excluded.updated",
            (user_id, room_id, step, json.dumps(fields), locale, time.time()),
        )

    async def end_dialogue(self, user_id: str) -> bool:
        cur = await self.store._write("DELETE FROM dialogues WHERE user_id = ?", (user_id,))
        return cur.rowcount > 0

    async def forget(self, user_id: str) -> int:
        """Erase the personal fields of a person's closed requests (name, email, structure,
        identifiers, tokens) and any conversation in progress, the text of what they typed to
        the bot, and the audit's notes about them; ids, territory, profession, outcome and
        dates stay, for the audit. Returns how many requests were erased."""
        async with self.store.transaction() as db:
            async with db.execute("SELECT id FROM requests WHERE user_id = ?", (user_id,)) as c:
                ids = [r[0] for r in await c.fetchall()]
            cur = await db.execute(
                "UPDATE requests SET name = '', email = '', structure = '', rpps = NULL, "
                "adeli = NULL, reason = NULL, reg_token = NULL, status_hash = NULL, "
                "email_hash = NULL WHERE user_id = ? AND status IN "
                "('rejected', 'cancelled', 'approved')",
                (user_id,),
            )
            erased = cur.rowcount
            await db.execute(
                "UPDATE inbox SET body = '', attachment = NULL WHERE sender = ?", (user_id,)
            )
            await db.execute(
                "UPDATE audit SET detail = '' WHERE actor = ? OR instr(detail, ?) > 0",
                (user_id, user_id),
            )
            # A refusal by the directory is forgotten too: nobody reopens an erased request.
            await db.executemany("DELETE FROM kv WHERE key = ?", [(refused_key(i),) for i in ids])
            for request_id in ids:  # "#12 …": the notes of decisions on their requests
                await db.execute(
                    "UPDATE audit SET detail = ? WHERE detail LIKE ?",
                    (f"#{request_id}", f"#{request_id} %"),
                )
            await db.execute("DELETE FROM dialogues WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM languages WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM kv WHERE key = ?", (asked_key(user_id),))
            await db.execute(
                "UPDATE decisions SET note = '' WHERE request_id IN "
                "(SELECT id FROM requests WHERE user_id = ?)",
                (user_id,),
            )
        return erased

    # --- members as provisioning sees them ---------------------------------------------------

    # Grants: what animators gave, and the rooms lent by the absences a member replaces now.
    _MEMBER_INFO = (
        "SELECT m.user_id, m.territory, COALESCE(r.profession, ''), "
        "COALESCE((SELECT group_concat(g.key, ' ') FROM grants g WHERE g.user_id = m.user_id), "
        "'') || ' ' || COALESCE((SELECT group_concat(a.rooms, ' ') FROM absences a "
        "WHERE a.replacement = m.user_id AND a.status = 'active' "
        "AND a.\"end\" > CAST(strftime('%s', 'now') AS REAL)), '') "
        "FROM members m LEFT JOIN requests r ON r.id = m.request_id WHERE m.status = 'active'"
    )

    @staticmethod
    def _info(row: tuple) -> MemberInfo:
        return MemberInfo(row[0], row[1], row[2], frozenset((row[3] or "").split()))

    # Without what absences lend: what a member has on their own.
    _OWN_INFO = (
        "SELECT m.user_id, m.territory, COALESCE(r.profession, ''), "
        "(SELECT group_concat(g.key, ' ') FROM grants g WHERE g.user_id = m.user_id) "
        "FROM members m LEFT JOIN requests r ON r.id = m.request_id WHERE m.status = 'active'"
    )

    async def member_info(self, user_id: str, *, own: bool = False) -> MemberInfo | None:
        """A member's territory, profession and grants (``own``: leaving out the rooms their
        current replacements lend them)."""
        sql = self._OWN_INFO if own else self._MEMBER_INFO
        async with self.store.db.execute(sql + " AND m.user_id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        return self._info(tuple(row)) if row else None

    async def member_infos(self) -> list[MemberInfo]:
        async with self.store.db.execute(self._MEMBER_INFO + " ORDER BY m.user_id") as cur:
            return [self._info(tuple(r)) for r in await cur.fetchall()]

    async def replacement_for(self, request_id: int) -> int | None:
        """The absence a request was filed for (its member then has no territory of their
        own), else None."""
        async with self.store.db.execute(
            "SELECT replacement_for FROM requests WHERE id = ?", (request_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def add_grant(self, user_id: str, key: str, source: str, by: str) -> bool:
        """False if the member already had it."""
        cur = await self.store._write(
            "INSERT INTO grants (user_id, key, source, granted_by, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(user_id, key) DO NOTHING",
            (user_id, key, source, by, time.time()),
        )
        return cur.rowcount == 1

    async def holders(self, key: str) -> list[str]:
        """Active members given ``key`` by name (a group invitation, a manager's team)."""
        async with self.store.db.execute(
            "SELECT g.user_id FROM grants g JOIN members m ON m.user_id = g.user_id "
            "WHERE g.key = ? AND m.status = 'active' ORDER BY g.at",
            (key,),
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def remove_grants(self, user_id: str, keys: set[str]) -> int:
        if not keys:
            return 0
        marks = ", ".join("?" for _ in keys)
        cur = await self.store._write(
            f"DELETE FROM grants WHERE user_id = ? AND key IN ({marks})", (user_id, *sorted(keys))
        )
        return cur.rowcount

    @staticmethod
    async def revoke(db: aiosqlite.Connection, user_id: str, reason: str) -> bool:
        """A member revoked: what animators gave them dropped, a request of theirs still
        pending rejected with ``reason``. False if they were not a member."""
        cur = await db.execute(
            "UPDATE members SET status = 'revoked' WHERE user_id = ? AND status = 'active'",
            (user_id,),
        )
        await db.execute("DELETE FROM grants WHERE user_id = ?", (user_id,))
        await db.execute(
            "UPDATE requests SET status = 'rejected', reason = ?, decided = strftime('%s') "
            "WHERE user_id = ? AND status = 'pending'",
            (reason, user_id),
        )
        return cur.rowcount == 1

    # --- web requests --------------------------------------------------------------------------

    async def request_by_status_hash(self, status_hash: str) -> RequestRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE status_hash = ?", (status_hash,)
        ) as cur:
            row = await cur.fetchone()
        return RequestRow(*row) if row else None

    async def set_email_hash(self, request_id: int, email_hash: str) -> None:
        await self.store._write(
            "UPDATE requests SET email_hash = ? WHERE id = ? AND email_hash IS NULL",
            (email_hash, request_id),
        )

    async def request_by_email_hash(self, email_hash: str) -> RequestRow | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE email_hash = ?", (email_hash,)
        ) as cur:
            row = await cur.fetchone()
        return RequestRow(*row) if row else None

    async def confirm_email(self, request_id: int) -> bool:
        """The applicant confirmed their address: the request goes to the admins, once."""
        cur = await self.store._write(
            "UPDATE requests SET status = 'pending', confirmed = ? "
            "WHERE id = ? AND status = 'unconfirmed'",
            (time.time(), request_id),
        )
        return cur.rowcount == 1

    async def expire_unconfirmed(self, request_id: int) -> bool:
        """An address never confirmed in time: the request is closed and what it said is
        forgotten (the number, territory and dates stay, for the audit)."""
        cur = await self.store._write(
            "UPDATE requests SET status = 'expired', decided = ?, name = '', email = '', "
            "structure = '', rpps = NULL, adeli = NULL, email_hash = NULL "
            "WHERE id = ? AND status = 'unconfirmed'",
            (time.time(), request_id),
        )
        return cur.rowcount == 1

    async def set_reg_token(
        self,
        request_id: int,
        token: str,
        expires: float,
        *,
        replacing: str | None = None,
        db: aiosqlite.Connection | None = None,
    ) -> bool:
        """The request's registration token: set once (``replacing`` None), or put in place of
        the one named (a renewal). False if another change got there first."""
        if replacing is None:
            sql = "UPDATE requests SET reg_token = ?, reg_expires = ? WHERE id = ? AND reg_token IS NULL"
            params: tuple = (token, expires, request_id)
        else:
            sql = (
                "UPDATE requests SET reg_token = ?, reg_expires = ? WHERE id = ? AND reg_token = ?"
            )
            params = (token, expires, request_id, replacing)
        cur = await (db.execute(sql, params) if db is not None else self.store._write(sql, params))
        return cur.rowcount == 1

    async def reg_expires(self, request_id: int) -> float | None:
        async with self.store.db.execute(
            "SELECT reg_expires FROM requests WHERE id = ?", (request_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def link_account(
        self, request_id: int, user_id: str, *, db: aiosqlite.Connection | None = None
    ) -> bool:
        """Tie the account registered with the request's token to it, once (inside the
        caller's transaction when ``db`` is given)."""
        sql = "UPDATE requests SET user_id = ? WHERE id = ? AND user_id IS NULL"
        cur = await (db.execute if db else self.store._write)(sql, (user_id, request_id))
        return cur.rowcount == 1

    async def awaiting_registration(self, now: float | None = None) -> list[RequestRow]:
        """Approved web requests whose token has not been used yet, and has not expired
        (``now``; an expired one waits for `!token renew`)."""
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE status = 'approved' AND "
            "reg_token IS NOT NULL AND user_id IS NULL AND "
            "(reg_expires IS NULL OR reg_expires > ?) ORDER BY id",
            (time.time() if now is None else now,),
        ) as cur:
            return [RequestRow(*r) for r in await cur.fetchall()]

    # --- bulk ----------------------------------------------------------------------------------

    async def pending_ids(
        self, *, first: int | None = None, last: int | None = None, batch: str | None = None
    ) -> list[int]:
        where = ["status = 'pending'"]
        params: list[int | str] = []
        if first is not None and last is not None:
            where.append("id BETWEEN ? AND ?")
            params += [first, last]
        if batch is not None:
            where.append("batch = ?")
            params.append(batch)
        async with self.store.db.execute(
            "SELECT id FROM requests WHERE " + " AND ".join(where) + " ORDER BY id", params
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def batch_exists(self, batch: str) -> bool:
        async with self.store.db.execute(
            "SELECT 1 FROM requests WHERE batch = ? LIMIT 1", (batch,)
        ) as cur:
            return await cur.fetchone() is not None
