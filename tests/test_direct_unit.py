"""Direct chats: one a person, opened side by side for different people; the mark written
again when someone joins from another homeserver."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import MatrixError
from bot.matrix.direct import DM_MARK, DirectChats


class _Gateway:
    """Answers ``put_state`` as the homeserver would: with an error, or by keeping it."""

    def __init__(self, status: int | None = None):
        self.status = status
        self.written: list[tuple[str, str, dict]] = []

    async def put_state(self, room_id: str, event_type: str, content: dict) -> str:
        if self.status is not None:
            raise MatrixError(self.status, "M_FORBIDDEN", "no")
        self.written.append((room_id, event_type, content))
        return "$e"


async def test_the_mark_is_written_again_naming_the_person_and_their_join():
    gateway = _Gateway()
    await DirectChats(gateway, None).joined_from_afar("!dm:a", "@sf:b")  # type: ignore[arg-type]
    assert gateway.written == [("!dm:a", DM_MARK, {"for": "@sf:b", "joined": True})]


async def test_a_chat_the_person_opened_where_the_bot_may_not_write_state_is_left_as_it_is():
    await DirectChats(_Gateway(403), None).joined_from_afar("!dm:a", "@sf:b")  # type: ignore[arg-type]
    with pytest.raises(MatrixError):  # anything else: the event is handled again later
        await DirectChats(_Gateway(502), None).joined_from_afar("!dm:a", "@sf:b")  # type: ignore[arg-type]


class _Opening:
    """A homeserver where opening a chat takes a while, and a store that keeps them."""

    def __init__(self):
        self.created: list[str] = []
        self.in_flight = self.most_in_flight = 0
        self.dms: dict[str, str] = {}

    async def raw(self, method: str, path: str, body: dict, what: str) -> dict:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.05)
        self.in_flight -= 1
        self.created.append(body["invite"][0])
        return {"room_id": f"!dm{len(self.created)}:a"}

    async def wait_for_member(self, room_id: str, user_id: str) -> None:
        await asyncio.sleep(0.01)

    async def dm_with(self, user_id: str) -> str | None:
        return self.dms.get(user_id)

    async def add_room(self, room_id: str, kind: str, user_id: str) -> None:
        self.dms[user_id] = room_id

    async def dm_rooms(self) -> frozenset[str]:
        return frozenset(self.dms.values())


async def test_chats_with_different_people_are_opened_side_by_side_and_one_each():
    fake = _Opening()
    direct = DirectChats(fake, fake)  # type: ignore[arg-type]
    people = [f"@p{n}:a" for n in range(5)]
    rooms = await asyncio.gather(*(direct.room_for(p) for p in [*people, *people]))
    assert sorted(fake.created) == sorted(people)  # one chat each, though asked twice at once
    assert rooms[:5] == rooms[5:]
    assert fake.most_in_flight == 5  # not one after the other
    assert direct.rooms == frozenset(rooms)
    assert len(direct._locks) == 0  # no lock kept for anyone once done
