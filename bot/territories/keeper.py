"""Keeps the network as declared while the bot runs: reconciles at start, when the config file
changes, on `!reload`, and within seconds of a hand-made change (drift) in a managed room."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.errors import AgoraError
from bot.matrix.sync import StateChange
from bot.territories.reconciler import Outcome, Reconciler

log = logging.getLogger(__name__)


class NetworkKeeper:
    def __init__(
        self,
        reconciler: Reconciler,
        on_outcome: Callable[[Outcome, str, list[StateChange]], Awaitable[None]],
        debounce: float = 0.3,
    ):
        self.reconciler = reconciler
        self.on_outcome = on_outcome
        self.debounce = debounce
        self._full = False
        self._keys: set[str] = set()
        self._drift: list[StateChange] = []
        self._wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.runs = 0

    async def settled(self, timeout: float) -> None:
        """Wait until nothing is left to reconcile."""
        async with asyncio.timeout(timeout):
            await self.idle.wait()

    def request_full(self) -> None:
        self._full = True
        self.idle.clear()
        self._wake.set()

    def request_repair(self, key: str, change: StateChange) -> None:
        self._keys.add(key)
        self._drift.append(change)
        self.idle.clear()
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.debounce)  # let a burst of changes arrive together
            self._wake.clear()
            full, keys, drift = self._full, self._keys, self._drift
            self._full, self._keys, self._drift = False, set(), []
            try:
                outcome = await self.reconciler.reconcile(
                    source="start/reload" if full else "drift", only=None if full else keys
                )
                self.runs += 1
                await self.on_outcome(outcome, "full" if full else "drift", drift)
            except AgoraError as exc:
                log.error("reconcile failed: %s; retrying in 10 s", exc)
                await asyncio.sleep(10)
                self._full = self._full or full
                self._keys |= keys
                self._wake.set()
                continue
            if not self._wake.is_set():
                self.idle.set()
