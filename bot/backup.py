"""``agora-bot backup`` and ``agora-bot restore``: the data directory in one archive, taken
while the bot runs, and put back whole or not at all.

The archive is a gzipped tar: ``data/<path>`` for each file, then ``manifest.json`` (the
agora-bot version, the store's schema version, the date, each file's size and SHA-256). It
holds the bot's store, nio's crypto store, the session, the cross-signing keys, the other
secrets the bot keeps (``calendar.key``, an embedded homeserver's ``credentials.json``), the
mails written without SMTP, and, with the embedded homeserver, Synapse's database, signing
key, secrets and media. Left out: what is made again (locks, caches, the embedded
homeserver's config and logs, rewritten at each start) and, unless asked, the national
directory's copy: public data, which the bot downloads again (or an operator loads).

Each SQLite database is copied with SQLite's backup API (``bot.store.snapshot``), the bot's
store first, then the embedded homeserver's, then the crypto store: a restore then finds the
homeserver at least as far as the store, as after a crash (which the bot recovers from: its
effects are idempotent), and the crypto store at least as far as both (no room key or
one-time key the homeserver handed out missing from it)."""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from bot.datadir import LOCK_NAME, DataDirBusy, DataDirLock, holder
from bot.errors import AgoraError
from bot.store import snapshot
from bot.store.migrations import MIGRATIONS
from bot.version import version

FORMAT = "agora-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PREFIX = "data/"
STORE = "agora.db"
DIRECTORY = "directory.db"
SYNAPSE_DB = "synapse/homeserver.db"
ASIDE = "before-restore-"  # where a forced restore keeps the files it replaced
STAGING = ".restore-"  # a restore's files before they are put in place

# Never backed up: locks, caches and leftovers of the bot's own (top level of the data dir)…
# Locks (agora, reconcile, directory), a download under way, matplotlib's cache.
_TRANSIENT = {"directory.download", "matplotlib"}
_TRANSIENT_SUFFIXES = (".lock",)
_TRANSIENT_PREFIXES = (ASIDE, STAGING, "directory.next.db", "calendar.key.")


def transient(name: str) -> bool:
    """A name at the top of the data dir that is never backed up nor moved aside."""
    return (
        name in _TRANSIENT
        or name.startswith(_TRANSIENT_PREFIXES)
        or name.endswith(_TRANSIENT_SUFFIXES)
    )


# … and what the embedded homeserver's start writes again (its config from the bot's, logs).
_SYNAPSE_REMADE = {"homeserver.yaml", "log.config", "stderr.log", "homeserver.pid", "synapse.pid"}
_DIRECTORY_FILES = (DIRECTORY, *(DIRECTORY + s for s in snapshot.SIDE_FILES))

Say = Callable[[str], None]


class BackupError(AgoraError):
    """What stops a backup or a restore, in one line for the operator."""


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the data directory, with '/'
    size: int
    sha256: str
    database: bool = False  # an SQLite database, copied with the backup API


