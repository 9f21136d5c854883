"""Events the bot could not decrypt (their room key had not reached it): read as soon as a key
arrives, then handled as they would have been; meanwhile the sender's devices are asked for
the key (once per session), the sender is told after a minute where they were talking to the
bot (a direct chat, the control room), and the event is given up after a day."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nio import MegolmEvent
from nio.exceptions import EncryptionError

from bot.errors import MatrixError
from bot.i18n import t
from bot.matrix.content import notice
from bot.matrix.events import StillUnreadable
from bot.matrix.gateway import Gateway, path_part
from bot.matrix.sync import (
    PollResponse,
    Reaction,
    Unreadable,
    acted_on,
    file_shared,
    megolm_origin,
)
from bot.metrics import Metrics
from bot.store import InboxRow, Store

log = logging.getLogger(__name__)

KEPT = 86400.0  # seconds an unreadable event is kept before it is given up (and audited)


class Unreadables:
    def __init__(
        self,
        gateway: Gateway,
        store: Store,
        metrics: Metrics,
        settings: Callable[[], tuple[str, str]],
        conversations: Callable[[], frozenset[str]],
        route: Callable[[Any], Awaitable[bool]],
        commands_came: Callable[[], None],
    ):
        self.gateway = gateway
        self.store = store
        self.metrics = metrics
        self.settings = settings  # (command prefix, the region's language) as configured now
        self.conversations = conversations  # the direct chats, where plain answers count
        self.route = route  # a reaction (a poll response) read late goes where it would have gone
        self.commands_came = commands_came  # a command read late: the dispatcher's turn
        # After this long, the sender of a message the bot cannot read is told (tests shorten).
        self.notice_after = 60.0

    async def read_again(self, item: Unreadable) -> bool:
        """``StillUnreadable`` when its key has not come: tried again later."""
        client = self.gateway.client
        event = item.event()
        try:
            readable = client.decrypt_event(event)
        except (EncryptionError, KeyError, ValueError):
            readable = None
        prefix, locale = self.settings()
        if readable is not None and not isinstance(readable, MegolmEvent):
            self.metrics.unreadable_recovered.inc()
            found = acted_on(
                readable,
                item.room_id,
                self.gateway.user_id,
                prefix,
                self.conversations(),
                megolm_origin(self.gateway),
            )
            if isinstance(found, InboxRow):
                await self.store.record_events([found], None)
                self.commands_came()
            elif isinstance(found, Reaction | PollResponse):
                await self.route(found)
            if item.room_id not in self.conversations() and (
                shared := file_shared(readable, item.room_id, self.gateway.user_id)
            ):
                await self.route(shared)  # a file read late is indexed as it would have been
            log.info("%s read once its key came", item.event_id)
            return True
        if await self.store.once(f"unreadable.asked:{item.session_id}"):
            await self._ask_for_key(event)
        age = time.time() - item.source.get("origin_server_ts", 0) / 1000
        kind = await self.store.room_kind(item.room_id)
        if (
            age >= self.notice_after
            and kind in ("dm", "control")
            and await self.store.once(f"unreadable.told:{item.event_id}")
        ):
            await self.store.audit(
                item.sender, "undecryptable", "told", room_id=item.room_id, event_id=item.event_id
            )
            await self.gateway.send(
                item.room_id, notice(t("undecryptable.told", locale), reply_to=item.event_id)
            )
        if age >= KEPT:
            await self.store.audit(
                item.sender,
                "undecryptable",
                "dropped",
                room_id=item.room_id,
                event_id=item.event_id,
            )
            return True
        raise StillUnreadable

    async def _ask_for_key(self, event: MegolmEvent) -> None:
        """A room key request to the sender's devices (the one that sent it first): a client
        that shared the session with this device may send it again."""
        client = self.gateway.client
        request = event.as_key_request(event.sender, client.device_id, device_id="*")
        with contextlib.suppress(MatrixError):
            await self.gateway.raw(
                "PUT",
                "/_matrix/client/v3/sendToDevice/m.room_key_request/"
                + path_part(f"agora-{event.session_id[:32]}-{client.device_id}"),
                request.as_dict(),
                what="ask for a room key",
            )
