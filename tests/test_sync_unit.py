"""What a sync response is to the bot (``extract``), from responses as nio parses them."""

from nio import SyncResponse

from bot.matrix.sync import Left, Redaction, extract, redacted_by, revive, sync_filter

BOT = "@agora:localhost"


def response(join_timeline: list[dict], leave: dict | None = None) -> SyncResponse:
    parsed = SyncResponse.from_dict(
        {
            "next_batch": "s2",
            "rooms": {
                "join": {
                    "!control:localhost": {
                        "timeline": {"events": join_timeline, "limited": False},
                        "state": {"events": []},
                    }
                },
                "leave": leave or {},
            },
        }
    )
    assert isinstance(parsed, SyncResponse), parsed
    return parsed


def event(n: int, type_: str, content: dict, sender: str = "@admin:localhost", **extra) -> dict:
    return {
        "type": type_,
        "event_id": f"$e{n}",
        "sender": sender,
        "origin_server_ts": 1000 + n,
        "content": content,
        **extra,
    }


def test_a_redaction_is_picked_out_in_both_room_version_shapes():
    batch = extract(
        response(
            [
                event(1, "m.room.redaction", {}, redacts="$old"),  # before v11: top level
                event(2, "m.room.redaction", {"redacts": "$reaction"}),  # v11 and later
                event(3, "m.room.redaction", {"redacts": "$mine"}, sender=BOT),  # its own
            ]
        ),
        BOT,
        "!",
        history=True,
    )
    assert [(r.event_id, r.redacts) for r in batch.redactions] == [
        ("$e1", "$old"),
        ("$e2", "$reaction"),
    ]
    # Recorded with the sync token, and read back the same.
    recorded = [(k, fields) for k, _, _, fields in batch.durable() if k == "redaction"]
    assert revive(*recorded[1]) == Redaction(
        "!control:localhost", "$e2", "@admin:localhost", "$reaction"
    )


def test_redacted_by_refuses_what_is_not_a_redaction():
    assert redacted_by({"type": "m.room.message", "redacts": "$x"}) is None
    assert redacted_by({"type": "m.room.redaction", "content": {"redacts": 3}}) is None


def test_a_room_the_bot_was_removed_from_is_kept_with_who_did_it():
    kicked = {
        "timeline": {
            "events": [
                event(
                    9,
                    "m.room.member",
                    {"membership": "ban"},
                    sender="@mod:localhost",
                    state_key=BOT,
                )
            ]
        },
        "state": {"events": []},
    }
    batch = extract(response([], leave={"!room:localhost": kicked}), BOT, "!", history=True)
    assert batch.left == [Left("!room:localhost", "@mod:localhost", "ban", "$e9")]
    assert ("left", "!room:localhost", "$e9") in [(k, r, e) for k, r, e, _ in batch.durable()]


def test_a_direct_chat_is_recognised_by_the_bot_that_opened_it():
    from bot.matrix.direct import opened_for

    made = {"sender": BOT, "content": {"for": "@nurse:localhost"}}
    assert opened_for(made, BOT) == "@nurse:localhost"
    assert opened_for(made | {"sender": "@someone:localhost"}, BOT) is None  # not its own
    assert opened_for({"sender": BOT, "content": {}}, BOT) is None
    assert opened_for({"sender": BOT, "content": {"for": "nobody"}}, BOT) is None


async def test_a_gap_read_back_comes_in_order_and_its_state_is_not_taken_twice():
    """A limited timeline completed from /messages: the missed events come first, oldest
    first, and the state block's summary of the gap (here a join) gives way to the events
    themselves (a join, then a leave), which the bot then sees in their order."""
    from types import SimpleNamespace

    from nio import RoomMessagesResponse

    from bot.matrix.sync import SyncLoop

    join = event(1, "m.room.member", {"membership": "join"}, state_key="@x:localhost")
    message = event(2, "m.room.message", {"msgtype": "m.text", "body": "!ping"})
    leave = event(3, "m.room.member", {"membership": "leave"}, state_key="@x:localhost")
    parsed = SyncResponse.from_dict(
        {
            "next_batch": "s2",
            "rooms": {
                "join": {
                    "!control:localhost": {
                        "timeline": {"events": [leave], "limited": True, "prev_batch": "p1"},
                        "state": {"events": [join]},
                    }
                }
            },
        }
    )
    pages = {
        # Newest first, as /messages pages backwards; the second page ends the gap.
        "p1": {"chunk": [message, join], "start": "p1", "end": "p0"},
        "p0": {"chunk": [], "start": "p0", "end": "p0"},
    }
    asked: list[str] = []

    async def call(what, make):
        return await make()

    async def room_messages(room_id, start, end, direction, limit):
        asked.append(start)
        return RoomMessagesResponse.from_dict(pages[start], room_id)

    gateway = SimpleNamespace(call=call, client=SimpleNamespace(room_messages=room_messages))
    loop = SyncLoop(gateway, None, None, lambda: "!", None)  # type: ignore[arg-type]
    assert await loop.fill_gaps(parsed, since="s1") == 2
    info = parsed.rooms.join["!control:localhost"]
    assert [e.event_id for e in info.timeline.events] == ["$e1", "$e2", "$e3"]
    assert info.state == []
    assert asked == ["p1", "p0"]