@dataclass(frozen=True)
class Manifest:
    agora_bot_version: str
    schema_version: int
    created: str  # ISO 8601, UTC
    files: tuple[FileEntry, ...]
    left_out: tuple[str, ...] = ()
    bot_user_id: str | None = None
    device_id: str | None = None
    embedded_homeserver: bool = False
    data_dir: str = ""

    def to_json(self) -> bytes:
        body: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
        body |= {k: v for k, v in self.__dict__.items() if k != "files"}
        body["left_out"] = list(self.left_out)
        body["files"] = [f.__dict__ for f in self.files]
        return json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            body = json.loads(raw)
            if body.get("format") != FORMAT:
                raise BackupError("its manifest is not an Agora backup's")
            if int(body["format_version"]) > FORMAT_VERSION:
                raise BackupError(
                    f"it is in a newer backup format ({body['format_version']}) than this "
                    f"agora-bot reads ({FORMAT_VERSION}): restore it with a newer agora-bot"
                )
            files = tuple(
                FileEntry(str(f["path"]), int(f["size"]), str(f["sha256"]), bool(f["database"]))
                for f in body["files"]
            )
            return cls(
                agora_bot_version=str(body["agora_bot_version"]),
                schema_version=int(body["schema_version"]),
                created=str(body["created"]),
                files=files,
                left_out=tuple(str(x) for x in body.get("left_out", ())),
                bot_user_id=body.get("bot_user_id"),
                device_id=body.get("device_id"),
                embedded_homeserver=bool(body.get("embedded_homeserver", False)),
                data_dir=str(body.get("data_dir", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"its manifest cannot be read ({exc!r})") from None


# --- what is backed up ---------------------------------------------------------------------


@dataclass
class Inventory:
    databases: list[str] = field(default_factory=list)  # in the order they are copied
    files: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # what a restore does not bring back
    skipped: list[str] = field(default_factory=list)  # links and other non-files


def _transient(rel: PurePosixPath) -> bool:
    top = rel.parts[0]
    if transient(top):
        return True
    if rel.name.endswith(".tmp") or rel.name.endswith(snapshot.SIDE_FILES):
        return True  # a file being written; a database's journal (the copy carries it)
    if top == "synapse" and len(rel.parts) == 2:
        return rel.name in _SYNAPSE_REMADE or rel.name.startswith("homeserver.log")
    return False


def inventory(data_dir: Path, *, with_directory: bool = False) -> Inventory:
    found = Inventory()
    databases = []
    for root, dirs, names in os.walk(data_dir):
        dirs.sort()
        for name in sorted(names) + [d for d in dirs if (Path(root) / d).is_symlink()]:
            path = Path(root) / name
            rel = PurePosixPath(path.relative_to(data_dir).as_posix())
            if _transient(rel):
                continue
            if str(rel) in _DIRECTORY_FILES and not with_directory:
                if str(rel) == DIRECTORY:
                    found.left_out.append(DIRECTORY)
                continue
            if path.is_symlink() or not path.is_file():
                found.skipped.append(str(rel))
            elif snapshot.is_database(path):
                databases.append(str(rel))
            else:
                found.files.append(str(rel))
        dirs[:] = [
            d
            for d in dirs
            if not (Path(root) / d).is_symlink()
            and not _transient(PurePosixPath((Path(root) / d).relative_to(data_dir).as_posix()))
        ]

    def order(rel: str) -> tuple[int, str]:  # see the module's docstring
        first = {STORE: 0, SYNAPSE_DB: 1}.get(rel)
        return (first if first is not None else 2 if rel.startswith("crypto/") else 3, rel)

    found.databases = sorted(databases, key=order)
    return found


# --- backup --------------------------------------------------------------------------------


class _Hashing:
    """A file read through, its SHA-256 taken on the way (``tarfile`` reads it once)."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, source: Path, rel: str, database: bool) -> FileEntry:
    with open(source, "rb") as f:
        size = os.fstat(f.fileno()).st_size  # what is there now (a media file never grows)
        info = tarfile.TarInfo(PREFIX + rel)
        info.size, info.mtime, info.mode = size, int(time.time()), 0o600
        reader = _Hashing(f)
        tar.addfile(info, reader)  # read() is all tarfile needs
    return FileEntry(rel, size, reader.digest.hexdigest(), database)


def _owned(path: Path, what: str) -> None:
    """Files made by another user (root, say) would be unreadable to the bot, or make its
    SQLite side files theirs: the data directory's owner runs these commands."""
    owner = path.stat().st_uid
    if owner != os.geteuid():
        try:
            import pwd

            name = pwd.getpwuid(owner).pw_name
        except (ImportError, KeyError):
            name = str(owner)
        raise BackupError(
            f"{path} belongs to {name}: run {what} as that user (sudo -u {name} agora-bot "
            f"{what} …), so that every file it touches stays theirs"
        )


def _output(output: Path, data_dir: Path) -> Path:
    if output.is_dir():
        output = output / f"agora-backup-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz"
    parent = output.resolve().parent
    if not parent.is_dir():
        raise BackupError(f"cannot write {output}: {parent} is not a directory")
    if parent == data_dir or data_dir in parent.parents:
        raise BackupError(
            f"cannot write {output}: inside the data directory it backs up (each backup would "
            "carry the previous ones, and be lost with it): write it elsewhere"
        )
    return output


def _session(data_dir: Path) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        value = json.loads((data_dir / "bot-session.json").read_text())
        return value if isinstance(value, dict) else {}
    return {}


def size_text(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


@dataclass(frozen=True)
class BackupDone:
    path: Path
    manifest: Manifest
    size: int


def backup(
    data_dir: Path, output: Path, *, with_directory: bool = False, say: Say = print
) -> BackupDone:
    """Write the archive of ``data_dir`` to ``output`` (a file, or a directory to name one in),
    mode 0600 from its first byte: made under a temporary name beside it, renamed once whole."""
    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        raise BackupError(f"{data_dir} does not exist (--data-dir: the bot's data directory)")
    if not (data_dir / STORE).is_file():
        raise BackupError(f"{data_dir} holds no {STORE}: not a bot's data directory (--data-dir)")
    _owned(data_dir, "backup")
    output = _output(output, data_dir)
    found = inventory(data_dir, with_directory=with_directory)
    temporary = output.parent / f".{output.name}.{secrets.token_hex(4)}.part"
    try:
        staging = Path(tempfile.mkdtemp(prefix=".agora-backup-", dir=output.parent))  # 0700
    except OSError as exc:
        raise BackupError(f"cannot write {output}: {exc.strerror or exc}") from None
    done = False
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            manifest = _write(raw, data_dir, found, staging, say)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, output)
        _sync_dir(output.parent)
        done = True
    except OSError as exc:
        raise BackupError(f"nothing written to {output}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            temporary.unlink(missing_ok=True)
    for rel in found.left_out:
        if rel == DIRECTORY:
            with contextlib.suppress(OSError):
                shown = size_text((data_dir / DIRECTORY).stat().st_size)
                say(
                    f"left out: {DIRECTORY} (the national directory's copy, {shown}: public "
                    "data the bot downloads again when directory.url is set, or agora-bot "
                    "import-directory loads; --with-directory to keep it)"
                )
    for rel in found.skipped:
        say(f"skipped: {rel} (not a regular file)")
    size = output.stat().st_size
    return BackupDone(output, manifest, size)


def _write(raw: IO[bytes], data_dir: Path, found: Inventory, staging: Path, say: Say) -> Manifest:
    """The archive written to ``raw``: the databases' copies (all taken before any is
    archived, to keep them close in time), the other files, the manifest last."""
    copies: dict[str, Path] = {}
    for number, rel in enumerate(found.databases):
        copies[rel] = staging / f"{number}.db"
        try:
            snapshot.copy(data_dir / rel, copies[rel])
        except snapshot.CopyFailed as exc:
            if rel == STORE or (data_dir / rel).exists():
                raise BackupError(f"nothing written: {exc}") from None
            del copies[rel]  # gone since it was listed
    schema = snapshot.schema_version(copies[STORE])
    entries: list[FileEntry] = []
    with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tar:
        for rel, copy in copies.items():
            entries.append(_add(tar, copy, rel, database=True))
            copy.unlink()
            extra = f", schema version {schema}" if rel == STORE else ""
            say(f"{rel}: {size_text(entries[-1].size)}{extra} (copied online)")
        groups: dict[str, list[FileEntry]] = {}
        for rel in found.files:
            try:
                entry = _add(tar, data_dir / rel, rel, database=False)
            except FileNotFoundError:
                continue  # gone since it was listed (a mail sent, a media purged)
            entries.append(entry)
            parts = rel.split("/")
            group = "/".join(parts[: 2 if parts[0] == "synapse" else 1])
            groups.setdefault(group, []).append(entry)
        for group, members in groups.items():
            total = size_text(sum(e.size for e in members))
            if len(members) == 1 and members[0].path == group:
                say(f"{group}: {total}")
            else:
                say(f"{group}/: {len(members)} file(s), {total}")
        session = _session(data_dir)
        manifest = Manifest(
            agora_bot_version=version(),
            schema_version=schema,
            created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            files=tuple(entries),
            left_out=tuple(found.left_out),
            bot_user_id=session.get("user_id"),
            device_id=session.get("device_id"),
            embedded_homeserver=any(e.path == SYNAPSE_DB for e in entries),
            data_dir=str(data_dir),
        )
        body = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(body), int(time.time()), 0o600
        tar.addfile(info, io.BytesIO(body))
    return manifest


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- restore -------------------------------------------------------------------------------


_NOTHING = "; nothing was restored"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


_DAMAGE = (OSError, tarfile.TarError, EOFError, zlib.error)  # what a damaged archive raises


@contextlib.contextmanager
def _reading(archive: Path) -> Iterator[tarfile.TarFile]:
    """The archive open for reading, whatever its damage said as a ``BackupError``."""
    try:
        tar = tarfile.open(archive, mode="r:*")
    except FileNotFoundError:
        raise BackupError(f"{archive} does not exist") from None
    except _DAMAGE as exc:
        raise BackupError(
            f"{archive} is not an Agora backup, or is damaged ({_one_line(exc)}); nothing "
            "was restored"
        ) from None
    try:
        with tar:
            yield tar
    except _DAMAGE as exc:
        raise BackupError(
            f"{archive} is damaged ({_one_line(exc)}); nothing was restored"
        ) from None


def _members(archive: Path, tar: tarfile.TarFile) -> Iterator[tuple[tarfile.TarInfo, str]]:
    """Each member as (member, its path in the data directory, or MANIFEST), refusing any
    that could land outside the data directory or is no plain file."""
    seen: set[str] = set()
    for member in tar:
        name = member.name
        if member.isdir() and name.startswith(PREFIX):
            continue
        if name == MANIFEST:
            rel = MANIFEST
        elif name.startswith(PREFIX):
            rel = name[len(PREFIX) :]
            parts = PurePosixPath(rel).parts
            if not parts or rel.startswith("/") or ".." in parts or rel != "/".join(parts):
                raise BackupError(
                    f"{archive}: refused, it holds an unsafe path ({name!r})" + _NOTHING
                )
        else:
            raise BackupError(f"{archive} is not an Agora backup (it holds {name!r})" + _NOTHING)
        if rel.split("/")[0] == LOCK_NAME or rel.startswith((ASIDE, STAGING)):
            raise BackupError(f"{archive}: refused, {name!r} is no file a backup holds" + _NOTHING)
        if not member.isreg():
            raise BackupError(f"{archive}: refused, {name!r} is not a plain file" + _NOTHING)
        if rel in seen:
            raise BackupError(f"{archive}: refused, {name!r} is in it twice" + _NOTHING)
        seen.add(rel)
        yield member, rel


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, sink: Callable[[bytes], Any]) -> str:
    handle = tar.extractfile(member)
    assert handle is not None  # a plain file
    digest = hashlib.sha256()
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        sink(chunk)
    return digest.hexdigest()


def verify(archive: Path) -> Manifest:
    """Every member read and checked against the manifest, nothing written. ``BackupError``
    names the first thing wrong."""
    found: dict[str, tuple[int, str]] = {}
    manifest: Manifest | None = None
    with _reading(archive) as tar:
        for member, rel in _members(archive, tar):
            if rel == MANIFEST:
                handle = tar.extractfile(member)
                assert handle is not None
                try:
                    manifest = Manifest.from_json(handle.read())
                except BackupError as exc:
                    raise BackupError(f"{archive}: {exc}" + _NOTHING) from None
            else:
                found[rel] = (member.size, _read(tar, member, lambda _: None))
    if manifest is None:
        raise BackupError(
            f"{archive} is damaged or cut short, or is not an Agora backup (no {MANIFEST} in "
            "it); nothing was restored"
        )
    listed = {f.path: f for f in manifest.files}
    for rel in sorted(listed.keys() - found.keys()):
        raise BackupError(f"{archive} is incomplete: {rel} is missing; nothing was restored")
    for rel in sorted(found.keys() - listed.keys()):
        raise BackupError(f"{archive}: {rel} is not in its manifest; nothing was restored")
    for rel, (size, digest) in found.items():
        if (size, digest) != (listed[rel].size, listed[rel].sha256):
            raise BackupError(
                f"{archive} is damaged: {rel} does not match its checksum; nothing was restored"
            )
    if STORE not in listed:
        raise BackupError(f"{archive} holds no {STORE}; nothing was restored")
    if manifest.schema_version > len(MIGRATIONS):
        raise BackupError(
            f"{archive}: its store is at schema version {manifest.schema_version}, newer than "
            f"this agora-bot knows ({len(MIGRATIONS)}): restore it with agora-bot "
            f"{manifest.agora_bot_version} or newer; nothing was restored"
        )
    return manifest


def _in_place(name: str, with_directory: bool) -> bool:
    """Entries of the data directory a restore neither replaces nor counts as a bot's data:
    locks, caches, earlier restores' leftovers, and the national directory's copy when the
    backup has none (public data, downloaded again otherwise)."""
    if transient(name):
        return True  # locks and caches, and earlier restores' leftovers
    if name in _DIRECTORY_FILES:
        return not with_directory
    return name.startswith("directory.")


def _present(data_dir: Path, with_directory: bool) -> list[str]:
    if not data_dir.is_dir():
        return []
    return sorted(p.name for p in data_dir.iterdir() if not _in_place(p.name, with_directory))


@dataclass(frozen=True)
class RestoreDone:
    manifest: Manifest
    aside: Path | None  # where the files it replaced were kept


def restore(archive: Path, data_dir: Path, *, force: bool = False, say: Say = print) -> RestoreDone:
    """Put the backup ``archive`` into ``data_dir``: every checksum checked before anything is
    written, the files staged beside their place, then swapped in (the files they replace
    kept in ``<data-dir>/before-restore-<date>``); on any failure the directory is as it
    was. Refused while a bot runs on ``data_dir``, and over a bot's data without ``force``."""
    data_dir = data_dir.resolve()
    if data_dir.exists():
        if not data_dir.is_dir():
            raise BackupError(f"{data_dir} is not a directory")
        _owned(data_dir, "restore")
    if (pid := holder(data_dir)) is not None:
        raise BackupError(str(DataDirBusy(data_dir, pid)) + "; nothing was restored")
    if not force and (present := _present(data_dir, with_directory=False)):
        raise _occupied(data_dir, present)
    manifest = verify(archive)
    who = f" of {manifest.bot_user_id} (device {manifest.device_id})" if manifest.device_id else ""
    say(
        f"{archive.name}: backup{who} taken {manifest.created} by agora-bot "
        f"{manifest.agora_bot_version}, store schema version {manifest.schema_version}; "
        f"{len(manifest.files)} file(s), every checksum matches"
    )
    with_directory = DIRECTORY in {f.path for f in manifest.files}
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    try:
        lock = DataDirLock.acquire(data_dir)
    except DataDirBusy as exc:
        raise BackupError(f"{exc}; nothing was restored") from None
    try:
        present = _present(data_dir, with_directory)
        if present and not force:
            raise _occupied(data_dir, present)
        staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=data_dir))  # mode 0700
        try:
            _extract(archive, manifest, staging)
            aside = _swap(data_dir, staging, present)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _sync_dir(data_dir)
    finally:
        lock.release()
    return RestoreDone(manifest, aside)


