"""Who has a seat and who waits: first come, first served. Pure: the store applies it in one
transaction with what follows (the announcement edited, the promoted told)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.workshops import REGISTERED, WAITING, Seat


@dataclass(frozen=True)
class Count:
    registered: int
    waiting: int
    left: int | None  # None: no limit


def place(seats: int | None, taken: list[Seat]) -> str:
    """Where someone who asks now goes: a seat while one is free and nobody waits before
    them, else the end of the waiting list."""
    registered = sum(1 for s in taken if s.status == REGISTERED)
    waiting = any(s.status == WAITING for s in taken)
    if seats is None or (registered < seats and not waiting):
        return REGISTERED
    return WAITING


def promoted(seats: int | None, taken: list[Seat]) -> list[str]:
    """The people waiting who get the seats free now, earliest first."""
    registered = sum(1 for s in taken if s.status == REGISTERED)
    queue = sorted((s for s in taken if s.status == WAITING), key=lambda s: s.order)
    free = len(queue) if seats is None else max(0, seats - registered)
    return [s.user for s in queue[:free]]


def count(seats: int | None, taken: list[Seat]) -> Count:
    registered = sum(1 for s in taken if s.status == REGISTERED)
    waiting = sum(1 for s in taken if s.status == WAITING)
    return Count(registered, waiting, None if seats is None else max(0, seats - registered))
