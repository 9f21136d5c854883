"""The ✅ or ❌ on each handled command, and the bot's read receipt, sent once its room is quiet.

Synapse stores a room's events one after another. A reaction sent the moment a command is
answered is still being stored when the person, having read the answer, types the next
command, and that command waits behind it: typed back to back, every command paid for the
reaction to the one before. So a handled command's reaction is *owed*: written in the store
with its outcome, and sent once no command came in its room for ``commands.reaction_delay``
seconds, or ``AT_MOST`` seconds after the first one owed there, whatever comes. The room's
latest command is then marked read (a receipt marks what came before it too: commands in quick
succession share one; Synapse writes receipts beside the room's events, so they wait for the
quiet room too). A receipt is a courtesy: one lost in a crash is not sent again.

Nothing is lost or sent twice: a restart sends what is still owed, and each reaction's
transaction id is named by its command, so the homeserver stores one sent just before a crash
only once. A reaction the homeserver refuses for good, or owed in a room the bot no longer
keeps (a direct chat the person left), is given up; one it cannot take now (an outage) is tried
again until it can.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.effects import stable_key
from bot.errors import transient

log = logging.getLogger(__name__)

AT_MOST = 5.0  # seconds after a room's first owed reaction that it is sent, however busy the room
RETRY_AT_MOST = 60.0  # seconds between tries while the homeserver cannot take a reaction


class Owed(Protocol):
    async def owed_reactions(self) -> list[tuple[str, str, str]]: ...
    async def reacted(self, event_ids: list[str]) -> None: ...
    async def room_kind(self, room_id: str) -> str | None: ...


class React(Protocol):
    def __call__(
        self, room_id: str, event_id: str, key: str, *, txn: str | None = None
    ) -> Awaitable[str]: ...


class Read(Protocol):
    def __call__(self, room_id: str, event_id: str) -> Awaitable[None]: ...


@dataclass
class _Room:
    """A room's reactions not yet sent, and when they came."""

    first: float  # the first one
    latest: float  # the latest one
    owed: list[tuple[str, str]] = field(default_factory=list)  # (command, key), in order


class Reactions:
    def __init__(
        self,
        store: Owed,
        react: React,
        read: Read,
        in_background: Callable[[Awaitable[None]], None],
        delay: Callable[[], float],
        at_most: float = AT_MOST,
        retry_first: float = 2.0,
    ):
        self.store = store
        self.react = react
        self.read = read
        self.in_background = in_background
        self.delay = delay  # the setting as it is now (a reload changes it)
        self.at_most = at_most
        self.retry_first = retry_first  # seconds before the second try (doubling after)
        self._owed: dict[str, _Room] = {}

    def owe(self, room_id: str, event_id: str, key: str) -> None:
        """A command handled (its reaction already recorded in the store)."""
        now = time.monotonic()
        room = self._owed.get(room_id)
        if room is None:
            room = self._owed[room_id] = _Room(first=now, latest=now)
            self.in_background(self._when_quiet(room_id))
        room.latest = now
        room.owed.append((event_id, key))

    async def resume(self) -> None:
        """At a start: what the last run still owed."""
        for room_id, event_id, key in await self.store.owed_reactions():
            self.owe(room_id, event_id, key)

    async def _when_quiet(self, room_id: str) -> None:
        room = self._owed[room_id]
        try:
            while True:
                due = min(room.latest + self.delay(), room.first + self.at_most)
                if (wait := due - time.monotonic()) <= 0:
                    break
                await asyncio.sleep(wait)
        finally:
            owed = self._owed.pop(room_id).owed
        for event_id, key in owed:
            try:
                await self._send(room_id, event_id, key)
            except Exception:  # the next ones still go; this one stays owed for a restart
                log.exception("reaction in %s not sent", room_id)
        try:
            await self.read(room_id, owed[-1][0])
        except Exception as exc:  # a courtesy: never retried
            log.debug("read receipt in %s not sent: %r", room_id, exc)

    def clear(self) -> None:
        """At a stop (its tasks cancelled): what was owed stays in the store only."""
        self._owed.clear()

    async def _send(self, room_id: str, event_id: str, key: str) -> None:
        attempt = 0
        while True:
            try:
                await self.react(room_id, event_id, key, txn=stable_key("reaction", event_id))
                break
            except Exception as exc:
                if not transient(exc):
                    log.warning("reaction given up in %s: %r", room_id, exc)
                    break
                if await self.store.room_kind(room_id) in (None, "archived"):
                    log.info("reaction given up: %s is no longer a room the bot keeps", room_id)
                    break
                if attempt == 0:
                    log.warning("reaction in %s: %r; tried again until it goes", room_id, exc)
                await asyncio.sleep(min(RETRY_AT_MOST, self.retry_first * 2**attempt))
                attempt += 1
        await self.store.reacted([event_id])