def _message(content: dict) -> object:
    from nio import Event

    return Event.parse_event(
        {
            "type": "m.room.message",
            "event_id": "$e",
            "sender": "@coord:x",
            "origin_server_ts": 1,
            "content": content,
        }
    )


def test_a_file_is_a_command_by_its_caption_and_a_reply_names_what_it_answers():
    from bot.matrix.sync import acted_on
    from bot.store import InboxRow

    def row(content: dict) -> InboxRow | None:
        found = acted_on(_message(content), "!r", "@bot:x", "!", frozenset())
        assert found is None or isinstance(found, InboxRow)
        return found

    clear = {"msgtype": "m.file", "url": "mxc://x/abc", "info": {"size": 12}}
    captioned = row({**clear, "body": "!garde import", "filename": "garde.csv"})
    assert captioned is not None and captioned.body == "!garde import"
    assert captioned.attachment == {
        "name": "garde.csv", "mimetype": "", "size": 12, "url": "mxc://x/abc"
    }  # fmt: skip
    assert row({**clear, "body": "garde.csv", "filename": "garde.csv"}) is None  # no caption
    assert row({**clear, "body": "garde.csv"}) is None  # an older client: the name only
    assert row({**clear, "body": "voici le planning", "filename": "g.csv"}) is None  # chat
    assert row({"msgtype": "m.file", "body": "!garde import", "filename": "g.csv"}) is None

    reply = row(
        {
            "msgtype": "m.text",
            "body": "> <@coord:x> garde.csv\n\n!garde import",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$file"}},
        }
    )
    assert reply is not None and reply.body == "!garde import" and reply.reply_to == "$file"
    edit = {"msgtype": "m.text", "body": "!ping", "m.relates_to": {"rel_type": "m.replace"}}
    assert row(edit) is None


def test_a_start_asks_for_what_nio_needs_to_send_and_members_lazily():
    """The first sync of a new bot (no token) is not acted on: one event per room (the
    homeserver would otherwise work out each room's state a hundred events back). A start's
    full-state sync asks only for the state nio needs to send (encryption, members), members
    lazily with their events. Later syncs bring every membership change, a gap's included."""
    new, start, later = (
        sync_filter(BOT, start=True, initial=True),
        sync_filter(BOT, start=True),
        sync_filter(BOT),
    )
    assert [f["room"]["timeline"]["limit"] for f in (new, start, later)] == [1, 100, 100]
    for f in (new, start):
        assert f["room"]["state"]["types"] == [
            "m.room.create",
            "m.room.encryption",
            "m.room.member",
        ]
    assert "types" not in later["room"]["state"]  # every change of state, drift included
    for f in (new, start):
        for part in ("state", "timeline"):
            assert f["room"][part]["lazy_load_members"] is True
            assert f["room"][part]["include_redundant_members"] is True
    assert "lazy_load_members" not in later["room"]["state"]
    assert "lazy_load_members" not in later["room"]["timeline"]


def test_a_sync_of_joins_without_commands_is_followed_after_a_pause_and_a_command_at_once():
    from bot.matrix.sync import Batch, Membership, SyncLoop
    from bot.store import InboxRow

    pause = [0.3]
    loop = SyncLoop(
        None,
        None,
        None,
        lambda: "!",
        None,
        pause_after_joins=lambda: pause[0],  # type: ignore[arg-type]
    )
    joined = Membership("!r:localhost", "@ide:localhost", "join", "@agora:localhost", "$j")
    command = InboxRow("$c", "!control:localhost", "@admin:localhost", "!ping", True, 1)
    assert loop.pause_before_next(Batch(memberships=[joined])) == 0.3
    assert loop.pause_before_next(Batch(memberships=[joined], commands=[command])) == 0.0
    assert loop.pause_before_next(Batch()) == 0.0  # the bot's own echoes, a chat: no wait
    pause[0] = 0.0  # the setting turned off (a reload)
    assert loop.pause_before_next(Batch(memberships=[joined])) == 0.0
