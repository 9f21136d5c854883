"""Pure: who may be in a managed space or room.

Allowed: the bot, the admins, the animators of the room's territory or of a territory above it,
a managerial room's manager, and vetted members entitled to it (``bot.vetting.provisioning``:
their home territory and those above it, territories an animator admitted them into, rooms given
to them). A member of a CPTS belongs in their department's and region's rooms, not in a
neighbouring CPTS's. The control room and direct chats are never managed rooms, so this never
concerns them.

People of other servers not vetted here are someone else's to vet: they may be in a space or
room shared with their server (``shared_with``; their region's bot vets and removes them), and
nowhere else.
"""

from __future__ import annotations

from bot.matrix.ids import server_of
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
    """The bot, an admin, an animator of the room's territory or above, the room's manager;
    for a private room, only its keepers (``Network.keepers``) besides the bot and admins."""
    if user == bot or user in admins:
        return True
    if room_key in network.private_keys():  # its keepers only, not every animator above
        return user in network.keepers(room_key)
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
        # Not vetted here: someone of a peer server, in a room shared with it, was vetted there.
        server = server_of(user)
        return server != server_of(bot) and server in network.shared_with(room_key)
    return entitlement(member, network, provisioning or ProvisioningConfig()).allows(room_key)


def may_be_in_peer_room(
    user: str, *, network: Network, admins: tuple[str, ...], bot: str, member: MemberInfo | None
) -> bool:
    """A peer region's shared room: this region answers for its own server's people only (the
    owning region's bot for everyone else); of those, its vetted members and its staff."""
    if server_of(user) != server_of(bot):
        return True
    return (
        user == bot or user in admins or member is not None or bool(animated_by(user, network, ()))
    )
