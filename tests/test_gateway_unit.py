"""The gateway's error policy against a real HTTP server on loopback (no mocks of nio)."""

import contextlib
import time

import pytest
from aiohttp import web
from nio import AsyncClient, MatrixInvitedRoom, MatrixRoom

from bot.errors import MatrixError
from bot.matrix.gateway import Gateway, client_config
from bot.metrics import Metrics


@contextlib.asynccontextmanager
async def local_gateway(handler, method: str = "*", path: str = "/{tail:.*}"):
    """A gateway whose homeserver is ``handler`` on loopback (a real HTTP server, real nio)."""
    app = web.Application()
    app.router.add_route(method, path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    client = AsyncClient(f"http://127.0.0.1:{port}", "@agora:x", "DEV", config=client_config("k"))
    client.access_token = "t"
    try:
        yield Gateway(client, Metrics(), max_retries=2, max_backoff=0.05)
    finally:
        await client.close()
        await runner.cleanup()


@pytest.fixture
async def server():
    calls = {"n": 0, "times": []}
    answers: list[web.Response] = []

    async def handler(request):
        calls["n"] += 1
        calls["times"].append(time.monotonic())
        return answers.pop(0)

    async with local_gateway(handler) as gateway:
        yield gateway, answers, calls


def limited(retry_after: str | None = None, body_ms: int | None = None) -> web.Response:
    body = {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests"}
    if body_ms is not None:
        body["retry_after_ms"] = body_ms
    headers = {"Retry-After": retry_after} if retry_after else {}
    return web.json_response(body, status=429, headers=headers)


async def test_429_honours_retry_after_then_succeeds(server):
    gateway, answers, calls = server
    answers += [limited(retry_after="1"), web.json_response({"ok": True})]
    assert await gateway.raw("GET", "/x") == {"ok": True}
    assert calls["times"][1] - calls["times"][0] >= 0.95  # waited as asked
    assert 'status="429"' in gateway.metrics.render().decode()


async def test_429_honours_retry_after_ms_in_body_through_nio(server):
    gateway, answers, calls = server
    answers += [
        limited(body_ms=300),
        web.json_response({"user_id": "@agora:x", "device_id": "DEV"}),
    ]
    resp = await gateway.call("whoami", gateway.client.whoami)
    assert resp.user_id == "@agora:x"
    assert calls["times"][1] - calls["times"][0] >= 0.29


async def test_retries_are_bounded(server):
    gateway, answers, calls = server
    answers += [limited(body_ms=1) for _ in range(5)]
    with pytest.raises(MatrixError) as err:
        await gateway.raw("GET", "/x")
    assert err.value.status == 429
    assert calls["n"] == 3  # one try and max_retries=2 more, then the error surfaces


async def test_transient_5xx_backs_off_then_succeeds(server):
    gateway, answers, _ = server
    answers += [
        web.json_response({"errcode": "M_UNKNOWN", "error": "boom"}, status=502),
        web.json_response({"ok": 1}),
    ]
    assert await gateway.raw("GET", "/x") == {"ok": 1}


async def test_client_errors_are_not_retried(server):
    gateway, answers, calls = server
    answers += [web.json_response({"errcode": "M_FORBIDDEN", "error": "no"}, status=403)]
    with pytest.raises(MatrixError) as err:
        await gateway.raw("GET", "/x")
    assert (err.value.status, err.value.errcode, calls["n"]) == (403, "M_FORBIDDEN", 1)


def not_invited() -> web.Response:
    return web.json_response(
        {"errcode": "M_FORBIDDEN", "error": "You are not invited to this room."}, status=403
    )


async def test_a_join_refused_while_invited_is_tried_again_until_the_inviter_caught_up(server):
    gateway, answers, calls = server
    gateway.client.invited_rooms["!r:x"] = MatrixInvitedRoom("!r:x", "@agora:x")
    answers += [not_invited(), not_invited(), web.json_response({"room_id": "!r:x"})]
    await gateway.join("!r:x")
    assert calls["n"] == 3


async def test_a_join_refused_without_an_invitation_is_not_tried_again(server):
    gateway, answers, calls = server
    answers += [not_invited(), web.json_response({"room_id": "!r:x"})]
    with pytest.raises(MatrixError) as err:
        await gateway.join("!r:x")
    assert err.value.status == 403 and calls["n"] == 1


# --- who is in a room: read whole once, kept from the sync -----------------------------------

ROOM = "!room:x"


def membership(user: str, state: str) -> dict:
    return {
        "type": "m.room.member",
        "state_key": user,
        "sender": user,
        "event_id": f"${user[1:]}-{state}",
        "origin_server_ts": 1,
        "content": {"membership": state},
    }


async def test_a_member_list_read_while_a_sync_changed_the_room_is_read_again():
    """The sync lazy-loads members, so a room's list is read whole when needed; one read while
    a sync changed that room's members may be older than what nio holds (a removal it just
    took in), so it is read again and only an undisturbed read is taken."""
    reads = [
        [membership("@agora:x", "join"), membership("@a:x", "join"), membership("@b:x", "join")],
        [membership("@agora:x", "join"), membership("@a:x", "join"), membership("@c:x", "invite")],
    ]
    seen: list[str] = []

    async def handler(request):
        seen.append(request.query.get("not_membership", ""))
        chunk = reads.pop(0)
        if reads:  # meanwhile a sync brings @b's removal and @c's invitation
            gateway.members_changed([ROOM])
        return web.json_response({"chunk": chunk})

    async with local_gateway(handler) as gateway:
        gateway.client.rooms[ROOM] = MatrixRoom(ROOM, gateway.user_id)
        gateway.client.rooms[ROOM].add_member("@b:x", None, None)  # lazily synced: a sender
        assert gateway.synced_members(ROOM) is None  # not whole: nobody counts on it
        assert await gateway.load_members(ROOM)
        assert gateway.synced_members(ROOM) == {
            "@agora:x": "join",
            "@a:x": "join",
            "@c:x": "invite",
        }
        assert seen == ["leave", "leave"]  # leavers are not read at all
        assert await gateway.load_members(ROOM)  # whole now: not read a third time
        assert not reads and len(seen) == 2

        gateway.members_changed([], left=[ROOM])  # the bot is out: read again if it is back
        assert gateway.synced_members(ROOM) is None
