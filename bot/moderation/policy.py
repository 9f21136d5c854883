"""Pure: who may be in a managed space or room.

Allowed: the bot, the admins, the animators of the room's territory or of a territory above it,
a managerial room's manager, and vetted members entitled to it (``bot.vetting.provisioning``:
their home territory and those above it, territories an animator admitted them into, rooms given
to them). A member of a CPTS belongs in their department's and region's rooms, not in a
neighbouring CPTS's. The control room and direct chats are never managed rooms, so this never
concerns them.
"""

from __future__ import annotations

from bot.territories.model import Network, Territory
from bot.vetting.provisioning import MemberInfo, ProvisioningConfig, entitlement


def lineage(network: Network) -> dict[str, tuple[str, ...]]:
    """territory id → its ancestors' ids and its own, root first."""
    return {t.id: (*(a.id for a in ancestors), t.id) for t, ancestors in network.walk()}


def animated_by(user: str, network: Network, admins: tuple[str, ...]) -> list[Territory]:
    """Territories ``user`` animates, with those below them; every one for an admin."""
    if user in admins:
        return [t for t, _ in network.walk()]
    return [
        t for t, ancestors in network.walk() if any(user in x.animators for x in (*ancestors, t))
    ]


def is_staff(
    user: str, room_key: str, *, network: Network, admins: tuple[str, ...], bot: str
) -> bool:
    """The bot, an admin, an animator of the room's territory or above, the room's manager."""
    if user == bot or user in admins:
        return True
    territory_id, _, room_id = room_key.partition(".")
    above = lineage(network).get(territory_id, ())
    for t, _ in network.walk():
        if t.id in above and user in t.animators:
            return True
        if t.id == territory_id and room_id:
            if any(r.id == room_id and r.manager == user for r in t.rooms):
                return True
    return False


def may_be_in(
    user: str,
    room_key: str,
    *,
    network: Network,
    admins: tuple[str, ...],
    bot: str,
    member: MemberInfo | None,
    provisioning: ProvisioningConfig | None = None,
) -> bool:
    if is_staff(user, room_key, network=network, admins=admins, bot=bot):
        return True
    if member is None:
        return False
    return entitlement(member, network, provisioning or ProvisioningConfig()).allows(room_key)
