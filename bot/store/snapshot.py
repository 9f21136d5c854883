"""Copies of SQLite databases that may be in use (the bot's store, nio's crypto store, the
embedded Synapse's database), for ``agora-bot backup``: SQLite's online backup API, never a
copy of the file, which a writer could change half-way through (and whose WAL would be left
behind). And the schema version a copy holds, for ``agora-bot restore``."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

HEADER = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")  # what SQLite keeps beside a database while in use
PATIENCE = 60.0  # seconds a copy waits for a writer's lock (the rollback-journal kind)


class CopyFailed(RuntimeError):
    pass


def is_database(path: Path) -> bool:
    """An SQLite database file (by its header; an empty file is none)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(HEADER)) == HEADER
    except OSError:
        return False


def copy(source: Path, target: Path) -> None:
    """A consistent copy of ``source`` written to ``target`` (mode 0600), the database in use
    or not: one backup step, so the copy is one read transaction's view (a WAL database's
    writers go on meanwhile; a rollback-journal one's wait for it, as for any reader). The
    copy is checked (``quick_check``) before it is trusted."""
    # mode=rw: never creates a database that vanished since it was listed.
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True, timeout=PATIENCE)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            (verdict,) = dst.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise CopyFailed(f"{source}: its copy fails SQLite's check ({verdict})")
            # One file that stands alone: no WAL beside it to carry.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise CopyFailed(f"{source}: {exc}") from exc
    finally:
        src.close()


def schema_version(path: Path) -> int:
    """The Agora store schema version of the database at ``path`` (0: none recorded), read
    without changing the file."""
    db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        tables = db.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()[0]
        if not tables:
            return 0
        return int(db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)
    finally:
        db.close()
