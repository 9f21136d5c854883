"""Upgrades: a store an earlier release left migrates forward in place, its data kept and its
schema the same as a fresh store's; a store newer than the code is refused in one line by
every command that opens it, and by ``restore`` before anything is written."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.backup import backup
from bot.store import Store, StoreTooNew
from bot.store.migrations import MIGRATIONS
from bot.store.snapshot import schema_version
from bot.store.vetting import VettingStore
from tests.conftest import agora_cli
from tools import store_fixture as made

FIXTURES = sorted((Path(__file__).parent / "data").glob("store-v*.sql"))


def _load(fixture: Path, path: Path) -> int:
    db = sqlite3.connect(path)
    db.executescript(fixture.read_text())
    db.close()
    return int(fixture.stem.removeprefix("store-v"))


def _schema(path: Path) -> set[tuple[str, str, str, str]]:
    """sqlite_master without what depends on the file's history (root pages, spacing)."""
    db = sqlite3.connect(path)
    rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    db.close()
    return {(kind, name, table, " ".join((sql or "").split())) for kind, name, table, sql in rows}


def _counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    counts = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    db.close()
    return counts


def test_there_is_a_store_of_the_previous_schema_version():
    assert f"store-v{len(MIGRATIONS) - 1}" in [f.stem for f in FIXTURES]


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.stem)
async def test_a_store_an_earlier_release_left_is_migrated_in_place(
    fixture: Path, tmp_path, caplog
):
    path = tmp_path / "agora.db"
    version = _load(fixture, path)
    assert schema_version(path) == version < len(MIGRATIONS)
    before = _counts(path)

    with caplog.at_level(logging.INFO, logger="bot.store"):
        store = await Store.open(path)
    assert await store.version() == len(MIGRATIONS)
    assert caplog.messages == [f"store migrated from schema version {version} to {len(MIGRATIONS)}"]
    # What the bot reads through today's code is what the earlier release wrote.
    assert await store.instance() == "0123456789abcdef"  # its transaction ids go on
    assert await store.get("sync_token") == "s42_1_0_1_1_1_1_1_1"  # no full sync again
    assert await store.command_outcome("$ping") == "ok"  # an answered command stays answered
    (pending,) = await store.pending_events()
    assert (pending.event_id, pending.body, pending.attempts) == ("$status-pending", "!status", 1)
    assert await store.room_kind(made.CONTROL) == "control"
    assert await store.dm_with(made.NURSE) == made.DM
    assert {r.key: r.room_id for r in await store.managed_rooms()} == {
        "vaucluse": made.SPACE,
        "vaucluse.communaute": made.COMMUNITY,
    }
    assert [j.kind for j in await store.open_jobs()] == ["alerts.remind", "news.poll"]
    assert await store.language_of(made.DOCTOR) == "en"
    assert await store.language_of(made.NURSE) == "fr"  # from her request
    vetting = VettingStore(store)
    assert await vetting.member_territory(made.NURSE) == "vaucluse"
    request = await vetting.request(1)
    assert request is not None and request.status == "approved"
    assert [d.admin for d in await vetting.decisions(1)] == [made.ADMIN]
    await store.close()

    after = _counts(path)
    assert after.pop("schema_version") == len(MIGRATIONS)
    before.pop("schema_version")
    assert {t: n for t, n in after.items() if t in before} == before  # no row lost
    fresh = tmp_path / "fresh.db"
    await (await Store.open(fresh)).close()
    assert _schema(path) == _schema(fresh)


async def test_a_store_newer_than_the_code_is_refused_and_left_as_it_is(tmp_path):
    path = _too_new(tmp_path)
    with pytest.raises(StoreTooNew) as refused:
        await Store.open(path)
    assert str(refused.value) == (
        f"{path}: the database is at schema version {len(MIGRATIONS) + 1}, newer than this "
        f"agora-bot knows ({len(MIGRATIONS)}): a downgrade is refused; run the newer agora-bot "
        "again, or restore a backup made before the upgrade"
    )
    assert schema_version(path) == len(MIGRATIONS) + 1


def _too_new(tmp_path: Path) -> Path:
    """A data directory whose store a later agora-bot migrated one version further."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "agora.db"
    db = sqlite3.connect(path)
    db.executescript(FIXTURES[-1].read_text())
    db.executemany(
        "INSERT INTO schema_version VALUES (?, 0)",
        [(v,) for v in range(schema_version(path) + 1, len(MIGRATIONS) + 2)],
    )
    db.commit()
    db.close()
    session = {"user_id": "@agora:localhost", "device_id": "DEV", "access_token": "t"}
    (data / "bot-session.json").write_text(json.dumps(session | {"pickle_key": "k"}))
    return path


@pytest.mark.parametrize(
    "command", ["run", "plan", "apply", "export-members", "export-roster --territory x"]
)
async def test_every_command_refuses_a_newer_store_in_one_line(command: str, tmp_path):
    data = _too_new(tmp_path).parent
    done = await agora_cli(
        *command.split(), "--config", "config.example.yaml", "--data-dir", str(data)
    )
    assert done.returncode == 1, done
    assert done.stderr.strip().splitlines() == [
        f"{command.split()[0]} refused: {data / 'agora.db'}: the database is at schema version "
        f"{len(MIGRATIONS) + 1}, newer than this agora-bot knows ({len(MIGRATIONS)}): a "
        "downgrade is refused; run the newer agora-bot again, or restore a backup made before "
        "the upgrade"
    ], done.stderr
    assert not (data / "synapse").exists()  # refused before anything was started


async def test_restore_refuses_a_backup_newer_than_the_code_before_writing(tmp_path):
    data = _too_new(tmp_path).parent
    archive = backup(data, tmp_path / "newer.tar.gz", say=lambda _: None).path
    target = tmp_path / "restored"
    done = await agora_cli("restore", str(archive), "--data-dir", str(target))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"restore failed: {archive}: its store is at schema version {len(MIGRATIONS) + 1}, "
        f"newer than this agora-bot knows ({len(MIGRATIONS)}): restore it with agora-bot "
        f"{json.loads(_manifest(archive))['agora_bot_version']} or newer; nothing was restored"
    ]
    assert not target.exists()


def _manifest(archive: Path) -> bytes:
    import tarfile

    with tarfile.open(archive) as tar:
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        return handle.read()
