"""What caused the work in progress, so that its effects can be recognised when it runs again.

Every command, reaction, invite and job runs under a *cause* (``"event:$id"``, ``"job:42"``).
The gateway derives the transaction id of each event it sends from the cause, the room, the
event type and how many such events this cause sent there before: a handler run again after a
crash sends the same transaction ids in the same order, and the homeserver answers a repeated
transaction with the event it already stored instead of storing a second one. Services read
the cause too, to tag what they record (a request filed by a command) and to recognise their
own earlier work on a re-run.

The homeserver keeps transaction ids per device for a day at least (Synapse: 24 hours), far
longer than any restart; the bot's device is stable across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Cause:
    key: str
    # (room, event type) → events sent so far: concurrent sends to different rooms keep their
    # numbers whatever order they run in.
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)

    def event_id(self) -> str | None:
        """The Matrix event behind this cause, if it is one."""
        return self.key.removeprefix("event:") if self.key.startswith("event:") else None


_current: contextvars.ContextVar[Cause | None] = contextvars.ContextVar("cause", default=None)


@contextlib.contextmanager
def caused_by(key: str) -> Iterator[Cause]:
    """Run the block (and the tasks it starts) under ``key``."""
    cause = Cause(key)
    token = _current.set(cause)
    try:
        yield cause
    finally:
        _current.reset(token)


def detached(coro: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
    """A background task that does not inherit the current cause: what it sends is not part of
    the command that started it (its notices would take the command's numbers, in an order a
    re-run would not repeat)."""
    return asyncio.create_task(coro, name=name, context=contextvars.Context())


def current() -> Cause | None:
    return _current.get()


def current_event() -> str | None:
    """The event id of the command or reaction being handled, if any."""
    cause = _current.get()
    return cause.event_id() if cause else None


def current_job() -> int | None:
    """The id of the durable job being run, if any (its cause is ``job:<id>``, and
    ``job:<id>.<run>`` for a recurring job's later runs)."""
    cause = _current.get()
    if cause is None or not cause.key.startswith("job:"):
        return None
    return int(cause.key.removeprefix("job:").split(".", 1)[0])


def next_key(room_id: str, event_type: str) -> str | None:
    """What names the next send under the current cause (None without one); the gateway
    turns it into a transaction id."""
    cause = _current.get()
    if cause is None:
        return None
    slot = (room_id, event_type)
    n = cause.sent[slot]
    cause.sent[slot] += 1
    return "\x1f".join((cause.key, room_id, event_type, str(n)))


def stable_key(*what: str) -> str:
    """What names one effect (a request's card), whatever the cause that makes it."""
    return "\x1f".join(("stable", *what))


def digest(text: str) -> str:
    """A short digest of what a message says, for keys named by their content."""
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def content_key(room_id: str, text: str) -> str | None:
    """Under the current cause, a key named by the message itself (an announcement another
    run may skip or repeat): None without a cause."""
    cause = _current.get()
    return None if cause is None else stable_key("said", cause.key, room_id, digest(text))


def txn_id(instance: str, key: str) -> str:
    """The transaction id for ``key`` from the store ``instance`` (a random id the store keeps
    for its life: a region started again from nothing, on the same device, never meets the
    transaction ids of the older one)."""
    return "agora." + hashlib.sha256(f"{instance}\x1f{key}".encode()).hexdigest()[:40]
