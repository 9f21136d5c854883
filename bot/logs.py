"""The process's logging, set once by the CLI: a ``logging:`` mapping from the config
(``logging.config.dictConfig``, as maubot and mautrix take it), or lines on stderr in text or
JSON (``log_format``); ``--log-level`` sets the root level over either.

What is logged carries operational identifiers (Matrix user and room ids, request and job
numbers) and never what people wrote or who they are (names, emails, RPPS numbers, message
bodies): those stay in the store, where ``!forget`` reaches them.
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.config
import sys
from collections.abc import Mapping
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that are chatty at INFO (nio also logs events it could not validate, with their
# content): warnings only, unless a logging: mapping says otherwise.
QUIET = ("nio", "peewee", "aiosqlite")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    and ``exception`` (the traceback's text) when there is one. Usable from a ``logging:``
    mapping: ``formatters: {json: {"()": bot.logs.JsonFormatter}}``."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        line: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class LoggingConfigError(ValueError):
    """The ``logging:`` mapping could not be applied (``str()`` says why)."""


def configure(
    level: str | None,
    *,
    default: str = "INFO",
    log_format: str = "text",
    mapping: Mapping[str, Any] | None = None,
) -> None:
    """Set the process's logging. ``level``: the one asked on the command line (none: the
    mapping's, or ``default``)."""
    if mapping:
        # Loggers made at import time (bot.*) keep logging unless the mapping says otherwise.
        try:
            logging.config.dictConfig({"disable_existing_loggers": False, **mapping})
        except (ValueError, TypeError, AttributeError, ImportError) as exc:
            raise LoggingConfigError(f"logging: cannot be applied: {exc}") from exc
        if level:
            logging.getLogger().setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level or default)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
