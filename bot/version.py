"""The installed package's version, from its metadata (``--version``, ``!status``, the
``agora_build_info`` metric)."""

from __future__ import annotations

import importlib.metadata


def version() -> str:
    try:
        return importlib.metadata.version("agora-bot")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
