"""Transaction ids derived from what caused a send, and the grouping of recorded events."""

import asyncio

from bot import effects
from bot.matrix.events import groups_of as _groups_of_policy


def test_a_rerun_under_the_same_cause_derives_the_same_keys_room_by_room():
    def run() -> list[str | None]:
        with effects.caused_by("event:$cmd"):
            return [
                effects.next_key("!a", "m.room.message"),
                effects.next_key("!b", "m.room.message"),
                effects.next_key("!a", "m.reaction"),
                effects.next_key("!a", "m.room.message"),
            ]

    first, again = run(), run()
    assert first == again and len(set(first)) == 4
    with effects.caused_by("event:$other"):
        assert effects.next_key("!a", "m.room.message") not in first
    assert effects.next_key("!a", "m.room.message") is None  # no cause: a random id


def test_instances_and_content_keys_keep_apart_what_differs():
    assert effects.txn_id("one", "k") != effects.txn_id("two", "k")
    with effects.caused_by("row:7"):
        said = effects.content_key("!c", "Règle publiée")
        assert said == effects.content_key("!c", "Règle publiée")
        assert said != effects.content_key("!c", "Règle retirée")
    assert effects.current_event() is None


async def test_a_detached_task_does_not_take_the_commands_cause():
    seen = []

    async def notice() -> None:
        seen.append(effects.current())

    with effects.caused_by("event:$reload"):
        await effects.detached(notice())
        await asyncio.create_task(notice())
    assert seen[0] is None and seen[1].key == "event:$reload"


def test_fresh_policy_rules_go_together_and_one_that_failed_goes_alone():
    rows = [
        (1, "policy", {}, 0),
        (2, "policy", {}, 0),
        (3, "policy", {}, 3),  # failed before
        (4, "policy", {}, 0),
        (5, "membership", {}, 0),
        (6, "policy", {}, 0),
    ]
    assert [[r[0] for r in g] for g in _groups_of_policy(rows)] == [[1, 2], [3], [4], [5], [6]]
