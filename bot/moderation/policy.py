"""Pure: who may be in a managed space or room.

Allowed: the bot, the admins, the animators of the room's territory or of a territory above it,
a managerial room's manager, and vetted members whose territory is the room's territory or one
below it (a member of a CPTS belongs in their department's and region's rooms, not in a
neighbouring CPTS's). The control room and direct chats are never managed rooms, so this never
concerns them.
"""

from __future__ import annotations

from bot.territories.model import Network


def lineage(network: Network) -> dict[str, tuple[str, ...]]:
    """territory id → its ancestors' ids and its own, root first."""
    return {t.id: (*(a.id for a in ancestors), t.id) for t, ancestors in network.walk()}


def may_be_in(
    user: str,
    room_key: str,
    *,
    network: Network,
    admins: tuple[str, ...],
    bot: str,
    member_territory: str | None,
) -> bool:
    if user == bot or user in admins:
        return True
    territory_id, _, room_id = room_key.partition(".")
    lines = lineage(network)
    above = lines.get(territory_id, ())
    for t, _ in network.walk():
        if t.id in above and user in t.animators:
            return True
        if t.id == territory_id and room_id:
            if any(r.id == room_id and r.manager == user for r in t.rooms):
                return True
    return member_territory is not None and territory_id in lines.get(member_territory, ())
