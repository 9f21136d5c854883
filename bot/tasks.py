"""The bot's tasks: loops whose ending stops the bot, and background work that must not hold
anything up (a peer region that is down). None dies unnoticed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from bot.effects import detached

log = logging.getLogger(__name__)


class Tasks:
    def __init__(self) -> None:
        self.loops: list[asyncio.Task[Any]] = []
        self.background: set[asyncio.Task[Any]] = set()

    def loop(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._ended)
        self.loops.append(task)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Background work outside any cause (what it sends is not a command's)."""
        task = detached(coro, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        task.add_done_callback(self._ended)

    def named(self, name: str) -> asyncio.Task[Any]:
        return next(t for t in self.loops if t.get_name() == name)

    @staticmethod
    def _ended(task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.critical("the %s task stopped", task.get_name(), exc_info=task.exception())

    async def until_one_ends(self, stop: asyncio.Event) -> int:
        """Until ``stop`` is set (0) or a loop dies (1)."""
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *self.loops], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        failed = [t for t in done if t is not waiter and not t.cancelled() and t.exception()]
        for task in failed:
            log.critical("stopping: %s", task.exception())
        return 1 if failed else 0

    async def cancel(self) -> None:
        every = [*self.background, *self.loops]
        for task in every:
            task.cancel()
        for task in every:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.loops = []
