"""Deprecated: the module moved to its own package, ``agora_synapse`` (see deploy/README.md).

Kept so that a homeserver.yaml naming ``bot.homeserver.registration_link.RegistrationLink``
still loads (it then records registrations as before; its operations stay closed until the
config gives it a secret and the bot's user id). Write ``agora_synapse.AgoraModule`` instead:
this name will go. Synapse alone imports this; the bot never does (.importlinter).
"""

from agora_synapse.module import AgoraModule as RegistrationLink

__all__ = ["RegistrationLink"]
