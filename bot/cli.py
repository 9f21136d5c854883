"""``agora-bot``: run the bot, or check a configuration file without starting anything."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bot.config import ConfigError, load_config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agora-bot", description="Agora Matrix bot")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the bot (and the embedded homeserver if configured)")
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path)
    sub.add_parser("commands", help="print the command reference (Markdown) from the registry")
    for p in (run,):
        p.add_argument("--config", "-c", type=Path, required=True)
        p.add_argument("--data-dir", type=Path, default=Path("./data"))
        p.add_argument("--log-level", default="INFO",
                       choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


async def _run(config_path: Path, data_dir: Path) -> int:
    from bot.app import Agora  # imported late: check-config stays light

    config = load_config(config_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    agora = Agora(config, data_dir)
    try:
        await agora.start()
    except BaseException:
        await agora.stop()
        raise
    return await agora.run_until_stopped(stop)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "commands":
        from bot.commands import load_commands
        from bot.commands.registry import markdown_reference

        print(markdown_reference(load_commands()))
        return 0
    if args.command == "check-config":
        try:
            config = load_config(args.file)
        except ConfigError as exc:
            print(f"{args.file}: {exc}", file=sys.stderr)
            return 2
        print(f"{args.file}: OK ({config.bot_user_id}, {len(config.admins)} admin(s))")
        return 0
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("peewee", "nio.responses", "nio.rooms", "nio.crypto.log", "nio.client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return asyncio.run(_run(args.config, args.data_dir))
    except ConfigError as exc:
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # start-up failures: one readable line, details in the log
        logging.getLogger("agora").critical("start-up failed: %s", exc, exc_info=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