def _occupied(data_dir: Path, present: list[str]) -> BackupError:
    shown = ", ".join(present[:6]) + (", …" if len(present) > 6 else "")
    return BackupError(
        f"{data_dir} already holds a bot's data ({shown}): nothing was restored; --force to "
        f"replace it (its files are then kept in {data_dir}/{ASIDE}<date>)"
    )


def _extract(archive: Path, manifest: Manifest, staging: Path) -> None:
    """The archive's files under ``staging`` (directories 0700, files 0600), each checked
    against the manifest again as it is written (the archive could have changed since)."""
    listed = {f.path: f for f in manifest.files}
    with _reading(archive) as tar:
        for member, rel in _members(archive, tar):
            if rel == MANIFEST:
                continue
            target = staging / rel
            try:
                _private_dirs(staging, PurePosixPath(rel).parent)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                out = os.fdopen(fd, "wb")
            except OSError as exc:
                raise BackupError(f"cannot write {target}: {exc}; nothing was restored") from None
            with out:
                digest = _read(tar, member, functools.partial(_write_to, out, target))
                _write_to(out, target, b"", sync=True)
            if rel not in listed or digest != listed[rel].sha256:
                raise BackupError(f"{archive} changed while it was restored; nothing was restored")
    if snapshot.schema_version(staging / STORE) != manifest.schema_version:
        raise BackupError(
            f"{archive}: its {STORE} is not at the schema version its manifest says; nothing "
            "was restored"
        )


