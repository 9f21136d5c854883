"""The bot as an ordinary user, against the tests' real Synapse: Synapse's admin API refuses its
token, and Agora's Synapse module does for it only what it must (behind its secret: tokens,
joins into the rooms the bot manages, deactivation of ordinary local accounts, its own rate
limits), and nothing without the secret. The admin API stays as a fallback an operator
chooses: one story through it."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.errors import MatrixError
from bot.homeserver.admin import register_with_shared_secret
from bot.homeserver.embedded import EmbeddedSynapse
from bot.homeserver.privileges import privileges_for
from tests.conftest import (
    free_port,
    module_secret,
    register,
    server_admin_call,
    vet,
)
from tests.test_territories import eventually, room_ids
from tests.test_web_join import register_with_token

pytestmark = pytest.mark.integration

API = "/_synapse/client/agora/v1/"


@dataclass
class Account:
    """Someone logged in over plain HTTP: the test's own hands on the homeserver."""

    url: str
    user_id: str
    password: str
    token: str

    @classmethod
    async def of(cls, hs: EmbeddedSynapse, name: str, *, admin: bool = False) -> Account:
        user_id, password = await register(hs, name, admin=admin)
        status, data = await call(
            hs.url,
            "POST",
            "/_matrix/client/v3/login",
            {"type": "m.login.password", "user": user_id, "password": password},
        )
        assert status == 200, data
        return cls(hs.url, user_id, password, data["access_token"])

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict]:
        return await call(self.url, method, path, body, {"Authorization": f"Bearer {self.token}"})

    async def room(self, **extra: Any) -> str:
        status, data = await self.call("POST", "/_matrix/client/v3/createRoom", extra)
        assert status == 200, data
        return data["room_id"]

    async def membership(self, room_id: str, user_id: str) -> str | None:
        status, data = await self.call(
            "GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.member/{user_id}"
        )
        return data.get("membership") if status == 200 else None


