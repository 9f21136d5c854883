"""``agora-bot backup`` and ``restore`` on data directories made here: what an archive holds
and leaves out, that it is private from its first byte, that a database in use is copied as
committed, and that a restore checks everything before it writes, keeps what it replaces,
and never leaves a directory half old, half new."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import sqlite3
import tarfile
from pathlib import Path

import pytest

from bot import backup as backups
from bot import cli
from bot.backup import BackupError, backup, restore
from bot.datadir import DataDirLock, holder
from bot.store import Store
from bot.store.migrations import MIGRATIONS

SESSION = {"user_id": "@agora:localhost", "device_id": "AGORADEV", "access_token": "syt_x"}


def _database(path: Path, rows: list[str], *, wal: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [(r,) for r in rows])
    db.commit()
    db.close()


async def _data_dir(root: Path, *, embedded: bool = True) -> Path:
    """A data directory as a running bot (with its embedded homeserver) leaves one."""
    data = root / "data"
    data.mkdir(mode=0o700, parents=True)
    store = await Store.open(data / "agora.db")
    await store.put("display_name", "Agora")
    await store.close()
    _database(data / "crypto" / "@agora:localhost_AGORADEV.db", ["olm account"])
    (data / "bot-session.json").write_text(json.dumps(SESSION | {"pickle_key": "pk"}))
    (data / "cross-signing.json").write_text('{"master": "m"}')
    (data / "calendar.key").write_bytes(os.urandom(32))
    (data / "mail").mkdir()
    (data / "mail" / "confirm-1.eml").write_text("Subject: confirmez\n")
    _database(data / "directory.db", ["RPPS"])
    for transient in ("agora.lock", "reconcile.lock", "directory.lock", "bot-session.json.tmp"):
        (data / transient).write_text("")
    (data / "matplotlib").mkdir()
    (data / "matplotlib" / "fontlist.json").write_text("{}")
    if embedded:
        synapse = data / "synapse"
        _database(synapse / "homeserver.db", ["users"], wal=True)
        (synapse / "signing.key").write_text("ed25519 a_x c2VlZA\n")
        (synapse / "secrets.json").write_text('{"registration_shared_secret": "s"}')
        (synapse / "bot-password").write_text("hunter2")
        (synapse / "media_store" / "local_content" / "ab").mkdir(parents=True)
        (synapse / "media_store" / "local_content" / "ab" / "cdef").write_bytes(os.urandom(3000))
        for remade in ("homeserver.yaml", "log.config", "homeserver.log", "homeserver.log.1"):
            (synapse / remade).write_text("made again at each start")
        (synapse / "synapse.pid").write_text("12345\n")
        (data / "credentials.json").write_text('{"users": {"@admin:localhost": "pw"}}')
    return data


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its content (None for a folder)."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        out = {}
        for member in tar:
            handle = tar.extractfile(member)
            assert handle is not None
            out[member.name] = handle.read()
        return out


def _quiet(_: str) -> None:
    pass


async def test_a_backup_holds_the_bot_and_its_homeserver_and_leaves_out_what_is_made_again(
    tmp_path,
):
    data = await _data_dir(tmp_path)
    said: list[str] = []
    done = backup(data, tmp_path, say=said.append)
    assert done.path.parent == tmp_path and done.path.name.startswith("agora-backup-")
    members = _members(done.path)
    assert sorted(members) == [
        "data/agora.db",
        "data/bot-session.json",
        "data/calendar.key",
        "data/credentials.json",
        "data/cross-signing.json",
        "data/crypto/@agora:localhost_AGORADEV.db",
        "data/mail/confirm-1.eml",
        "data/synapse/bot-password",
        "data/synapse/homeserver.db",
        "data/synapse/media_store/local_content/ab/cdef",
        "data/synapse/secrets.json",
        "data/synapse/signing.key",
        "manifest.json",
    ]
    manifest = json.loads(members["manifest.json"])
    assert manifest["schema_version"] == len(MIGRATIONS)
    assert manifest["agora_bot_version"] == backups.version()
    assert (manifest["bot_user_id"], manifest["device_id"]) == ("@agora:localhost", "AGORADEV")
    assert manifest["embedded_homeserver"] is True
    assert manifest["left_out"] == ["directory.db"]
    for entry in manifest["files"]:
        content = members["data/" + entry["path"]]
        assert entry["size"] == len(content)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    # The databases first, the bot's store before the homeserver's before the crypto store.
    assert [f["path"] for f in manifest["files"]][:3] == [
        "agora.db",
        "synapse/homeserver.db",
        "crypto/@agora:localhost_AGORADEV.db",
    ]
    assert [f["database"] for f in manifest["files"]][:4] == [True, True, True, False]
    assert said[0] == (
        f"agora.db: {backups.size_text(len(members['data/agora.db']))}, schema version "
        f"{len(MIGRATIONS)} (copied online)"
    )
    assert any(s.startswith("left out: directory.db (the national directory") for s in said)
    assert oct(done.path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers

    with_directory = backup(data, tmp_path / "full.tar.gz", with_directory=True, say=_quiet)
    assert "data/directory.db" in _members(with_directory.path)
    assert with_directory.manifest.left_out == ()


async def test_the_archive_is_private_from_its_first_byte(tmp_path):
    data = await _data_dir(tmp_path)
    modes: list[int] = []

    def look(_: str) -> None:  # said while the archive is being written (and after)
        for partial in [p for p in tmp_path.iterdir() if p.name.endswith(".part")]:
            modes.append(partial.stat().st_mode & 0o777)

    before = os.umask(0)  # whatever the operator's umask
    try:
        done = backup(data, tmp_path / "b.tar.gz", say=look)
    finally:
        os.umask(before)
    assert modes and set(modes) == {0o600}
    assert done.path.stat().st_mode & 0o777 == 0o600


async def test_a_database_in_use_is_copied_as_committed(tmp_path):
    data = await _data_dir(tmp_path)
    store = sqlite3.connect(data / "agora.db", isolation_level=None)
    store.execute("PRAGMA wal_autocheckpoint=0")  # what was committed stays in the WAL
    store.execute("INSERT INTO kv VALUES ('committed', '1')")
    store.execute("BEGIN IMMEDIATE")  # a writer at work during the copy
    store.execute("INSERT INTO kv VALUES ('uncommitted', '1')")
    try:
        done = backup(data, tmp_path / "b.tar.gz", say=_quiet)
    finally:
        store.execute("ROLLBACK")
        store.close()
    restore(done.path, tmp_path / "restored", say=_quiet)
    copy = sqlite3.connect(tmp_path / "restored" / "agora.db")
    keys = {k for (k,) in copy.execute("SELECT key FROM kv")}
    copy.close()
    assert "committed" in keys and "uncommitted" not in keys


async def test_restore_puts_every_file_back_private_into_a_fresh_directory(tmp_path):
    data = await _data_dir(tmp_path)
    done = backup(data, tmp_path / "b.tar.gz", say=_quiet)
    target = tmp_path / "fresh" / "agora"
    before = os.umask(0)
    try:
        restored = restore(done.path, target, say=_quiet)
    finally:
        os.umask(before)
    assert restored.aside is None
    files = {
        str(p.relative_to(target)): p
        for p in target.rglob("*")
        if p.is_file() and p.name != "agora.lock"
    }
    assert sorted(files) == sorted(f.path for f in done.manifest.files)
    for entry in done.manifest.files:
        assert hashlib.sha256(files[entry.path].read_bytes()).hexdigest() == entry.sha256
    for path in [target, *target.rglob("*")]:
        want = 0o700 if path.is_dir() else 0o600
        assert path.stat().st_mode & 0o777 == want, path
    store = await Store.open(target / "agora.db")  # opens as the bot would
    assert await store.get("display_name") == "Agora"
    await store.close()


async def test_restore_refuses_a_bot_s_data_unless_forced_and_keeps_it_aside(tmp_path):
    data = await _data_dir(tmp_path, embedded=False)
    done = backup(data, tmp_path / "b.tar.gz", say=_quiet)
    other = await _data_dir(tmp_path / "other")
    (other / "synapse" / "homeserver.log").write_text("kept aside too")
    old = _tree(other)

    with pytest.raises(BackupError) as refused:
        restore(done.path, other, say=_quiet)
    assert str(refused.value) == (
        f"{other} already holds a bot's data (agora.db, bot-session.json, "
        "bot-session.json.tmp, calendar.key, credentials.json, cross-signing.json, …): nothing "
        f"was restored; --force to replace it (its files are then kept in {other}/"
        "before-restore-<date>)"
    )
    assert _tree(other) == old

    restored = restore(done.path, other, force=True, say=_quiet)
    aside = restored.aside
    assert aside is not None and aside.parent == other
    assert aside.name.startswith("before-restore-")
    # Everything of the bot's moved aside as it was; the lock, caches and the directory's
    # copy (public data, not in this backup) stay in place.
    kept = {k: v for k, v in old.items() if not backups.transient(k.split("/")[0])}
    kept = {k: v for k, v in kept.items() if not k.startswith("directory.")}
    assert _tree(aside) == kept
    assert (other / "directory.db").exists() and (other / "matplotlib").is_dir()
    assert not (other / "synapse").exists()  # the backup had no homeserver
    assert (other / "bot-session.json").read_bytes() == (data / "bot-session.json").read_bytes()
    assert [p.name for p in other.iterdir() if p.name.startswith(".restore-")] == []


async def test_a_damaged_archive_changes_nothing(tmp_path):
    data = await _data_dir(tmp_path)
    good = backup(data, tmp_path / "good.tar.gz", say=_quiet).path
    target = await _data_dir(tmp_path / "target", embedded=False)
    old = _tree(target)
    raw = good.read_bytes()

    def variant(name: str, content: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    damaged = {
        "flipped.tar.gz": (variant("flipped.tar.gz", bytes(flipped)), "damaged"),
        "cut.tar.gz": (variant("cut.tar.gz", raw[: len(raw) * 2 // 3]), "damaged"),
        "other.tar.gz": (variant("other.tar.gz", b"not an archive at all"), "not an Agora"),
        "tampered.tar.gz": (_repacked(good, tmp_path, "data/synapse/signing.key"), "checksum"),
        "unlisted.tar.gz": (_repacked(good, tmp_path, add="data/extra"), "not in its manifest"),
        "unsafe.tar.gz": (_repacked(good, tmp_path, add="data/../../evil"), "unsafe path"),
        "missing.tar.gz": (_repacked(good, tmp_path, drop="data/agora.db"), "missing"),
        "no-manifest.tar.gz": (_repacked(good, tmp_path, drop="manifest.json"), "no manifest"),
    }
    for name, (archive, why) in damaged.items():
        with pytest.raises(BackupError) as refused:
            restore(archive, target, force=True, say=_quiet)
        assert why in str(refused.value), (name, str(refused.value))
        assert _tree(target) == old, name
        assert not (tmp_path / "evil").exists()
    assert cli.main(["restore", str(damaged["flipped.tar.gz"][0]), "--data-dir", str(target)]) == 1


def _repacked(
    archive: Path, tmp_path: Path, change: str = "", *, add: str = "", drop: str = ""
) -> Path:
    """The archive written again with one member's content changed, one added or one left
    out, the manifest as it was."""
    out = tmp_path / f"repacked-{len(list(tmp_path.glob('repacked-*')))}.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(out, "w:gz") as target:
        members = [(m, source.extractfile(m).read()) for m in source]  # type: ignore[union-attr]
        if add:
            members.insert(0, (tarfile.TarInfo(add), b"x"))
        for member, content in members:
            if member.name == drop:
                continue
            if member.name == change:
                content = content + b"!"
            member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    return out


async def test_restore_is_refused_while_a_bot_runs_on_the_directory(tmp_path):
    data = await _data_dir(tmp_path)
    archive = backup(data, tmp_path / "b.tar.gz", say=_quiet).path
    lock = DataDirLock.acquire(data)  # what a running bot holds
    try:
        assert holder(data) == os.getpid()
        old = _tree(data)
        with pytest.raises(BackupError) as refused:
            restore(archive, data, force=True, say=_quiet)
        assert str(refused.value) == (
            f"an agora-bot is running on {data} (pid {os.getpid()}): stop it first; nothing "
            "was restored"
        )
        assert _tree(data) == old
    finally:
        lock.release()
    assert holder(data) is None
    restore(archive, data, force=True, say=_quiet)  # once it has stopped


async def test_a_swap_cut_short_is_undone(tmp_path, monkeypatch):
    data = await _data_dir(tmp_path, embedded=False)
    archive = backup(data, tmp_path / "b.tar.gz", say=_quiet).path
    target = await _data_dir(tmp_path / "target")
    old = _tree(target)
    renames = 0
    real = os.rename

    def failing(source, destination):
        nonlocal renames
        renames += 1
        if renames == 9:  # the old files moved aside, some new ones put in place
            raise OSError(28, "No space left on device")
        return real(source, destination)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(BackupError) as refused:
        restore(archive, target, force=True, say=_quiet)
    monkeypatch.undo()
    assert "nothing was restored (" in str(refused.value)
    assert _tree(target) == old


async def test_backup_names_what_stops_it(tmp_path, capsys):
    data = await _data_dir(tmp_path)
    cases = [
        (tmp_path / "nowhere", tmp_path / "b.tar.gz", "does not exist"),
        (tmp_path, tmp_path / "b.tar.gz", "holds no agora.db"),
        (data, data / "b.tar.gz", "inside the data directory"),
        (data, data / "crypto", "inside the data directory"),
        (data, tmp_path / "missing" / "b.tar.gz", "is not a directory"),
        (data, Path("/proc/agora.tar.gz"), "cannot write /proc/agora.tar.gz"),
    ]
    for data_dir, output, why in cases:
        with pytest.raises(BackupError) as refused:
            backup(data_dir, output, say=_quiet)
        assert why in str(refused.value), str(refused.value)
    code = cli.main(["backup", "--data-dir", str(tmp_path / "nowhere"), "--output", "x.tar.gz"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("backup failed: ") and err.count("\n") == 1


def test_the_backup_unit_runs_the_command_on_the_bot_s_own_data_directory():
    """deploy/agora-backup.service as systemd would run it: a command line agora-bot takes,
    as the bot's user, on the state directory agora-bot.service gives the bot."""

    def settings(name: str) -> dict[str, str]:
        lines = (Path(__file__).parent.parent / "deploy" / name).read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line and line[0] != "#")

    unit, bot = settings("agora-backup.service"), settings("agora-bot.service")
    assert (unit["User"], unit["StateDirectory"]) == (bot["User"], bot["StateDirectory"])
    binary, *args = shlex.split(unit["ExecStart"].replace("${STATE_DIRECTORY}", "/var/lib/agora"))
    assert binary == bot["ExecStart"].split()[0]
    parsed = cli._parser().parse_args(args)
    assert parsed.command == "backup"
    assert (parsed.data_dir, parsed.output) == (Path("/var/lib/agora"), Path("/var/backups/agora"))
    assert unit["ReadWritePaths"] == str(parsed.output)
    assert "agora-backup-*.tar.gz" in unit["ExecStartPost"]
