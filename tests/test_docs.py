"""The README's command reference is generated from the registry; it must not drift."""

import re
from pathlib import Path

from bot.commands import load_commands
from bot.commands.registry import markdown_reference


def test_readme_command_reference_matches_the_registry():
    readme = Path("README.md").read_text()
    block = re.search(r"<!-- commands:start -->\n(.*?)\n<!-- commands:end -->", readme, re.S)
    assert block, "README.md lost its command reference markers"
    assert block.group(1) == markdown_reference(load_commands()), (
        "README command reference is stale: paste the output of `agora-bot commands`"
    )


def test_readme_settings_reference_matches_the_declarations():
    from bot.config import settings_reference

    readme = Path("README.md").read_text()
    block = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", readme, re.S)
    assert block, "README.md lost its settings reference markers"
    assert block.group(1) == settings_reference(), (
        "README settings reference is stale: paste the output of `agora-bot settings`"
    )