async def call(
    url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url + path, json=body, headers=headers or {}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


THE_SECRET = "the homeserver's"


async def module(
    hs: EmbeddedSynapse, operation: str, body: dict[str, Any], secret: str | None = THE_SECRET
) -> tuple[int, dict]:
    """One of the module's operations, with the homeserver's secret unless told otherwise
    (``None``: no header at all)."""
    secret = module_secret(hs) if secret is THE_SECRET else secret
    headers = {"X-Agora-Secret": secret} if secret is not None else {}
    return await call(hs.url, "POST", API + operation, body, headers)


async def logs_in(hs: EmbeddedSynapse, user_id: str, password: str) -> bool:
    status, _ = await call(
        hs.url,
        "POST",
        "/_matrix/client/v3/login",
        {"type": "m.login.password", "user": user_id, "password": password},
    )
    return status == 200


async def test_a_bot_in_module_mode_runs_as_an_ordinary_user_the_admin_api_refuses(network):
    agora = network.bot
    assert agora.vetting.outcomes.privileges.mode == "module"
    for method, path, body in (
        ("GET", "/_synapse/admin/v2/users", None),
        ("GET", "/_synapse/admin/v1/registration_tokens", None),
        ("POST", f"/_synapse/admin/v1/join/{agora.control.room_id}", {"user_id": "@x:localhost"}),
        (
            "POST",
            f"/_synapse/admin/v1/reset_password/{network.admin.user_id}",
            {"new_password": "p"},
        ),
    ):
        with pytest.raises(MatrixError) as refused:
            await agora.gateway.raw(method, path, body)
        assert (refused.value.status, refused.value.errcode) == (403, "M_FORBIDDEN"), path


async def test_without_the_secret_the_module_does_nothing(synapse):
    bot = await Account.of(synapse, "agora")
    someone = await Account.of(synapse, "infirmier")
    room = await bot.room(preset="private_chat")
    token = f"agora-0-{secrets.token_urlsafe(8)}"
    expiry = int(time.time() * 1000) + 86_400_000
    for secret in (None, "", "x" * 43, module_secret(synapse)[:-1]):
        for operation, body in (
            ("rooms/join", {"bot": bot.user_id, "room_id": room, "user_id": someone.user_id}),
            ("users/deactivate", {"bot": bot.user_id, "user_id": someone.user_id}),
            (
                "registration_tokens/create",
                {"bot": bot.user_id, "token": token, "expiry_time": expiry},
            ),
            ("ratelimit/exempt", {"bot": bot.user_id}),
            ("rooms/state", {"bot": bot.user_id, "rooms": {room: [someone.user_id]}}),
            ("status", {"bot": bot.user_id}),
            ("no/such/operation", {}),
        ):
            status, data = await module(synapse, operation, body, secret)
            assert (status, data.get("errcode")) == (401, "M_UNAUTHORIZED"), (operation, data)
            assert secret is None or not secret or secret not in data.get("error", "")
    assert await bot.membership(room, someone.user_id) is None  # not joined, not invited
    assert await logs_in(synapse, someone.user_id, someone.password)  # not deactivated
    status, data = await module(
        synapse, "registration_tokens/lookup", {"bot": bot.user_id, "tokens": [token]}
    )
    assert (status, data) == (200, {"tokens": {}})  # no token made
    status, data = await module(synapse, "status", {"bot": bot.user_id})
    assert status == 200 and data["exempt"] is False
    # Nothing of it in Synapse's log: neither the secret nor the token.
    log = synapse.log_path.read_text(errors="replace")
    assert module_secret(synapse) not in log and token not in log


async def test_a_join_only_into_a_room_the_bot_manages_and_only_of_a_local_user(synapse):
    bot = await Account.of(synapse, "agora")
    nurse = await Account.of(synapse, "infirmiere")
    stranger = await Account.of(synapse, "etranger")

    async def join(room_id: str, user_id: str) -> tuple[int, dict]:
        return await module(
            synapse, "rooms/join", {"bot": bot.user_id, "room_id": room_id, "user_id": user_id}
        )

    managed = await bot.room(preset="private_chat", name="Communauté")
    status, data = await join(managed, nurse.user_id)
    assert (status, data) == (200, {"room_id": managed, "already": False}), data
    assert await bot.membership(managed, nurse.user_id) == "join"  # invited by the bot, joined
    assert (await join(managed, nurse.user_id))[1]["already"] is True

    theirs = await stranger.room(preset="private_chat")  # the bot is not in it
    in_without_power = await stranger.room(preset="public_chat")  # in it, without power
    status, _ = await bot.call("POST", f"/_matrix/client/v3/join/{in_without_power}", {})
    assert status == 200
    for room_id in (theirs, in_without_power, "!nowhere:localhost"):
        status, data = await join(room_id, nurse.user_id)
        assert (status, data["errcode"]) == (403, "M_FORBIDDEN"), data
        assert await stranger.membership(room_id, nurse.user_id) is None
    status, data = await join(managed, "@someone:elsewhere.example")  # a remote user
    assert (status, data["errcode"]) == (403, "M_FORBIDDEN")
    status, data = await join(managed, "@nobody-here:localhost")
    assert (status, data["errcode"]) == (404, "M_NOT_FOUND")
    # Acting for someone who is not the bot: refused, whatever the room.
    status, data = await module(
        synapse,
        "rooms/join",
        {"bot": stranger.user_id, "room_id": theirs, "user_id": nurse.user_id},
    )
    assert (status, data["errcode"]) == (403, "M_FORBIDDEN")
    assert await stranger.membership(theirs, nurse.user_id) is None


async def test_rooms_state_reads_only_rooms_the_bot_is_in_without_their_members(synapse):
    bot = await Account.of(synapse, "agora")
    nurse = await Account.of(synapse, "infirmiere")
    invited = await Account.of(synapse, "invitee")
    stranger = await Account.of(synapse, "etranger")
    never = "@jamais:localhost"

    async def states(rooms: Any, acting: str = bot.user_id) -> tuple[int, dict]:
        return await module(synapse, "rooms/state", {"bot": acting, "rooms": rooms})

    managed = await bot.room(preset="private_chat", name="Communauté", topic="Le Vigan")
    for who in (nurse, invited):
        status, _ = await bot.call(
            "POST", f"/_matrix/client/v3/rooms/{managed}/invite", {"user_id": who.user_id}
        )
        assert status == 200
    assert (await nurse.call("POST", f"/_matrix/client/v3/join/{managed}", {}))[0] == 200
    theirs = await stranger.room(preset="private_chat", name="Pas au bot")

    asked = [nurse.user_id, invited.user_id, never, bot.user_id]
    status, data = await states({managed: asked, theirs: [stranger.user_id]})
    assert status == 200, data
    read = data["rooms"][managed]
    assert read["members"] == {
        nurse.user_id: "join",
        invited.user_id: "invite",
        bot.user_id: "join",
    }  # never in the room: absent
    # Every state event the bot reads itself, but the members'.
    status, whole = await bot.call("GET", f"/_matrix/client/v3/rooms/{managed}/state")
    assert status == 200
    expected = {
        (e["type"], e["state_key"]): (e["sender"], e["content"])
        for e in whole
        if e["type"] != "m.room.member"
    }
    got = {(e["type"], e["state_key"]): (e["sender"], e["content"]) for e in read["state"]}
    assert got == expected and got[("m.room.name", "")][1] == {"name": "Communauté"}
    # A room the bot is not in: nothing of it, not even its name.
    assert data["rooms"][theirs] == {"errcode": "M_FORBIDDEN"}
    # Acting for someone who is not the bot: refused.
    status, data = await states({theirs: [stranger.user_id]}, acting=stranger.user_id)
    assert (status, data["errcode"]) == (403, "M_FORBIDDEN")
    # Bad requests, named.
    for rooms, named in (
        ([managed], "'rooms'"),
        ({}, "'rooms'"),
        ({"#alias:localhost": []}, "room ids"),
        ({managed: ["not a user"]}, managed),
        ({f"!r{i}:localhost": [] for i in range(101)}, "100"),
    ):
        status, data = await states(rooms)
        assert (status, data["errcode"]) == (400, "M_INVALID_PARAM"), data
        assert named in data["error"], data


async def test_deactivation_never_of_the_bot_nor_a_server_admin_nor_a_remote_user(synapse):
    bot = await Account.of(synapse, "agora")
    other_bot = await Account.of(synapse, "agora")
    admin = await Account.of(synapse, "root", admin=True)
    revoked = await Account.of(synapse, "revoque")

    async def deactivate(user_id: str) -> tuple[int, dict]:
        return await module(synapse, "users/deactivate", {"bot": bot.user_id, "user_id": user_id})

    for target in (bot, other_bot, admin):
        status, data = await deactivate(target.user_id)
        assert (status, data["errcode"]) == (403, "M_FORBIDDEN"), target.user_id
        assert await logs_in(synapse, target.user_id, target.password)
    status, data = await deactivate("@revoque:elsewhere.example")
    assert (status, data["errcode"]) == (403, "M_FORBIDDEN")
    assert await deactivate(revoked.user_id) == (200, {"deactivated": True})
    assert not await logs_in(synapse, revoked.user_id, revoked.password)
    assert await deactivate(revoked.user_id) == (200, {"deactivated": False})  # done already


async def test_registration_tokens_through_the_module(synapse):
    bot = await Account.of(synapse, "agora")
    token = f"agora-1-{secrets.token_urlsafe(12)}"
    now = int(time.time() * 1000)
    made = {"bot": bot.user_id, "token": token, "expiry_time": now + 86_400_000}
    assert await module(synapse, "registration_tokens/create", made) == (200, {"created": True})
    assert await module(synapse, "registration_tokens/create", made) == (200, {"created": False})
    later = now + 3 * 86_400_000
    status, data = await module(
        synapse, "registration_tokens/renew", {**made, "expiry_time": later}
    )
    assert status == 200 and data["expiry_time"] == later and data["uses_allowed"] == 1
    for wrong in (now - 1, now + 400 * 86_400_000):
        status, _ = await module(
            synapse, "registration_tokens/create", {**made, "expiry_time": wrong}
        )
        assert status == 400
    status, _ = await module(synapse, "registration_tokens/create", {**made, "token": "a b"})
    assert status == 400

    password = secrets.token_urlsafe(12)
    account = await register_with_token(synapse.url, f"ana-{secrets.token_hex(3)}", password, token)
    lookup = {"bot": bot.user_id, "tokens": [token, "agora-0-unknown"]}
    status, data = await module(synapse, "registration_tokens/lookup", lookup)
    assert status == 200 and list(data["tokens"]) == [token]
    assert data["tokens"][token]["completed"] == 1
    asked = {"bot": bot.user_id, "token": token}
    assert await module(synapse, "registration_tokens/account", asked) == (
        200,
        {"user_id": account["user_id"]},
    )
    assert await module(synapse, "registration_tokens/delete", asked) == (200, {"deleted": True})
    assert await module(synapse, "registration_tokens/delete", asked) == (200, {"deleted": False})
    status, _ = await module(synapse, "registration_tokens/renew", {**made, "expiry_time": later})
    assert status == 404


async def test_the_module_exempts_its_bot_and_no_one_else_from_rate_limits(tmp_path):
    """Synapse's default rate limits (10 messages in a burst, then 1 every 5 s): the bot the
    module serves sends 30 at once without a 429, an ordinary user meets one."""
    localpart = f"agora-{secrets.token_hex(3)}"
    hs = EmbeddedSynapse(
        tmp_path, "localhost", free_port(), bot_user=f"@{localpart}:localhost"
    )  # no relaxed limits; the module exempts bot_user as Synapse starts
    await hs.start()
    try:
        bot_id, bot_password = f"@{localpart}:localhost", secrets.token_urlsafe(12)
        async with aiohttp.ClientSession() as http:
            await register_with_shared_secret(
                http, hs.url, hs.secrets()["registration_shared_secret"], localpart, bot_password
            )
        status, data = await call(
            hs.url,
            "POST",
            "/_matrix/client/v3/login",
            {"type": "m.login.password", "user": bot_id, "password": bot_password},
        )
        bot = Account(hs.url, bot_id, bot_password, data["access_token"])
        user = await Account.of(hs, "bavard")
        room = await bot.room(preset="public_chat")
        assert (await user.call("POST", f"/_matrix/client/v3/join/{room}", {}))[0] == 200

        async def statuses(who: Account) -> list[int]:
            out = []
            for i in range(30):
                status, _ = await who.call(
                    "PUT",
                    f"/_matrix/client/v3/rooms/{room}/send/m.room.message/{secrets.token_hex(8)}",
                    {"msgtype": "m.text", "body": f"message {i}"},
                )
                out.append(status)
            return out

        assert set(await statuses(bot)) == {200}
        assert 429 in await statuses(user)  # the limit is there, for others
        # Only its bot: the module exempts no one else, even asked with its secret.
        status, data = await module(hs, "ratelimit/exempt", {"bot": user.user_id})
        assert (status, data["errcode"]) == (403, "M_FORBIDDEN")
        status, data = await module(hs, "status", {"bot": user.user_id})
        assert (data["bot"], data["exempt"]) == (False, False)
        status, data = await module(hs, "status", {"bot": bot_id})
        assert (data["bot"], data["admin"], data["exempt"]) == (True, False, True)
    finally:
        await hs.stop()


async def test_with_admin_privileges_the_bot_does_the_same_through_the_admin_api(
    person, start_bot, synapse
):
    """The fallback an operator chooses: a server-admin bot, the admin API."""
    from tests.test_vetting import network as tree

    sfx = secrets.token_hex(3)
    admin = await person("admin")
    agora = await start_bot(
        [admin.user_id], network=tree(sfx), privileges="admin", server_admin=True
    )
    privileges = privileges_for(agora.config, agora.gateway, agora.data_dir)
    assert privileges.mode == "admin" and agora.vetting.outcomes.privileges.mode == "admin"
    token = f"agora-2-{secrets.token_urlsafe(12)}"
    expires = int(time.time() * 1000) + 86_400_000
    await privileges.new_registration_token(token, expires)
    await privileges.new_registration_token(token, expires)  # once
    assert await privileges.renew_registration_token(token, expires + 1000)
    password = secrets.token_urlsafe(12)
    made = await register_with_token(synapse.url, f"leo-{sfx}", password, token)
    user_id = made["user_id"]
    record = (await privileges.registration_tokens([token, "agora-2-none"]))[token]
    assert (record.completed, record.expiry_time) == (1, expires + 1000)
    assert await eventually(lambda: privileges.registered_with(token), "the account's record") == (
        user_id
    )
    await agora.settled()  # the network made (the reconciler runs beside the start)
    community = (await room_ids(agora))[f"vaucluse-{sfx}.communaute"]
    # A vetted member: enforcement would otherwise withdraw the invitation the admin API's
    # join makes first (the community room is not public), and the join would be refused.
    await vet(agora, user_id, f"vaucluse-{sfx}")
    await privileges.join(community, user_id)
    assert (await agora.gateway.members(community)).get(user_id) == "join"
    await privileges.deactivate(user_id)
    assert not await logs_in(synapse, user_id, password)
    await privileges.delete_registration_token(token)
    assert await privileges.registration_tokens([token]) == {}
    await privileges.exempt_from_rate_limits()
    status, data = await server_admin_call(
        synapse, "GET", f"/_synapse/admin/v1/users/{agora.gateway.user_id}/override_ratelimit"
    )
    assert (status, data) == (200, {"messages_per_second": 0, "burst_count": 0})
