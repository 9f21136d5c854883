"""What people type. Each module registers its commands into ``registry`` on import."""

from __future__ import annotations

import importlib

from bot.commands.registry import Registry, registry

COMMAND_MODULES = (
    "bot.commands.core",
    "bot.commands.network",
    "bot.commands.vetting",
    "bot.commands.moderation",
    "bot.commands.animators",
    "bot.commands.news",
    "bot.commands.directory",
    "bot.commands.jobs",
    "bot.commands.rosters",
    "bot.commands.absences",
    "bot.commands.newcomers",
    "bot.commands.rpps",
    "bot.commands.reports",
    "bot.commands.polls",
    "bot.commands.evolutions",
    "bot.commands.documents",
    "bot.commands.workshops",
    "bot.commands.surveys",
)


def load_commands() -> Registry:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    return registry
