"""The operator's command line: every command and option explained, the version, the
configuration file passed the same way to every command, and the log level honoured."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pytest
import yaml

from bot import cli
from bot.version import version


@pytest.fixture(autouse=True)
def _logging_restored():
    """The CLI sets the process's logging: put back pytest's when each test is done."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_command_and_every_option_has_help_text():
    parser = cli._parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    described = {a.dest: a.help for a in sub._choices_actions}
    missing = [name for name in sub.choices if not described.get(name)]
    for name, command in sub.choices.items():
        for action in command._actions:
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    for action in parser._actions:
        if not action.help:
            missing.append("/".join(action.option_strings) or action.dest)
    assert not missing, f"no help text: {missing}"


def test_every_command_takes_config_data_dir_and_log_level():
    for name, command in _subcommands().items():
        options = {o for a in command._actions for o in a.option_strings}
        assert {"--config", "--data-dir", "--log-level"} <= options, name


def test_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"agora-bot {version()}"
    assert version() != "0+unknown"  # installed: the metadata is there


def test_check_config_takes_config_and_still_the_file_with_a_note(capsys):
    assert cli.main(["check-config", "--config", "config.example.yaml"]) == 0
    out = capsys.readouterr()
    assert "OK" in out.out and "deprecated" not in out.err
    assert cli.main(["check-config", "config.example.yaml"]) == 0
    out = capsys.readouterr()
    assert "OK" in out.out
    assert "deprecated" in out.err and "--config" in out.err
    assert cli.main(["check-config"]) == 2
    assert "--config" in capsys.readouterr().err


def test_the_log_level_is_honoured_and_defaults_by_command(tmp_path: Path):
    root = logging.getLogger()
    cli.main(["settings", "--log-level", "debug"])
    assert root.level == logging.DEBUG
    cli.main(["check-config", "--config", "config.example.yaml"])
    assert root.level == logging.WARNING  # a tool's default: its output, not the log
    cli.main(["check-config", "--config", "config.example.yaml", "--log-level", "ERROR"])
    assert root.level == logging.ERROR


def _config_with(tmp_path: Path, **extra) -> Path:
    data = yaml.safe_load(Path("config.example.yaml").read_text())
    data.update(extra)
    path = tmp_path / "agora.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_log_format_json_writes_one_object_a_line(tmp_path: Path, capfd):
    path = _config_with(tmp_path, log_format="json")
    assert cli.main(["check-config", "--config", str(path), "--log-level", "INFO"]) == 0
    log = logging.getLogger("agora.test")
    log.info("hello %s", "@alice:example.org")
    try:
        raise RuntimeError("boom\non two lines")
    except RuntimeError:
        log.exception("it failed")
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    first, second = (json.loads(line) for line in lines[-2:])
    assert first["message"] == "hello @alice:example.org"
    assert (first["level"], first["logger"]) == ("INFO", "agora.test")
    assert first["time"].endswith("Z") and "exception" not in first
    assert second["level"] == "ERROR" and second["message"] == "it failed"
    assert "RuntimeError: boom\non two lines" in second["exception"]


def test_a_logging_mapping_is_applied_with_dict_config(tmp_path: Path):
    logfile = tmp_path / "agora.log"
    mapping = {
        "version": 1,
        "formatters": {"json": {"()": "bot.logs.JsonFormatter"}},
        "handlers": {
            "file": {"class": "logging.FileHandler", "filename": str(logfile), "formatter": "json"}
        },
        "loggers": {"agora.quiet": {"level": "ERROR"}},
        "root": {"level": "INFO", "handlers": ["file"]},
    }
    path = _config_with(tmp_path, logging=mapping)
    before = logging.getLogger("agora.made_before")  # as modules make theirs at import
    assert cli.main(["check-config", "--config", str(path)]) == 0
    assert logging.getLogger().level == logging.INFO  # the mapping's, no --log-level given
    logging.getLogger("agora.loud").info("kept")
    logging.getLogger("agora.quiet").warning("dropped")
    before.warning("a logger made before: still logging")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = [json.loads(line) for line in logfile.read_text().splitlines()]
    assert [line["message"] for line in lines] == ["kept", "a logger made before: still logging"]
    assert cli.main(["check-config", "--config", str(path), "--log-level", "WARNING"]) == 0
    assert logging.getLogger().level == logging.WARNING  # --log-level over the mapping


def test_a_logging_mapping_that_cannot_be_applied_is_refused(tmp_path: Path, capsys):
    path = _config_with(tmp_path, logging={"version": 1, "handlers": {"h": {"class": "no.Such"}}})
    assert cli.main(["check-config", "--config", str(path)]) == 2
    assert "logging: cannot be applied" in capsys.readouterr().err
    path = _config_with(tmp_path, logging={"handlers": {}})
    assert cli.main(["check-config", "--config", str(path)]) == 2
    assert "logging.version: expected 1" in capsys.readouterr().err
