"""The owed reactions' timing: a quiet room, a bound, retries (no homeserver)."""

from __future__ import annotations

import asyncio
import time

from bot.commands.reactions import Reactions
from bot.errors import MatrixError


class FakeStore:
    def __init__(self, owed: list[tuple[str, str, str]] | None = None):
        self.owed = list(owed or [])
        self.done: list[str] = []
        self.kept = {"!a", "!b", "!busy"}  # the rooms the bot keeps
        self.unwritable: set[str] = set()  # events whose "sent" cannot be written

    async def room_kind(self, room_id: str) -> str | None:
        return "managed" if room_id in self.kept else None

    async def owed_reactions(self) -> list[tuple[str, str, str]]:
        return list(self.owed)

    async def reacted(self, event_ids: list[str]) -> None:
        if self.unwritable & set(event_ids):
            raise OSError("disk I/O error")
        self.done += event_ids


class Harness:
    def __init__(self, delay: float, at_most: float = 5.0, owed=None, fail=None):
        # ``fail``: event → the errors its next tries raise
        self.store = FakeStore(owed)
        self.sent: list[tuple[float, str, str, str, str | None]] = []
        self.receipts: list[tuple[str, str]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.fail = fail or {}
        self.start = time.monotonic()
        self.reactions = Reactions(
            self.store,
            self.react,
            self.read,
            self.tasks_append,
            lambda: delay,
            at_most,
            retry_first=0.01,
        )

    def tasks_append(self, work) -> None:
        self.tasks.append(asyncio.ensure_future(work))

    async def react(self, room_id, event_id, key, *, txn=None) -> str:
        if self.fail.get(event_id):
            error = self.fail[event_id].pop(0)
            if error is None:  # stuck until cancelled
                await asyncio.Event().wait()
            raise error
        self.sent.append((time.monotonic() - self.start, room_id, event_id, key, txn))
        return "$reaction"

    async def read(self, room_id, event_id) -> None:
        self.receipts.append((room_id, event_id))

    async def settle(self) -> None:
        while not all(t.done() for t in self.tasks):
            await asyncio.gather(*self.tasks)


async def test_a_rooms_reactions_wait_until_no_command_came_for_the_delay():
    h = Harness(delay=0.15)
    for n in range(3):  # commands back to back: 50 ms apart
        h.reactions.owe("!a", f"$a{n}", "✅")
        await asyncio.sleep(0.05)
    h.reactions.owe("!b", "$b", "❌")
    assert h.sent == []  # the room is not quiet yet
    await h.settle()
    assert [(r, e, k) for _, r, e, k, _ in h.sent] == [
        ("!a", "$a0", "✅"),
        ("!a", "$a1", "✅"),
        ("!a", "$a2", "✅"),
        ("!b", "$b", "❌"),
    ]
    first_a = h.sent[0][0]
    assert first_a >= 0.1 + 0.15  # after the last command of the room and its delay
    assert h.store.done == ["$a0", "$a1", "$a2", "$b"]
    # One read receipt a room, on its latest command (it marks the ones before read too).
    assert sorted(h.receipts) == [("!a", "$a2"), ("!b", "$b")]
    # Named by their command: sent again after a crash, the homeserver keeps one.
    assert len({txn for *_, txn in h.sent}) == 4 and "$a0" in (h.sent[0][4] or "")


async def test_a_room_that_never_goes_quiet_gets_its_reactions_within_the_bound():
    h = Harness(delay=0.1, at_most=0.2)
    for n in range(12):  # a command every 40 ms for half a second
        h.reactions.owe("!busy", f"$c{n}", "✅")
        await asyncio.sleep(0.04)
    assert h.sent  # some went out while commands kept coming
    assert h.sent[0][0] < 0.35
    await h.settle()
    assert [e for _, _, e, _, _ in h.sent] == [f"$c{n}" for n in range(12)]  # each once


async def test_a_zero_delay_sends_at_once():
    h = Harness(delay=0.0)
    h.reactions.owe("!a", "$1", "✅")
    for _ in range(5):  # a few turns of the loop, no sleep
        await asyncio.sleep(0)
    assert [e for _, _, e, _, _ in h.sent] == ["$1"] and h.store.done == ["$1"]


async def test_what_a_stopped_bot_owed_is_sent_at_the_next_start():
    h = Harness(delay=0.0, owed=[("!a", "$1", "✅"), ("!b", "$2", "❌")])
    await h.reactions.resume()
    await h.settle()
    assert [(r, e, k) for _, r, e, k, _ in h.sent] == [("!a", "$1", "✅"), ("!b", "$2", "❌")]


async def test_a_stop_mid_batch_leaves_the_rest_owed_and_a_restart_sends_it():
    # The second reaction's send hangs (the homeserver slow) when the bot stops.
    h = Harness(delay=0.0, fail={"$2": [None]})
    for n in (1, 2, 3):
        h.reactions.owe("!a", f"${n}", "✅")
    await asyncio.sleep(0.05)
    for task in h.tasks:
        task.cancel()
    await asyncio.gather(*h.tasks, return_exceptions=True)
    h.tasks.clear()
    h.reactions.clear()  # the dispatcher's stop
    assert [e for _, _, e, _, _ in h.sent] == ["$1"] and h.store.done == ["$1"]
    # What the store still owes goes at the next start; the same room owes again after.
    h.store.owed = [("!a", "$2", "✅"), ("!a", "$3", "✅")]
    await h.reactions.resume()
    await h.settle()
    h.reactions.owe("!a", "$4", "✅")
    await h.settle()
    assert [e for _, _, e, _, _ in h.sent] == ["$1", "$2", "$3", "$4"]


async def test_an_outage_is_waited_out_and_a_refusal_given_up():
    gone = MatrixError(403, "M_FORBIDDEN", "not in the room")
    down = MatrixError(502, None, "bad gateway")
    unsynced = MatrixError(None, "AGORA_ROOM_NOT_SYNCED", "did not appear in sync")
    h = Harness(delay=0.0, fail={"$left": [gone], "$later": [down, down], "$dm": [unsynced] * 99})
    h.reactions.owe("!a", "$left", "✅")
    h.reactions.owe("!b", "$later", "✅")
    h.reactions.owe("!dm-left", "$dm", "✅")  # a direct chat the person (and the bot) left
    await h.settle()
    assert [e for _, _, e, _, _ in h.sent] == ["$later"]  # sent once the homeserver took it
    # Neither the refused one nor the one of a room no longer kept is tried forever.
    assert sorted(h.store.done) == ["$dm", "$later", "$left"]
    assert len(h.fail["$dm"]) == 98  # given up at the first failure


async def test_a_failure_of_one_reaction_does_not_keep_the_next_from_going():
    h = Harness(delay=0.0)
    h.store.unwritable = {"$1"}
    h.reactions.owe("!a", "$1", "✅")
    h.reactions.owe("!a", "$2", "✅")
    await h.settle()
    assert [e for _, _, e, _, _ in h.sent] == ["$1", "$2"]
    # The first stays owed: sent again at the next start, under the same transaction id.
    assert h.store.done == ["$2"]
