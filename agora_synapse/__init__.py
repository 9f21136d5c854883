"""Agora's Synapse module: what Agora's bot needs from the homeserver, behind a shared secret,
so that the bot runs as an ordinary user (see ``module.AgoraModule``).

In homeserver.yaml::

    modules:
      - module: agora_synapse.AgoraModule
        config:
          secret_path: /etc/matrix-synapse/agora-module-secret
          bot_user: "@agora:example.org"

A package of its own: it imports nothing from Agora (``bot``), and Synapse (with Twisted) only
when Synapse loads it; ``agora_synapse.protocol`` needs the standard library alone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AgoraModule", "RegistrationLink"]


def __getattr__(name: str) -> Any:
    # The module class imports Synapse: only when Synapse asks for it.
    if name in ("AgoraModule", "RegistrationLink"):
        from agora_synapse.module import AgoraModule

        return AgoraModule
    raise AttributeError(name)
