"""Direct chats the bot opens itself, to tell someone something (an outcome, an admission)
when they have not written to it first. One per person: an existing one is reused."""

from __future__ import annotations

from bot.errors import MatrixError
from bot.locks import KeyedLocks
from bot.matrix.content import ENCRYPTION
from bot.matrix.gateway import Gateway
from bot.store import Store

# The state event of a direct chat naming the person the bot opened it for.
DM_MARK = "org.agora.dm"


def opened_for(mark: dict, bot: str) -> str | None:
    """The person a room was opened for as a direct chat by this bot, from its ``DM_MARK``
    state event (None for any other room, or a mark someone else set)."""
    peer = mark.get("content", {}).get("for")
    if mark.get("sender") != bot or not isinstance(peer, str) or not peer.startswith("@"):
        return None
    return peer


class DirectChats:
    def __init__(self, gateway: Gateway, store: Store):
        self.gateway = gateway
        self.store = store
        # The direct chats, where plain answers count (a guided conversation).
        self.rooms: frozenset[str] = frozenset()
        # Two messages at once must not open two chats with one person; chats with different
        # people are opened side by side (a survey delivered to a thousand).
        self._locks = KeyedLocks()

    async def refresh(self) -> None:
        self.rooms = await self.store.dm_rooms()

    async def has_device(self, user_id: str) -> bool:
        """Whether the person has a device the bot knows of (asked of the homeserver if none
        is known yet): a message encrypted before their first log in is never readable."""
        client = self.gateway.client
        if client.olm is None or any(client.device_store.active_user_devices(user_id)):
            return True
        client.olm.users_for_key_query.add(user_id)
        await self.gateway.call("query keys", client.keys_query)
        return any(client.device_store.active_user_devices(user_id))

    async def room_for(self, user_id: str) -> str:
        async with self._locks(user_id):
            existing = await self.store.dm_with(user_id)
            if existing:
                return existing
            data = await self.gateway.raw(
                "POST",
                "/_matrix/client/v3/createRoom",
                {
                    "preset": "trusted_private_chat",
                    "is_direct": True,
                    "invite": [user_id],
                    "initial_state": [
                        ENCRYPTION,
                        # Whom it is for, in the room itself: a chat opened just before a
                        # crash (not yet recorded) is recognised at the next start, not
                        # opened again.
                        {"type": DM_MARK, "state_key": "", "content": {"for": user_id}},
                    ],
                },
                what=f"open a direct chat with {user_id}",
            )
            room_id = data["room_id"]
            await self.store.add_room(room_id, "dm", user_id)
            await self.refresh()
            # The first message must be encrypted for the invited person's devices too.
            await self.gateway.wait_for_member(room_id, user_id)
            return room_id

    async def joined_from_afar(self, room_id: str, user_id: str) -> None:
        """The person, on another homeserver, joined the direct chat: the bot writes its mark
        again, saying so. A message the bot sent while their server's join was under way
        may be one the homeserver never sends them (it was made beside the join, not after
        it: element-hq/synapse#17720); their server fetches what this new event follows,
        that message with it. In a chat the person opened, where the bot may lack the power
        to write state, there is nothing to do: the bot wrote nothing before their join."""
        try:
            await self.gateway.put_state(room_id, DM_MARK, {"for": user_id, "joined": True})
        except MatrixError as exc:
            if exc.status != 403:
                raise