def _write_to(out: IO[bytes], path: Path, chunk: bytes, *, sync: bool = False) -> None:
    """A restored file's bytes written (a full disk said as such, not as a damaged archive)."""
    try:
        out.write(chunk)
        if sync:
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise BackupError(f"cannot write {path}: {exc}; nothing was restored") from None


def _private_dirs(root: Path, folder: PurePosixPath) -> None:
    """``root/folder`` and the folders on the way made, each mode 0700."""
    current = root
    for part in folder.parts:
        current = current / part
        with contextlib.suppress(FileExistsError):
            current.mkdir(mode=0o700)


def _swap(data_dir: Path, staging: Path, present: list[str]) -> Path | None:
    """The staged files put in place, what they replace moved aside first; undone if any
    move fails, so the directory is never left half old, half new."""
    aside = None
    if present:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = data_dir / f"{ASIDE}{stamp}"
        n = 1
        while aside.exists():
            n += 1
            aside = data_dir / f"{ASIDE}{stamp}-{n}"
        aside.mkdir(mode=0o700)
    moved: list[str] = []
    placed: list[str] = []
    try:
        for name in present:
            assert aside is not None
            os.rename(data_dir / name, aside / name)
            moved.append(name)
        for name in sorted(p.name for p in staging.iterdir()):
            os.rename(staging / name, data_dir / name)
            placed.append(name)
    except OSError as exc:
        for name in reversed(placed):
            with contextlib.suppress(OSError):
                os.rename(data_dir / name, staging / name)
        for name in reversed(moved):
            with contextlib.suppress(OSError):
                os.rename(aside / name, data_dir / name)  # type: ignore[operator]
        if aside is not None:
            with contextlib.suppress(OSError):
                aside.rmdir()
        raise BackupError(f"{data_dir}: nothing was restored ({exc})") from None
    return aside
