"""People in the tests: real Matrix accounts with real E2EE clients (matrix-nio + vodozemac)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    InviteMemberEvent,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RoomCreateResponse,
    RoomMessage,
    RoomRedactResponse,
    RoomSendResponse,
    UploadResponse,
)
from nio.api import Api

from bot.matrix.crosssigning import CrossSigningKeys

ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


@dataclass
class Seen:
    room_id: str
    event: Event

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def content(self) -> dict[str, Any]:
        return self.event.source.get("content", {})

    @property
    def body(self) -> str:
        return getattr(self.event, "body", "") or ""

    @property
    def encrypted(self) -> bool:
        return bool(getattr(self.event, "decrypted", False))

    @property
    def reply_to(self) -> str | None:
        return self.content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")


@dataclass
class Person:
    client: AsyncClient
    password: str
    seen: list[Seen] = field(default_factory=list)
    invites: set[str] = field(default_factory=set)
    direct_invites: dict[str, str] = field(default_factory=dict)  # room → inviter
    undecryptable: list[Seen] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set)  # the events in seen and undecryptable
    _task: asyncio.Task | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    # The person's cross-signing identity, as Element makes one at first login (None: a
    # client that never set it up).
    cross_signing: CrossSigningKeys | None = None
    # One send at a time, as in a client: nio refuses to share a room key twice at once.
    _sending: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def user_id(self) -> str:
        return self.client.user_id

    @classmethod
    async def login(
        cls,
        url: str,
        user_id: str,
        password: str,
        store: Path,
        *,
        cross_signed: bool = True,
        keys: CrossSigningKeys | None = None,
        poll_ms: int = 1000,
    ) -> Person:
        """Log in with a new device. ``cross_signed``: publish a cross-signing identity (or
        ``keys``, one made before, as a second session of the same person would hold it) and
        sign this device with it, as Element does when it sets up or verifies a session.
        ``poll_ms``: the sync's long poll (a benchmark of a thousand people asks 30 s, as
        Element does: a thousand clients polling each second would load the homeserver)."""
        store.mkdir(parents=True, exist_ok=True)
        client = AsyncClient(
            url,
            user_id,
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        resp = await client.login(password, device_name="test client")
        assert isinstance(resp, LoginResponse), resp
        person = cls(client, password)
        client.add_event_callback(person._on_event, (RoomMessage, ReactionEvent, MegolmEvent))
        client.add_event_callback(person._on_invite, InviteMemberEvent)
        person._task = asyncio.create_task(client.sync_forever(timeout=poll_ms, full_state=True))
        await person.wait_for(
            lambda: client.should_upload_keys is False and client.next_batch is not None,
            "first sync",
        )
        if cross_signed:
            await person.set_up_cross_signing(keys)
        return person

    async def new_session(self, store: Path, *, cross_signed: bool = False) -> Person:
        """The same person logged in on another device (not verified unless asked): a new
        phone, or an attacker with the phished password. Close it when done."""
        keys = self.cross_signing if cross_signed else None
        return await Person.login(
            self.client.homeserver,
            self.user_id,
            self.password,
            store,
            cross_signed=cross_signed,
            keys=keys,
        )

    async def _api(self, method: str, path: str, body: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                method,
                self.client.homeserver + path,
                json=body,
                headers={"Authorization": f"Bearer {self.client.access_token}"},
            ) as resp,
        ):
            data = await resp.json(content_type=None)
            if resp.status >= 400 and resp.status != 401:
                raise AssertionError(f"{method} {path}: {resp.status} {data}")
            return data if resp.status < 400 else data | {"status": 401}

    async def set_up_cross_signing(self, keys: CrossSigningKeys | None = None) -> None:
        """Publish master, self-signing and user-signing keys (unless ``keys`` are already
        this person's published ones) and sign this device with the self-signing key."""
        self.cross_signing = keys or CrossSigningKeys.generate()
        if keys is None:
            body = self.cross_signing.upload_body(self.user_id)
            path = "/_matrix/client/v3/keys/device_signing/upload"
            answer = await self._api("POST", path, body)
            if answer.get("status") == 401:  # keys already there: replacing them needs auth
                body["auth"] = {
                    "type": "m.login.password",
                    "session": answer.get("session", ""),
                    "identifier": {"type": "m.id.user", "user": self.user_id},
                    "password": self.password,
                }
                answer = await self._api("POST", path, body)
                assert answer.get("status") != 401, answer
        await self.sign_device(self.client.device_id)

    async def sign_device(self, device_id: str) -> None:
        """Sign one of this person's devices (this one, or a new session being verified)."""
        assert self.cross_signing is not None, "this person has no cross-signing identity"
        published = await self._api(
            "POST", "/_matrix/client/v3/keys/query", {"device_keys": {self.user_id: []}}
        )
        device = published["device_keys"][self.user_id][device_id]
        signed = self.cross_signing.sign_device(self.user_id, device)
        result = await self._api(
            "POST", "/_matrix/client/v3/keys/signatures/upload", {self.user_id: {device_id: signed}}
        )
        assert not result.get("failures"), result

    async def _on_event(self, room: MatrixRoom, event: Event) -> None:
        if event.event_id in self._ids:  # read back, then come by sync
            return
        self._ids.add(event.event_id)
        seen = Seen(room.room_id, event)
        (self.undecryptable if isinstance(event, MegolmEvent) else self.seen).append(seen)
        self._changed.set()

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            self.invites.add(room.room_id)
            if event.content.get("is_direct"):
                self.direct_invites[room.room_id] = event.sender
            self._changed.set()

    async def wait_for(self, predicate: Callable[[], Any], what: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.user_id}: timed out waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))

    async def close(self) -> None:
        self.client.stop_sync_forever()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    # --- what a person does in a client -----------------------------------------------------

    async def accept_invite(self, room_id: str) -> None:
        await self.wait_for(lambda: room_id in self.invites, f"an invite to {room_id}")
        for _ in range(20):
            resp = await self.client.join(room_id)
            # Over federation the invite reaches this server before the inviting one has
            # stored it (its answer to make_join, just after, is "not invited"): as a person
            # would, try again.
            if "not invited" not in str(getattr(resp, "message", "")):
                break
            await asyncio.sleep(0.25)
        assert getattr(resp, "room_id", None) == room_id, resp
        await self.wait_for(
            lambda: (
                room_id in self.client.rooms and self.user_id in self.client.rooms[room_id].users
            ),
            "the join",
        )
        await self.read_back(room_id)

    async def read_back(self, room_id: str) -> None:
        """Read the room's latest messages, as a client does when it opens a room it just
        joined: over federation, what was sent while this person was only invited reaches
        their server only when asked for (the homeserver backfills it)."""
        resp = await self.client.room_messages(room_id, limit=50)
        wanted = (RoomMessage, ReactionEvent, MegolmEvent)
        for event in reversed(getattr(resp, "chunk", [])):
            if isinstance(event, wanted):
                await self._on_event(self.client.rooms[room_id], event)

    async def accept_direct_chat(self, inviter: str) -> str:
        """Join the direct chat ``inviter`` opened with this person (as Element offers to)."""
        found = await self.wait_for(
            lambda: [r for r, who in self.direct_invites.items() if who == inviter],
            f"a direct chat from {inviter}",
        )
        await self.accept_invite(found[0])
        return found[0]

    async def dm(self, other: str) -> str:
        """Open an encrypted direct chat with ``other`` and wait until they joined."""
        resp = await self.client.room_create(
            is_direct=True, invite=[other], initial_state=[ENCRYPTION_STATE]
        )
        assert isinstance(resp, RoomCreateResponse), resp
        room_id = resp.room_id
        await self.wait_for(
            lambda: room_id in self.client.rooms and other in self.client.rooms[room_id].users,
            f"{other} to join the DM",
        )
        return room_id

    async def say(self, room_id: str, text: str) -> str:
        resp = await self.try_say(room_id, text)
        assert hasattr(resp, "event_id"), resp
        return resp.event_id

    async def try_say(self, room_id: str, text: str) -> Any:
        """Send a message and return the homeserver's answer, refusal included."""
        await self.wait_for(lambda: room_id in self.client.rooms, f"room {room_id} in sync")
        async with self._sending:
            return await self.client.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": text},
                ignore_unverified_devices=True,
            )

    async def answer(self, room_id: str, event_id: str, text: str) -> str:
        """A message replying to another (Element's "reply", without the old quoted fallback)."""
        async with self._sending:
            resp = await self.client.room_send(
                room_id,
                "m.room.message",
                {
                    "msgtype": "m.text",
                    "body": text,
                    "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
                },
                ignore_unverified_devices=True,
            )
        assert hasattr(resp, "event_id"), resp
        return resp.event_id

    async def send_file(
        self, room_id: str, name: str, data: bytes, *, caption: str | None = None
    ) -> str:
        """A file as Element sends one in an encrypted room: encrypted before upload, its key
        in the (encrypted) event; ``caption``: the text sent with it (the spec's captions)."""
        await self.wait_for(lambda: room_id in self.client.rooms, f"room {room_id} in sync")
        mimetype = "text/calendar" if name.endswith(".ics") else "text/csv"
        uploaded, keys = await self.client.upload(
            lambda *_: data, content_type=mimetype, filename=name, encrypt=True, filesize=len(data)
        )
        assert isinstance(uploaded, UploadResponse), uploaded
        assert keys is not None
        content: dict[str, Any] = {
            "msgtype": "m.file",
            "body": caption or name,
            "filename": name,
            "info": {"mimetype": mimetype, "size": len(data)},
            "file": {**keys, "url": uploaded.content_uri},
        }
        async with self._sending:
            resp = await self.client.room_send(
                room_id, "m.room.message", content, ignore_unverified_devices=True
            )
        assert hasattr(resp, "event_id"), resp
        return resp.event_id

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """A reaction as Element sends one in an encrypted room: encrypted, its relation kept
        in the clear for the server's aggregation (nio alone would send it unencrypted)."""
        async with self._sending:
            return await self._react(room_id, event_id, key)

    async def _react(self, room_id: str, event_id: str, key: str) -> str:
        client = self.client
        relation = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        if client.rooms[room_id].encrypted:
            if not client.rooms[room_id].members_synced:
                await client.joined_members(room_id)
            if client.olm.should_share_group_session(room_id):
                await client.share_group_session(room_id, ignore_unverified_devices=True)
            event_type, content = client.encrypt(room_id, "m.reaction", {"m.relates_to": relation})
            content["m.relates_to"] = relation
        else:
            event_type, content = "m.reaction", {"m.relates_to": relation}
        return await self.send_raw(room_id, event_type, content)

    async def redact(self, room_id: str, event_id: str) -> str:
        """Element's "remove" on an event (redactions are not encrypted)."""
        resp = await self.client.room_redact(room_id, event_id)
        assert isinstance(resp, RoomRedactResponse), resp
        return resp.event_id

    async def send_raw(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """An event sent as given (nio would encrypt it again in an encrypted room)."""
        client = self.client
        method, path, data = Api.room_send(
            client.access_token, room_id, event_type, content, uuid.uuid4()
        )
        resp = await client._send(RoomSendResponse, method, path, data, (room_id,))
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    def replies_to(self, event_id: str) -> list[Seen]:
        return [s for s in self.seen if s.reply_to == event_id]

    def reactions_to(self, event_id: str) -> list[str]:
        return [
            s.event.key
            for s in self.seen
            if isinstance(s.event, ReactionEvent) and s.event.reacts_to == event_id
        ]

    async def reply_to(self, event_id: str, timeout: float = 30) -> Seen:
        replies = await self.wait_for(
            lambda: self.replies_to(event_id), f"a reply to {event_id}", timeout
        )
        return replies[0]

    async def reaction_to(self, event_id: str, timeout: float = 30) -> str:
        keys = await self.wait_for(
            lambda: self.reactions_to(event_id), f"a reaction to {event_id}", timeout
        )
        return keys[0]

    async def command(self, room_id: str, text: str) -> tuple[Seen, str]:
        """Send a command; return the bot's reply and its reaction (✅ or ❌)."""
        event_id = await self.say(room_id, text)
        reply = await self.reply_to(event_id)
        return reply, await self.reaction_to(event_id)
