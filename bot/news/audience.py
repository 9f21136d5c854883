"""Pure: who may post news and alerts where, and to which rooms they go."""

from __future__ import annotations

from bot.config import Config
from bot.errors import BadArgument, NotFound, PermissionDenied
from bot.moderation.policy import animated_by
from bot.store import ManagedRoom
from bot.territories.model import Territory

ALL = "all"  # every territory of the region
MAX_TEXT = 4000


def territories_of(config: Config, user: str) -> set[str]:
    """Territories ``user`` may post news and alerts to (and manage feeds of)."""
    mine = {t.id for t in animated_by(user, config.network, config.admins)}
    return mine | {ALL} if user in config.admins else mine


def target(config: Config, user: str, target: str, *, trusted: bool = False) -> list[Territory]:
    """The territories ``target`` names (``all``, or one and those below it), if ``user`` may
    post there (``trusted``: a signed webhook, allowed everywhere)."""
    target = target.lower()
    if target != ALL and config.network.find(target) is None:
        raise NotFound(
            "news.unknown_territory",
            target=target,
            choices=", ".join([ALL, *(t.id for t, _ in config.network.walk())]),
        )
    if not trusted and target not in territories_of(config, user):
        raise PermissionDenied("news.not_yours", target=target)
    if target == ALL:
        return [t for t, _ in config.network.walk()]
    return config.network.subtree(target)


def rooms_of(
    territories: list[Territory], kinds: set[str], managed: list[ManagedRoom]
) -> list[str]:
    """The live rooms of ``kinds`` in ``territories``."""
    ids = {t.id for t in territories}
    wanted = {f"{t.id}.{r.id}" for t in territories for r in t.rooms if r.kind in kinds}
    return [r.room_id for r in managed if r.key in wanted and r.territory in ids]


def checked_text(text: str) -> str:
    """What someone asked to post, trimmed, or why it cannot be."""
    text = text.strip()
    if not text:
        raise BadArgument("news.empty")
    if len(text) > MAX_TEXT:  # and Matrix events stay well under their 64 KiB
        raise BadArgument("news.too_long", limit=MAX_TEXT)
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise BadArgument("news.control_chars")
    return text
