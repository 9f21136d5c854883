"""``agora-bot``: run the bot, check its homeserver and configuration, and the operators' other
tools (plan and apply the network, import and export members, rosters, the directory)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config, ConfigError, load_config, settings_reference
from bot.exports import csv_text, write_private
from bot.logs import LEVELS, LoggingConfigError
from bot.logs import configure as configure_logging
from bot.version import version

if TYPE_CHECKING:
    from nio import AsyncClient

    from bot.rosters.book import RosterBook
    from bot.store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agora-bot",
        description="Agora: a Matrix bot for regional health-professional networks.",
        epilog="agora-bot <command> --help tells more of each command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"agora-bot {version()}", help="print the version"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="<command>", help="what to do, one of:"
    )

    def command(
        name: str, help: str, *, config: bool = True, config_help: str | None = None
    ) -> argparse.ArgumentParser:
        """A subcommand with the options every one takes (``--config`` required where the
        command reads the configuration, accepted elsewhere so scripts can pass it
        uniformly)."""
        p = sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".")
        p.add_argument(
            "--config",
            "-c",
            type=Path,
            required=config,
            metavar="FILE",
            help=config_help or "the configuration file (YAML)",
        )
        p.add_argument(
            "--data-dir",
            type=Path,
            default=Path("./data"),
            metavar="DIR",
            help="the bot's data directory: its store, session and keys (default: ./data)",
        )
        p.add_argument(
            "--log-level",
            type=str.upper,
            choices=LEVELS,
            metavar="LEVEL",
            help=f"the least severe messages logged, one of {', '.join(LEVELS)} "
            f"(default: {'INFO for run' if name == 'run' else 'WARNING'}, or the config's "
            "logging: mapping)",
        )
        return p

    command("run", "start the bot (and the embedded homeserver if configured)")
    command("plan", "show what apply would change on the homeserver")
    command("apply", "make the homeserver match the network configuration")
    command(
        "doctor",
        "check that the homeserver offers what Agora needs, and say what to fix (exit 1 if "
        "something must be)",
    )
    check = command(
        "check-config",
        "validate a configuration file and exit",
        config=False,
        config_help="the configuration file (YAML) to check",
    )
    check.add_argument(
        "file", type=Path, nargs="?", help="the file to check (deprecated: use --config FILE)"
    )
    unused = "accepted, and unused by this command"
    command("commands", "print the command reference (Markdown)", config=False, config_help=unused)
    command("settings", "print the settings reference (Markdown)", config=False, config_help=unused)
    export = command("export-members", "write the verified members as CSV")
    export.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="file to write (default: stdout)"
    )
    imp = command("import-requests", "turn a member list (CSV) into join requests for the admins")
    imp.add_argument(
        "file",
        type=Path,
        help="CSV with name, profession, rpps/adeli, "
        "structure, territory, email and optionally matrix_id columns",
    )
    imp.add_argument("--batch", help="the batch's name (default: the file's name and the date)")
    imp.add_argument(
        "--links",
        type=Path,
        metavar="FILE",
        help="where to write the private status links of rows without a Matrix id "
        "(default: <file>.links.csv)",
    )
    roster = command(
        "import-roster", "put members on a territory's on-call slots from a CSV or ICS file"
    )
    roster.add_argument("file", type=Path, help="CSV (start,end,role,member or debut,fin,…) or ICS")
    roster.add_argument("--territory", required=True, help="the territory whose roster it is")
    roster.add_argument(
        "--partial", action="store_true", help="apply the valid rows even if some are refused"
    )
    directory = command(
        "import-directory",
        "load the national directory of health professionals (the Annuaire Santé "
        "extraction, pipe-separated) for vetting to consult",
    )
    directory.add_argument("file", type=Path, help="the extraction (PS_LibreAcces_Personne_…)")
    directory.add_argument(
        "--date", help="the extraction's date, YYYY-MM-DD (default: from the file's name)"
    )
    directory.add_argument(
        "--date-if-unknown", help="the date to use when the file's name gives none (YYYY-MM-DD)"
    )
    directory.add_argument(
        "--force",
        action="store_true",
        help="load it even if it has less than half the people of the directory in place",
    )
    backup = command(
        "backup",
        "copy the bot's data into one archive, the bot running or not: its store, E2EE keys, "
        "session and secrets, and the embedded homeserver's",
        config=False,
        config_help=unused,
    )
    backup.add_argument(
        "--output",
        "-o",
        type=Path,
        required=True,
        metavar="FILE",
        help="the archive to write (a .tar.gz, mode 0600), or an existing directory to write "
        "agora-backup-<date>.tar.gz in",
    )
    backup.add_argument(
        "--with-directory",
        action="store_true",
        help="keep the national directory's copy (directory.db) in it too (left out by "
        "default: public data, downloaded again or loaded with import-directory)",
    )
    restore = command(
        "restore",
        "put a backup back into a data directory, the bot stopped (every checksum checked "
        "first; nothing changed if one fails)",
        config=False,
        config_help=unused,
    )
    restore.add_argument("file", type=Path, help="the archive agora-bot backup wrote")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace the bot's data already in the data directory (its files are kept in "
        "<data-dir>/before-restore-<date>)",
    )
    out = command("export-roster", "write a territory's roster of a month as CSV")
    out.add_argument("--territory", required=True, help="the territory whose roster it is")
    out.add_argument("--month", help="YYYY-MM (default: this month)")
    out.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="file to write (default: stdout)"
    )
    evolutions = command(
        "export-evolutions",
        "write the ranked evolution requests of a shared room as CSV for the software's "
        "editor (votes per region, status, note), read from the room's state",
    )
    evolutions.add_argument(
        "--room", required=True, help="the shared room: its alias (#x:server) or id"
    )
    evolutions.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="file to write (default: stdout)"
    )
    return parser


async def _export_evolutions(config: Config, data_dir: Path, room: str, output: Path | None) -> int:
    """The board as the bot reads it, through the homeserver with the bot's session (no E2EE:
    state is not encrypted), beside a running bot."""

    from bot.errors import MatrixError
    from bot.evolutions.board import export_rows, read_board
    from bot.matrix.gateway import Gateway, path_part
    from bot.metrics import Metrics

    client = _bot_session(config, data_dir)
    if client is None:
        return 1
    try:
        gateway = Gateway(client, Metrics(), max_retries=2)
        try:
            room_id = await gateway.resolve(room)
            state = await gateway.raw(
                "GET", f"/_matrix/client/v3/rooms/{path_part(room_id)}/state", what="read a board"
            )
        except (MatrixError, KeyError) as exc:
            print(f"{room}: the bot cannot read this room ({exc})", file=sys.stderr)
            return 1
    finally:
        await client.close()
    board = read_board(state)  # type: ignore[arg-type]
    if not board.open:
        print(f"{room}: no board of evolution requests here", file=sys.stderr)
        return 1
    columns, rows = export_rows(board)
    text = csv_text(columns, rows)
    if output is None:
        sys.stdout.write(text)
    else:
        write_private(output, text)
        print(f"{len(rows)} request(s) written to {output}", file=sys.stderr)
    return 0


async def _run(config: Config, data_dir: Path) -> int:
    from bot.app import Agora  # imported late: check-config stays light
    from bot.systemd import Notifier

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    agora = Agora(config, data_dir, Notifier.from_environment())
    try:
        await agora.start()
    except BaseException:
        await agora.stop()
        raise
    return await agora.run_until_stopped(stop)


async def _plan_or_apply(config: Config, data_dir: Path, apply: bool) -> int:
    """Plan or apply with the bot's own session, without E2EE (structure needs none): this works
    beside a running bot, which sees the changes as its own."""

    from bot.matrix.gateway import Gateway
    from bot.metrics import Metrics
    from bot.store import Store
    from bot.territories.groups import load_effective
    from bot.territories.reconciler import Reconciler
    from bot.territories.render import render_plan

    client = _bot_session(config, data_dir)
    if client is None:
        return 1
    store = await Store.open(data_dir / "agora.db")
    try:
        config = await load_effective(config, store)  # with the groups animators made
        gateway = Gateway(client, Metrics(), max_retries=2)
        reconciler = Reconciler(config, gateway, store, data_dir)

        async def progress(done: int, total: int) -> None:
            print(f"  {done}/{total}", flush=True)

        outcome = await reconciler.reconcile(
            dry_run=not apply, source="cli", progress=progress if apply else None
        )
        if not apply:
            print(render_plan(outcome.actions, config.locale))
            return 0
        for run in outcome.resumed:
            print(
                f"resumed after interrupted run #{run['id']} ({run['done']}/{run['planned']} done)"
            )
        print(f"{len(outcome.actions)} change(s) applied in {outcome.rounds} round(s)")
        for action, error in outcome.failed:
            print(f"FAILED {action.op} {action.key}: {error}", file=sys.stderr)
        for key in outcome.unreachable:
            print(f"UNREACHABLE {key}: the bot is no longer in this room", file=sys.stderr)
        return 1 if outcome.failed else 0
    finally:
        await store.close()
        await client.close()


async def _export_members(data_dir: Path, output: Path | None) -> int:
    from bot.store import Store
    from bot.store.vetting import VettingStore

    store = await Store.open(data_dir / "agora.db")
    try:
        members = await VettingStore(store).members()
    finally:
        await store.close()
    columns = [
        "user_id",
        "name",
        "profession",
        "territory",
        "structure",
        "email",
        "rpps",
        "adeli",
        "since",
        "status",
    ]
    text = csv_text(columns, members)
    if output is None:
        sys.stdout.write(text)
    else:  # personal data: readable by its owner only
        write_private(output, text)
        print(f"{len(members)} member(s) written to {output}", file=sys.stderr)
    return 0


async def _roster_book(config: Config, data_dir: Path) -> tuple[RosterBook, Store]:
    import time

    from bot.rosters.book import RosterBook
    from bot.store import Store

    store = await Store.open(data_dir / "agora.db")
    return RosterBook(lambda: config, store, time.time), store


async def _import_roster(
    config: Config, data_dir: Path, file: Path, territory: str, partial: bool
) -> int:
    """The coordinator's file checked row by row; applied only when no row is wrong (or the
    valid rows, ``partial``). Exit 1 if anything was refused."""
    from bot.errors import UserError
    from bot.rosters.importing import decoded

    try:
        text = decoded(file.read_bytes())
    except (OSError, ValueError) as exc:
        print(f"{file}: cannot be read as text ({exc})", file=sys.stderr)
        return 2
    book, store = await _roster_book(config, data_dir)
    locale = book.config.locale
    try:
        await book.make_slots()
        report, assigned = await book.import_file(
            territory, text, name=file.name, by="agora-bot import-roster", partial=partial
        )
    except UserError as exc:
        print(exc.render(locale), file=sys.stderr)
        return 1
    finally:
        await store.close()
    print(book.report_text(report, assigned, locale))
    return 0 if report.ok else 1


async def _import_directory(
    data_dir: Path,
    file: Path,
    date: str | None,
    fallback: str | None = None,
    force: bool = False,
) -> int:
    """The extraction streamed into the store (the previous copy replaced only at the end,
    so a failure changes nothing); a report of the rows read, kept and refused."""
    import datetime
    import fcntl
    import zipfile
    import zlib

    from bot.rpps.extraction import (
        Tally,
        Unreadable,
        bounded_lines,
        date_of,
        open_extraction,
        people,
    )
    from bot.store.rpps import RppsStore, TooFew

    given: dict[str, datetime.date] = {}
    for option, value in (("--date", date), ("--date-if-unknown", fallback)):
        if value is not None:
            try:
                given[option] = datetime.date.fromisoformat(value)
            except ValueError:
                print(f"{option} {value}: expected YYYY-MM-DD", file=sys.stderr)
                return 2
    # The load gives way to the bot and the homeserver on the same machine.
    with contextlib.suppress(OSError):
        os.nice(10)
    # One load at a time, whoever starts it (an operator, the bot's download): two would
    # write the same copy.
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(data_dir / "directory.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("another load of the directory is under way; nothing done", file=sys.stderr)
        lock.close()
        return 1
    try:
        text, inner = open_extraction(file)
    except (OSError, Unreadable, zipfile.BadZipFile) as exc:
        print(f"{file}: nothing loaded, the directory is as it was ({exc})", file=sys.stderr)
        return 1
    day = (
        given.get("--date")
        or date_of(inner)
        or date_of(file.name)
        or given.get("--date-if-unknown")
        or datetime.date.fromtimestamp(file.stat().st_mtime)
    )
    tally = Tally()
    try:  # the bot's own database is not opened: the directory is a file of its own
        directory = RppsStore(data_dir)
        before = (await directory.loaded() or {}).get("people", 0)
        with text as lines:
            count = await directory.load(
                people(bounded_lines(lines), tally),
                date=day.isoformat(),
                progress=lambda n: print(f"… {n} lines kept", flush=True),
                at_least=1 if force else max(1, before // 2),
            )
    except (OSError, UnicodeDecodeError, Unreadable, zipfile.BadZipFile, zlib.error) as exc:
        print(f"{file}: nothing loaded, the directory is as it was ({exc})", file=sys.stderr)
        return 1
    except TooFew as exc:
        print(
            f"{file}: nothing loaded, the directory is as it was ({exc}; --force to load it)",
            file=sys.stderr,
        )
        return 1
    finally:
        lock.close()
    print(
        f"{file.name} (directory of {day.isoformat()}): {tally.read} lines read, "
        f"{tally.kept} kept ({count} people), {tally.skipped} not RPPS, {tally.refused} refused"
    )
    for line, why in tally.first_refused:
        print(f"  line {line}: {why}")
    if tally.refused > len(tally.first_refused):
        print(f"  … and {tally.refused - len(tally.first_refused)} more")
    return 0


async def _export_roster(
    config: Config, data_dir: Path, territory: str, month: str | None, output: Path | None
) -> int:
    import datetime
    import re

    from bot.rosters.model import Slot, file_times

    book, store = await _roster_book(config, data_dir)
    try:
        today = datetime.date.today()
        year, number = (today.year, today.month)
        if month is not None:
            if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
                print(f"--month: YYYY-MM, got {month!r}", file=sys.stderr)
                return 2
            year, number = int(month[:4]), int(month[5:])
        first = datetime.date(year, number, 1)
        after = datetime.date(year + number // 12, number % 12 + 1, 1)
        tz = book.tz
        since = datetime.datetime.combine(first, datetime.time()).replace(tzinfo=tz).timestamp()
        until = datetime.datetime.combine(after, datetime.time()).replace(tzinfo=tz).timestamp()
        names = {m["user_id"]: m["name"] for m in await book.members.members()}
        rows = []
        for r in await book.slots.slots(territory, since, until):
            if r.start >= since:
                start, end = file_times(Slot(r.start, r.end, r.role), tz)
                member = r.member or ""
                rows.append(
                    {
                        "start": start,
                        "end": end,
                        "role": r.role,
                        "member": member,
                        "name": names.get(member, "") or "",
                    }
                )
    finally:
        await store.close()
    text = csv_text(["start", "end", "role", "member", "name"], rows)
    if output is None:
        sys.stdout.write(text)
    else:  # personal data: readable by its owner only
        write_private(output, text)
        print(f"{len(rows)} slot(s) written to {output}", file=sys.stderr)
    return 0


async def _import_requests(
    config: Config, data_dir: Path, file: Path, batch: str | None, links: Path | None
) -> int:
    import datetime
    import re

    from bot.errors import UserError
    from bot.rosters.importing import decoded
    from bot.store import Store
    from bot.store.rpps import RppsStore
    from bot.vetting.importer import import_requests

    try:
        text = decoded(file.read_bytes())
    except (OSError, ValueError) as exc:
        print(f"{file}: cannot be read as text ({exc})", file=sys.stderr)
        return 2
    batch = batch or re.sub(r"[^\w.-]", "-", f"{file.stem}-{datetime.date.today():%Y%m%d}")
    if not re.fullmatch(r"[\w.-]{1,64}", batch):
        print(f"--batch: letters, digits, '.', '_' and '-' only, got {batch!r}", file=sys.stderr)
        return 2
    store = await Store.open(data_dir / "agora.db")
    try:
        report = await import_requests(
            config, store, text, batch, config.locale, RppsStore(data_dir)
        )
    except UserError as exc:
        print(exc.render(config.locale), file=sys.stderr)
        return 1
    finally:
        await store.close()
    for line, why in report.refused:
        print(f"line {line}: {why}", file=sys.stderr)
    for line, why in report.unconfirmed:
        print(f"line {line}: recorded, but {why}")
    if report.links:
        links = links or file.with_suffix(".links.csv")
        write_private(links, csv_text(["request", "name", "email", "status_url"], report.links))
        print(f"{len(report.links)} private status link(s) written to {links}")
    span = f" (#{report.ids[0]} to #{report.ids[-1]})" if report.ids else ""
    print(
        f"batch {batch}: {len(report.ids)} request(s) recorded{span}, "
        f"{len(report.refused)} row(s) refused; approve with "
        f"{config.commands.prefix}approve import:{batch}"
    )
    return 0 if report.ids or not report.refused else 1


def _backup(data_dir: Path, output: Path, with_directory: bool) -> int:
    from bot.backup import BackupError, backup, size_text

    with contextlib.suppress(OSError):
        os.nice(10)  # the copy gives way to the bot and the homeserver
    try:
        done = backup(data_dir, output, with_directory=with_directory)
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"backup written to {done.path} ({size_text(done.size)}, {len(done.manifest.files)} "
        f"files, mode 0600); put it back with: agora-bot restore {done.path} --data-dir DIR"
    )
    return 0


def _restore(data_dir: Path, file: Path, force: bool) -> int:
    from bot.backup import DIRECTORY, BackupError, restore

    try:
        done = restore(file, data_dir, force=force)
    except BackupError as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    if done.aside is not None:
        print(
            f"the files it replaced are kept in {done.aside} (delete it once the restored bot "
            "runs well)"
        )
    if DIRECTORY in done.manifest.left_out and not (data_dir / DIRECTORY).exists():
        print(
            f"{DIRECTORY} was left out of the backup: the bot downloads the national "
            "directory again if directory.url is set; otherwise load it with agora-bot "
            "import-directory"
        )
    print(f"restored into {data_dir.resolve()}: start the bot on it (agora-bot run)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path: Path | None = args.config
    if args.command == "check-config":
        if args.file is not None and path is not None:
            print("check-config: give the file once, with --config FILE", file=sys.stderr)
            return 2
        if args.file is not None:
            print(
                "check-config FILE is deprecated and will go: use check-config --config FILE",
                file=sys.stderr,
            )
            path = args.file
        if path is None:
            print("check-config: which file? --config FILE", file=sys.stderr)
            return 2
    config = None
    if path is not None and args.command not in ("commands", "settings", "backup", "restore"):
        try:
            config = load_config(path)
        except ConfigError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 2
    try:
        configure_logging(
            args.log_level,
            default="INFO" if args.command == "run" else "WARNING",
            log_format=config.log_format if config else "text",
            mapping=config.logging if config else None,
        )
    except LoggingConfigError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    if args.command == "commands":
        from bot.commands import load_commands
        from bot.commands.registry import markdown_reference

        print(markdown_reference(load_commands()))
        return 0
    if args.command == "settings":
        print(settings_reference())
        return 0
    if args.command == "backup":
        return _backup(args.data_dir, args.output, args.with_directory)
    if args.command == "restore":
        return _restore(args.data_dir, args.file, args.force)
    assert config is not None  # every other command requires --config
    if args.command == "check-config":
        from bot.homeserver.privileges import describe

        print(f"{path}: OK ({config.bot_user_id}, {len(config.admins)} admin(s))")
        print(describe(config))  # which privileges the bot runs with
        return 0
    try:
        return asyncio.run(_command(args, config))
    except ConfigError as exc:  # a file the config names (a secret) changed meanwhile
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from bot.datadir import DataDirBusy
        from bot.errors import AgoraError
        from bot.store import StoreTooNew

        if isinstance(exc, StoreTooNew | DataDirBusy):  # the operator's to settle: one line
            print(f"{args.command} refused: {exc}", file=sys.stderr)
            return 1
        if args.command == "run":  # start-up failures: one readable line, details in the log
            logging.getLogger("agora").critical("start-up failed: %s", exc, exc_info=True)
            return 1
        if args.command in ("plan", "apply") and isinstance(exc, AgoraError):
            print(f"{args.command} failed: {exc}", file=sys.stderr)
            return 1
        raise


async def _command(args: argparse.Namespace, config: Config) -> int:
    """The subcommand that needs the configuration, in the event loop."""
    data_dir: Path = args.data_dir
    match args.command:
        case "run":
            return await _run(config, data_dir)
        case "plan" | "apply":
            return await _plan_or_apply(config, data_dir, args.command == "apply")
        case "doctor":
            from bot.homeserver.doctor import doctor

            return await doctor(config, data_dir)
        case "export-members":
            return await _export_members(data_dir, args.output)
        case "import-requests":
            return await _import_requests(config, data_dir, args.file, args.batch, args.links)
        case "import-directory":
            return await _import_directory(
                data_dir, args.file, args.date, args.date_if_unknown, args.force
            )
        case "import-roster":
            return await _import_roster(config, data_dir, args.file, args.territory, args.partial)
        case "export-roster":
            return await _export_roster(config, data_dir, args.territory, args.month, args.output)
        case "export-evolutions":
            return await _export_evolutions(config, data_dir, args.room, args.output)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())


def _bot_session(config: Config, data_dir: Path) -> AsyncClient | None:
    """A client with the bot's session (no sync, no E2EE: for reading and changing rooms'
    structure beside a running bot); None, said on stderr, before the bot's first start."""
    import json

    from bot.matrix.gateway import structure_client

    session_path = data_dir / "bot-session.json"
    if not session_path.exists():
        print(
            f"{session_path} does not exist: start the bot once (agora-bot run --config "
            f"{config.source} --data-dir {data_dir}) so that it creates its session.",
            file=sys.stderr,
        )
        return None
    session = json.loads(session_path.read_text())
    return structure_client(config.homeserver.url, session["user_id"], session["access_token"])
