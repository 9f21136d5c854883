"""Make ``tests/data/store-v<N>.sql``: the bot's store as a release at schema version ``N``
left it (by default the version before the current one: the previous release's), with
representative rows in its tables, dumped as SQL text. ``tests/test_upgrades_unit.py``
loads every such file and checks that the current code migrates it forward in place,
its data kept and its schema the same as a fresh store's.

    PYTHONPATH=. python tools/store_fixture.py                # N = current version - 1
    PYTHONPATH=. python tools/store_fixture.py --version 21   # another one

The store is made by the shipped migrations up to ``N`` (a shipped migration is never
edited, so the file stays what that release wrote). The rows below name every column they
fill; a column that version does not have yet is left out, and a table it does not have
yet is skipped. Keep the files of earlier versions: each one is a release someone may
upgrade from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.store import Store
from bot.store.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC: every time in the rows, so the file is stable
ADMIN, NURSE, DOCTOR = "@admin:agora.test", "@corinne:agora.test", "@paul:agora.test"
BOT = "@agora:agora.test"
CONTROL, DM = "!control:agora.test", "!dm-corinne:agora.test"
SPACE, COMMUNITY = "!vaucluse:agora.test", "!vaucluse-communaute:agora.test"


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# Table → rows, in an order that satisfies the foreign keys.
ROWS: dict[str, list[dict[str, Any]]] = {
    "kv": [
        {"key": "instance", "value": _j("0123456789abcdef")},
        {"key": "sync_token", "value": _j("s42_1_0_1_1_1_1_1_1")},
        {"key": "display_name", "value": _j("Agora")},
    ],
    "rooms": [
        {"room_id": CONTROL, "kind": "control", "peer": None, "created": T0},
        {"room_id": DM, "kind": "dm", "peer": NURSE, "created": T0 + 10},
    ],
    "inbox": [
        {
            "event_id": "$ping",
            "room_id": CONTROL,
            "sender": ADMIN,
            "body": "",
            "encrypted": 1,
            "origin_ts": int(T0 * 1000) + 1000,
            "received_at": T0 + 1,
            "status": "done",
            "outcome": "ok",
            "done_at": T0 + 2,
            "device_curve": "curve-admin",
            "device_ed": "ed-admin",
            "megolm_session": "session-1",
            "megolm_index": 0,
            "attempts": 0,
            "next_at": 0,
        },
        {
            "event_id": "$status-pending",
            "room_id": CONTROL,
            "sender": ADMIN,
            "body": "!status",
            "encrypted": 1,
            "origin_ts": int(T0 * 1000) + 5000,
            "received_at": T0 + 5,
            "status": "pending",
            "attempts": 1,
            "next_at": T0 + 65,
            "reply_to": None,
            "attachment": None,
        },
    ],
    "audit": [
        {
            "at": T0 + 2,
            "actor": ADMIN,
            "room_id": CONTROL,
            "event_id": "$ping",
            "action": "command.ping",
            "detail": "",
            "outcome": "ok",
        },
        {
            "at": T0 + 30,
            "actor": ADMIN,
            "room_id": CONTROL,
            "event_id": "$approve",
            "action": "vetting.approve",
            "detail": "#1",
            "outcome": "ok",
        },
    ],
    "managed_rooms": [
        {
            "key": "vaucluse",
            "room_id": SPACE,
            "kind": "space",
            "territory": "vaucluse",
            "is_space": 1,
            "archived": 0,
            "adopted": 0,
            "updated": T0,
        },
        {
            "key": "vaucluse.communaute",
            "room_id": COMMUNITY,
            "kind": "community",
            "territory": "vaucluse",
            "is_space": 0,
            "archived": 0,
            "adopted": 0,
            "updated": T0,
        },
    ],
    "apply_runs": [
        {
            "started": T0,
            "finished": T0 + 3,
            "source": "bot",
            "planned": 1,
            "done": 1,
            "outcome": "done",
        }
    ],
    "apply_actions": [
        {
            "run_id": 1,
            "seq": 0,
            "key": "vaucluse",
            "op": "create_room",
            "body": _j({"name": "Vaucluse"}),
            "status": "done",
            "done_at": T0 + 3,
        }
    ],
    "requests": [
        {
            "source": "dm",
            "user_id": NURSE,
            "dm_room": DM,
            "name": "Corinne Durand",
            "profession": "infirmier",
            "territory": "vaucluse",
            "email": "c.durand@example.org",
            "structure": "Cabinet des Lices",
            "rpps": "10101234564",
            "submitted_by": NURSE,
            "status": "approved",
            "card_event": "$card-1",
            "created": T0 + 20,
            "decided": T0 + 30,
            "locale": "fr",
            "source_event": "$join-1",
        },
        {
            "source": "web",
            "user_id": None,
            "name": "Paul Martin",
            "profession": "médecin",
            "territory": "vaucluse",
            "email": "p.martin@example.org",
            "adeli": "123456789",
            "submitted_by": "web",
            "status": "pending",
            "created": T0 + 40,
            "status_hash": "hash-status-2",
            "locale": "en",
            "email_hash": "hash-mail-2",
            "confirmed": T0 + 45,
        },
    ],
    "decisions": [
        {
            "request_id": 1,
            "admin": ADMIN,
            "decision": "approve",
            "note": "vue au téléphone",
            "at": T0 + 30,
            "event_id": "$approve",
        }
    ],
    "members": [
        {
            "user_id": NURSE,
            "request_id": 1,
            "territory": "vaucluse",
            "status": "active",
            "since": T0 + 30,
        }
    ],
    "grants": [
        {
            "user_id": NURSE,
            "key": "vaucluse.communaute",
            "source": "membership",
            "granted_by": BOT,
            "at": T0 + 31,
        }
    ],
    "dialogues": [
        {
            "user_id": DOCTOR,
            "room_id": "!dm-paul:agora.test",
            "step": "name",
            "fields": _j({}),
            "locale": "fr",
            "updated": T0 + 50,
        }
    ],
    "messages": [
        {
            "key": "news:1",
            "content": _j({"msgtype": "m.text", "body": "Réunion de la CPTS jeudi"}),
            "version": 1,
            "created": T0 + 60,
        },
        {
            "key": "alert:1",
            "content": _j({"msgtype": "m.text", "body": "Canicule : niveau 3"}),
            "version": 1,
            "created": T0 + 70,
        },
    ],
    "deliveries": [
        {
            "message": "news:1",
            "room_id": COMMUNITY,
            "version": 1,
            "event_id": "$news-1",
            "at": T0 + 61,
        },
        {"message": "alert:1", "room_id": COMMUNITY, "version": 0},
    ],
    "news": [
        {
            "territory": "vaucluse",
            "text": "Réunion de la CPTS jeudi",
            "author": ADMIN,
            "public": 1,
            "origin": "command",
            "created": T0 + 60,
        }
    ],
    "public_items": [
        {
            "message": "news:1",
            "territory": "vaucluse",
            "subtree": 1,
            "title": "Réunion de la CPTS jeudi",
            "published": T0 + 61,
        }
    ],
    "alerts": [
        {
            "territory": "vaucluse",
            "level": "warning",
            "text": "Canicule : niveau 3",
            "author": ADMIN,
            "origin": "command",
            "created": T0 + 70,
            "reminded": 0,
        }
    ],
    "acks": [{"alert_id": 1, "user_id": NURSE, "via": "reaction", "at": T0 + 80}],
    "feeds": [
        {
            "url": "https://ars.example.org/actualites.rss",
            "territory": "vaucluse",
            "rooms": _j(["vaucluse.communaute"]),
            "every": 1800.0,
            "filter": None,
            "public": 0,
            "origin": "command",
            "added_by": ADMIN,
            "created": T0 + 90,
            "title": "ARS",
            "etag": '"abc"',
            "last_fetch": T0 + 100,
            "last_ok": T0 + 100,
            "errors": 0,
            "next_at": T0 + 1900,
            "primed": 1,
        }
    ],
    "feed_entries": [
        {"feed_id": 1, "key": "guid-1", "digest": "d1", "message": None, "seen": T0 + 100}
    ],
    "jobs": [
        {
            "kind": "alerts.remind",
            "payload": _j({"alert_id": 1}),
            "status": "pending",
            "attempts": 0,
            "next_at": T0 + 7270,
            "created": T0 + 70,
        },
        {
            "kind": "news.poll",
            "payload": _j({"feed": 1}),
            "status": "pending",
            "attempts": 0,
            "next_at": T0 + 1900,
            "created": T0 + 90,
            "runs": 3,
        },
        {
            "kind": "vetting.conclude",
            "payload": _j({"request_id": 1}),
            "status": "done",
            "attempts": 1,
            "next_at": T0 + 30,
            "created": T0 + 30,
            "done_at": T0 + 32,
        },
    ],
    "policy_rules": [
        {
            "room_id": "!policy:agora.test",
            "state_key": "rule:@spam:evil.example",
            "kind": "m.policy.rule.user",
            "entity": "@spam:evil.example",
            "recommendation": "m.ban",
            "reason": "Spam",
            "sender": BOT,
            "at": T0 + 110,
            "status": "active",
        }
    ],
    "holds": [
        {
            "kind": "rule",
            "room_id": "!policy-peer:other.test",
            "rule_kind": "m.policy.rule.server",
            "state_key": "rule:evil.example",
            "entity": "evil.example",
            "sender": "@agora:other.test",
            "users": _j([NURSE]),
            "why": "wide",
            "status": "pending",
            "created": T0 + 120,
        }
    ],
    "groups": [
        {
            "key": "vaucluse.cellule-canicule",
            "territory": "vaucluse",
            "name": "Cellule canicule",
            "visibility": "private",
            "room_id": "!cellule:agora.test",
            "created_by": ADMIN,
            "created": T0 + 130,
        }
    ],
    "pinned_keys": [
        {"user_id": ADMIN, "master": "master-admin", "pinned_at": T0, "pinned_by": "first-sight"}
    ],
    "key_changes": [
        {"user_id": DOCTOR, "old": "master-old", "new": "master-new", "seen": T0 + 140}
    ],
    "megolm_seen": [
        {"device_curve": "curve-admin", "session": "session-1", "idx": 0, "event_id": "$ping"}
    ],
    "outcomes": [{"key": "alert\x1f$alert-1", "value": _j([1, 1]), "at": T0 + 70}],
    "noted": [{"key": "unencrypted:" + CONTROL, "at": T0 + 150}],
    "hook_seen": [{"signature": "sig-1", "at": T0 + 160}],
    "web_posts": [{"client": "127.0.0.1", "at": T0 + 170}],
    "events": [
        {
            "kind": "reaction",
            "room_id": CONTROL,
            "event_id": "$reaction-1",
            "payload": _j({"key": "✅", "relates_to": "$card-1", "sender": ADMIN}),
            "status": "done",
            "created": T0 + 29,
            "done_at": T0 + 30,
        }
    ],
    "roster_slots": [
        {
            "territory": "vaucluse",
            "role": "garde",
            "start": T0 + 86_400,
            "end": T0 + 2 * 86_400,
            "member": NURSE,
            "updated": T0 + 180,
        },
        {
            "territory": "vaucluse",
            "role": "garde",
            "start": T0 + 2 * 86_400,
            "end": T0 + 3 * 86_400,
            "member": None,
            "updated": T0 + 180,
        },
    ],
    "roster_notices": [{"slot_id": 1, "kind": "remind", "at": T0 + 190}],
    "roster_offers": [
        {
            "id": 1,
            "territory": "vaucluse",
            "kind": "release",
            "slot_id": 1,
            "by_member": NURSE,
            "status": "proposed",
            "created": T0 + 200,
            "updated": T0 + 200,
        }
    ],
    "roster_offer_events": [{"event_id": "$offer-1", "offer_id": 1, "role": "announce"}],
    "calendar_links": [{"digest": "digest-1", "user_id": NURSE, "created": T0 + 210}],
    "absences": [
        {
            "territory": "vaucluse",
            "member": NURSE,
            "replacement": DOCTOR,
            "start": T0 + 10 * 86_400,
            "end": T0 + 20 * 86_400,
            "note": "congés",
            "rooms": _j(["vaucluse.communaute"]),
            "status": "planned",
            "created": T0 + 220,
            "updated": T0 + 220,
        }
    ],
    "welcomes": [
        {
            "user_id": NURSE,
            "territory": "vaucluse",
            "welcomed_by": ADMIN,
            "at": T0 + 230,
            "prompt_event": "$welcome-1",
            "introduce": 1,
            "town": "Avignon",
        }
    ],
    "directory_entries": [
        {
            "user_id": NURSE,
            "content": _j({"name": "Corinne Durand", "profession": "infirmier"}),
            "event_id": "$dir-1",
            "published": T0 + 240,
        }
    ],
    "languages": [{"user_id": DOCTOR, "locale": "en", "chosen": T0 + 250}],
    "polls": [
        {
            "id": 1,
            "author": ADMIN,
            "question": "Réunion le mardi ou le jeudi ?",
            "answers": _j(["Mardi", "Jeudi"]),
            "scope": "vaucluse",
            "closes": T0 + 86_400,
            "status": "open",
            "closed_at": None,
            "created": T0 + 260,
            "updated": T0 + 260,
        }
    ],
    "poll_rooms": [
        {
            "poll_id": 1,
            "room_id": COMMUNITY,
            "start_event": "$poll-start-1",
            "end_event": None,
            "result_event": None,
        }
    ],
    "poll_responses": [
        {
            "event_id": "$poll-answer-1",
            "poll_id": 1,
            "room_id": COMMUNITY,
            "sender": NURSE,
            "ts": int((T0 + 270) * 1000),
            "answers": _j(["a0"]),
            "redacted": 0,
        }
    ],
    "documents": [
        {
            "id": 1,
            "event_id": "$doc-1",
            "room_id": COMMUNITY,
            "sender": DOCTOR,
            "name": "Protocole canicule.pdf",
            "words": "protocole canicule.pdf",
            "msgtype": "m.file",
            "mimetype": "application/pdf",
            "size": 48_213,
            "encrypted": 1,
            "sent_ts": int((T0 + 280) * 1000),
        }
    ],
    "document_readers": [
        {"room_id": COMMUNITY, "user_id": NURSE, "membership": "join", "since": 1},
    ],
    "document_pins": [
        {"territory": "vaucluse", "document_id": 1, "pinned_by": ADMIN, "pinned_at": T0 + 290}
    ],
    "workshops": [
        {
            "id": 1,
            "series": None,
            "cause": "event:$workshop-cmd",
            "territory": "vaucluse",
            "title": "Atelier plaies chroniques",
            "start": T0 + 7 * 86_400,
            "end": T0 + 7 * 86_400 + 7_200,
            "recurrence": "",
            "seats": 12,
            "link": "",
            "place": "Maison de santé, Carpentras",
            "author": ADMIN,
            "status": "open",
            "room_id": COMMUNITY,
            "event_id": "$workshop-1",
            "thread_id": None,
            "created": T0 + 300,
            "updated": T0 + 300,
        }
    ],
    "workshop_seats": [
        {
            "workshop": 1,
            "user_id": NURSE,
            "status": "registered",
            "via": "reaction",
            "reaction": "$seat-reaction-1",
            "created": T0 + 310,
        }
    ],
    "survey_drafts": [
        {
            "user_id": DOCTOR,
            "room_id": DM,
            "step": "question",
            "data": _j({"title": "Charge de travail", "questions": []}),
            "locale": "fr",
            "last_event": "$draft-1",
            "updated": T0 + 320,
        }
    ],
    "surveys": [
        {
            "id": 1,
            "author": ADMIN,
            "title": "Conditions d'exercice",
            "questions": _j([{"kind": "scale", "text": "Charge ressentie", "options": []}]),
            "audience": _j({"territories": ["vaucluse"], "professions": ["infirmier"]}),
            "anonymous": 1,
            "closes": T0 + 14 * 86_400,
            "status": "open",
            "secret": "c2VjcmV0LWZpeHR1cmU",
            "created": T0 + 330,
            "origin": None,
            "remote_id": None,
            "shared": 0,
            "min_group": None,
        }
    ],
    "survey_deliveries": [{"survey_id": 1, "user_id": NURSE, "status": "sent"}],
    "survey_turns": [{"user_id": NURSE, "survey_id": 1, "editing": None, "last_event": "$q1"}],
    "survey_responses": [
        {
            "survey_id": 1,
            "token": "jeton-1",
            "territory": "vaucluse",
            "profession": "infirmier",
            "who": None,
            "position": 1,
            "finished": 0,
        }
    ],
    "survey_answers": [{"survey_id": 1, "token": "jeton-1", "question": 0, "value": "4"}],
}


def _columns(db: sqlite3.Connection, table: str) -> dict[str, tuple[bool, bool]]:
    """Each column → (required: NOT NULL without a default, part of the primary key)."""
    return {
        row[1]: (bool(row[3]) and row[4] is None, bool(row[5]))
        for row in db.execute(f'PRAGMA table_info("{table}")')
    }


def fill(path: Path) -> list[str]:
    """Insert ``ROWS`` into the store at ``path``; return what could not go in, said."""
    notes = []
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("BEGIN")
    for table, rows in ROWS.items():
        columns = _columns(db, table)
        if not columns:
            notes.append(f"{table}: no such table at this version, skipped")
            continue
        for row in rows:
            kept = {k: v for k, v in row.items() if k in columns}
            missing = [c for c, (required, key) in columns.items() if required and c not in kept]
            if missing:
                raise SystemExit(f"{table}: the rows lack {', '.join(missing)} (NOT NULL)")
            names = ", ".join(f'"{k}"' for k in kept)
            marks = ", ".join("?" for _ in kept)
            db.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', list(kept.values()))
        dropped = sorted({k for row in rows for k in row} - columns.keys())
        if dropped:
            notes.append(f"{table}: no column {', '.join(dropped)} at this version")
    db.execute("UPDATE schema_version SET applied = ? + version", (T0,))  # stable times
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    empty = sorted(tables - ROWS.keys() - {"schema_version", "sqlite_sequence"})
    if empty:
        notes.append(f"no rows for: {', '.join(empty)} (add some to ROWS)")
    db.execute("COMMIT")
    db.close()
    return notes


async def make(version: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agora.db"
        store = await Store.open(path, up_to=version)
        assert await store.version() == version
        await store.close()
        for note in fill(path):
            print(note, file=sys.stderr)
        db = sqlite3.connect(path)
        lines = list(db.iterdump())
        db.close()
    header = (
        f"-- The bot's store at schema version {version}, with representative rows: made by\n"
        f"-- tools/store_fixture.py --version {version} (see it); loaded by\n"
        "-- tests/test_upgrades_unit.py, which migrates it to the current schema.\n"
    )
    return header + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--version",
        type=int,
        default=len(MIGRATIONS) - 1,
        help=f"the schema version to make (default: {len(MIGRATIONS) - 1}, the previous one)",
    )
    parser.add_argument(
        "--output", type=Path, help="where (default: tests/data/store-v<version>.sql)"
    )
    args = parser.parse_args()
    if not 1 <= args.version <= len(MIGRATIONS):
        raise SystemExit(f"--version: between 1 and {len(MIGRATIONS)}")
    output = args.output or ROOT / "tests" / "data" / f"store-v{args.version}.sql"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(asyncio.run(make(args.version)))
    print(f"{output.relative_to(ROOT) if output.is_relative_to(ROOT) else output} written")


if __name__ == "__main__":
    main()
