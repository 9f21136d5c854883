"""The direct chats' mark written again when someone joins from another homeserver."""

from __future__ import annotations

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
