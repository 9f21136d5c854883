"""The one gateway to the homeserver.

nio returns error responses instead of raising them; they are checked here and only here, and
turned into ``MatrixError``. Rate limits (429) honour ``Retry-After`` / ``retry_after_ms`` with
a bounded number of retries; transient 5xx and connection errors back off exponentially. nio's
own retry loops are switched off (``max_limit_exceeded=0``, ``max_timeouts=0``) so nothing
retries twice or busy-loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    EncryptionError,
    ErrorResponse,
    MegolmEvent,
    Response,
    RoomMemberEvent,
)
from nio.crypto import decrypt_attachment
from nio.crypto.attachments import encrypt_attachment
from nio.exceptions import LocalProtocolError

from bot import effects
from bot.errors import AgoraError, FileTooLarge, MatrixError, MatrixUnavailable, Undecryptable
from bot.matrix.content import media
from bot.metrics import Metrics

if TYPE_CHECKING:
    from bot.matrix.login import Session

log = logging.getLogger(__name__)
R = TypeVar("R")


def path_part(value: str) -> str:
    """An id or name put into a URL path, quoted completely: a ``/``, ``?`` or ``#`` in a
    user, room or event id (or a token) never reaches another endpoint."""
    return quote(value, safe="")


TRANSIENT_ERRORS = (aiohttp.ClientError, TimeoutError, ConnectionError, OSError)
# A join refused while the bot holds the room's invitation is tried again this many times
# (about 7 s in all): see Gateway.join.
JOIN_WHEN_INVITED_RETRIES = 4


def _retry_after_seconds(headers: Any, body_ms: int | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    if body_ms:
        return body_ms / 1000
    return None


def client_config(
    pickle_key: str = "", *, encryption: bool = True, **kwargs: Any
) -> AsyncClientConfig:
    """nio settings for a client behind the gateway: nio's own retries off; E2EE on, except for
    tools that only change room structure (`agora-bot plan/apply`)."""
    return AsyncClientConfig(
        encryption_enabled=encryption,
        store_sync_tokens=False,
        pickle_key=pickle_key,
        max_limit_exceeded=0,
        max_timeouts=0,
        **({"store": None} if not encryption else {}),
        **kwargs,
    )


def structure_client(homeserver_url: str, user_id: str, access_token: str) -> AsyncClient:
    """A client for tools that change room structure only (plan/apply, benchmarks): no E2EE
    store, an existing session (no login: nio's login would open an E2EE store)."""
    client = AsyncClient(homeserver_url, user_id, config=client_config(encryption=False))
    client.user_id, client.access_token = user_id, access_token
    return client


async def _json_of(transport: aiohttp.ClientResponse) -> Any:
    """An HTTP answer's JSON body ({} when it has none)."""
    try:
        return await transport.json(content_type=None)
    except (json.JSONDecodeError, aiohttp.ContentTypeError):
        return {}


def _error_of(status: int, payload: Any) -> MatrixError:
    """The error a homeserver's refusal says (its errcode, message and wait)."""
    payload = payload if isinstance(payload, dict) else {}
    return MatrixError(
        status, payload.get("errcode"), payload.get("error", ""), payload.get("retry_after_ms")
    )


class Gateway:
    @classmethod
    def restore(
        cls, url: str, session: Session, crypto_dir: Path, metrics: Metrics, *, max_retries: int
    ) -> Gateway:
        """The bot's client on its saved device, its E2EE store in ``crypto_dir``."""
        crypto_dir.mkdir(mode=0o700, exist_ok=True)
        client = AsyncClient(
            url,
            session.user_id,
            session.device_id,
            store_path=str(crypto_dir),
            config=client_config(session.pickle_key, request_timeout=60),
        )
        client.restore_login(session.user_id, session.device_id, session.access_token)
        return cls(client, metrics, max_retries=max_retries)

    def __init__(
        self,
        client: AsyncClient,
        metrics: Metrics,
        *,
        max_retries: int = 6,
        max_backoff: float = 30.0,
        max_rate_limit_wait: float = 120.0,
    ):
        self.client = client
        self.metrics = metrics
        self.max_retries = max_retries
        self.max_backoff = max_backoff
        self.max_rate_limit_wait = max_rate_limit_wait
        self.synced = asyncio.Event()  # set by the sync loop after each processed sync
        self.instance = ""  # the store's id, part of every derived transaction id
        # Rooms whose keys go only to the devices a policy accepts (the control room).
        self._key_policy: Callable[[str, Any], bool] | None = None
        self._key_rooms: Callable[[], Collection[str]] = tuple
        self._refused: dict[tuple[str, str], set[tuple[str, str]]] = {}  # (room, session)
        self.megolm_indices: dict[str, tuple[str, int]] = {}  # event id → (session, index)
        # The sync lazy-loads members: nio holds a room's whole member list only once
        # ``load_members`` read it in this process (the sync keeps it current from then on).
        self._members_whole: set[str] = set()
        # A room's pinned events are read, changed and written whole: one change at a time,
        # whoever makes it (the documents' index, a workshop's report), or one would undo another.
        self._pinning = asyncio.Lock()
        self._member_syncs: dict[str, int] = {}  # room → syncs that changed its members
        if client.config.max_limit_exceeded != 0 or client.config.max_timeouts != 0:
            raise ValueError("build the nio client with gateway.client_config()")

    @property
    def user_id(self) -> str:
        return self.client.user_id

    @property
    def device_id(self) -> str:
        return self.client.device_id

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff, 0.5 * 2**attempt) * (0.75 + random.random() / 2)

    async def _retrying(
        self, what: str, attempt_once: Callable[[], Awaitable[tuple[int | None, Any, Any]]]
    ) -> Any:
        """Run ``attempt_once`` (→ status, headers, result-or-error) with the retry policy."""
        attempt = 0
        while True:
            try:
                status, headers, result = await attempt_once()
            except TRANSIENT_ERRORS as exc:
                self.metrics.matrix_errors.labels(status="connection").inc()
                if attempt >= self.max_retries:
                    raise MatrixUnavailable(f"{what}: homeserver unreachable ({exc!r})") from exc
                delay = self._backoff(attempt)
                log.warning("%s: %r; retrying in %.1f s", what, exc, delay)
                await asyncio.sleep(delay)
                attempt += 1
                continue
            if not isinstance(result, MatrixError):
                return result
            self.metrics.matrix_errors.labels(status=str(status or result.errcode)).inc()
            if status == 429 or result.errcode == "M_LIMIT_EXCEEDED":
                asked = _retry_after_seconds(headers, result.retry_after_ms)
                delay = self._backoff(attempt) if asked is None else asked
                if attempt >= self.max_retries or delay > self.max_rate_limit_wait:
                    raise result
                log.info("%s: rate limited, waiting %.2f s as asked", what, delay)
                await asyncio.sleep(delay)
            elif status is not None and status >= 500 and attempt < self.max_retries:
                delay = self._backoff(attempt)
                log.warning("%s: HTTP %s; retrying in %.1f s", what, status, delay)
                await asyncio.sleep(delay)
            else:
                raise result
            attempt += 1

    async def call(self, what: str, fn: Callable[[], Awaitable[R]]) -> R:
        """Run a nio call; return its response or raise ``MatrixError``."""

        async def once() -> tuple[int | None, Any, Any]:
            resp = await fn()
            transport = getattr(resp, "transport_response", None)
            status = transport.status if transport is not None else None
            headers = transport.headers if transport is not None else None
            if isinstance(resp, ErrorResponse):
                return (
                    status,
                    headers,
                    MatrixError(status, resp.status_code, resp.message, resp.retry_after_ms),
                )
            return status, headers, resp

        return await self._retrying(what, once)

    async def raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        what: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """An endpoint nio does not wrap (cross-signing, state reads, Agora's Synapse module
        with its secret's ``headers``, the admin API)."""
        what = what or f"{method} {path}"
        url = path
        if query:
            url += "?" + "&".join(f"{k}={path_part(str(v))}" for k, v in query.items())
        headers = {
            "Authorization": f"Bearer {self.client.access_token}",
            "Content-Type": "application/json",
            **(headers or {}),
        }
        data = json.dumps(body) if body is not None else None

        async def once() -> tuple[int | None, Any, Any]:
            return await self._answer(await self.client.send(method, url, data, headers))

        return await self._retrying(what, once)

    @staticmethod
    async def _answer(transport: aiohttp.ClientResponse) -> tuple[int, Any, Any]:
        """An HTTP answer as ``_retrying`` takes it: its status, its headers, and its JSON
        body or the ``MatrixError`` it says."""
        try:
            payload = await _json_of(transport)
        finally:
            transport.release()
        if transport.status >= 400:
            return transport.status, transport.headers, _error_of(transport.status, payload)
        return transport.status, transport.headers, payload

    # --- the calls the bot makes ------------------------------------------------------------

    async def wait_for_room(self, room_id: str, timeout: float = 30.0) -> None:
        """nio needs a room's state (from a sync) before it can encrypt for it."""
        deadline = time.monotonic() + timeout
        while room_id not in self.client.rooms:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MatrixError(
                    None, "AGORA_ROOM_NOT_SYNCED", f"{room_id} did not appear in sync"
                )
            self.synced.clear()
            try:
                await asyncio.wait_for(self.synced.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_for_member(self, room_id: str, user_id: str, timeout: float = 30.0) -> None:
        """Until nio knows ``user_id`` is in (or invited to) the room: a message encrypted
        before that would not be readable by them."""
        await self.wait_for_room(room_id, timeout)
        if user_id not in self.client.rooms[room_id].users:
            await self.load_members(room_id)  # they may be in since before this start
        deadline = time.monotonic() + timeout
        while user_id not in self.client.rooms[room_id].users:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MatrixError(
                    None, "AGORA_MEMBER_NOT_SYNCED", f"{user_id} not seen in {room_id}"
                )
            self.synced.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.synced.wait(), remaining)

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        event_type: str = "m.room.message",
        *,
        txn: str | None = None,
    ) -> str:
        """Send an event (encrypted when the room is); returns its event id. Retries reuse the
        same transaction id, so the homeserver stores the event at most once. The id is derived
        from what caused the send (``bot.effects``) or given by the caller (derived from what it
        sends): a re-run after a crash sends the same ids, and the homeserver answers a repeated
        transaction with the event it already stored. Only work without a cause (a start-up
        notice) gets a random one."""
        key = txn or effects.next_key(room_id, event_type)
        txn = effects.txn_id(self.instance, key) if key else str(uuid.uuid4())
        await self.wait_for_room(room_id)
        await self._ensure_encryption_known(room_id)
        if self.client.rooms[room_id].encrypted:
            await self.load_members(room_id)  # the room key goes to every member's devices
            # Whose devices are not known yet (someone who just joined, the sync's own query
            # not yet made): asked now, or the room key would not reach them.
            if self.client.olm is not None and self.client.should_query_keys:
                await self.call("query keys", self.client.keys_query)
        self.rotate_room_key_if_refused(room_id)

        async def send_once() -> Response:
            try:
                return await self.client.room_send(
                    room_id, event_type, content, tx_id=txn, ignore_unverified_devices=True
                )
            except LocalProtocolError as exc:
                raise MatrixError(None, "AGORA_LOCAL", str(exc)) from exc

        resp = await self.call(f"send to {room_id}", send_once)
        return resp.event_id

    async def upload(self, data: bytes, content_type: str, filename: str = "") -> str:
        """Bytes into the homeserver's content repository; their ``mxc://`` URI. 429s and
        outages as for every call (a retry uploads again: at worst a copy nobody points at)."""
        path = "/_matrix/media/v3/upload"
        if filename:
            path += f"?filename={path_part(filename)}"
        headers = {
            "Authorization": f"Bearer {self.client.access_token}",
            "Content-Type": content_type,
        }

        async def once() -> tuple[int | None, Any, Any]:
            status, answered, payload = await self._answer(
                await self.client.send("POST", path, data, headers)
            )
            if isinstance(payload, MatrixError):
                return status, answered, payload
            uri = payload.get("content_uri") if isinstance(payload, dict) else None
            if not isinstance(uri, str):
                error = MatrixError(status, "AGORA_UPLOAD", "no content_uri in the answer", None)
                return status, answered, error
            return status, answered, uri

        return await self._retrying(f"upload {len(data)} bytes", once)

    async def send_file(
        self,
        room_id: str,
        data: bytes,
        *,
        name: str,
        mimetype: str,
        msgtype: str = "m.file",
        info: dict[str, Any] | None = None,
        reply_to: str | None = None,
        txn: str | None = None,
    ) -> str:
        """A file (``m.file``, ``m.image``…) into a room; its event id. In an encrypted room
        the file is encrypted before it is uploaded (AES-CTR, nio's attachments helper) and
        its key, IV and hash travel in the event, itself encrypted: the homeserver holds only
        ciphertext. Never sent in the clear to a room that is encrypted."""
        await self.wait_for_room(room_id)
        await self._ensure_encryption_known(room_id)
        details = {"mimetype": mimetype, "size": len(data), **(info or {})}
        if self.client.rooms[room_id].encrypted:
            ciphertext, keys = encrypt_attachment(data)
            url = await self.upload(ciphertext, "application/octet-stream")
            content = media(msgtype, name, details, file={**keys, "url": url}, reply_to=reply_to)
        else:
            url = await self.upload(data, mimetype, name)
            content = media(msgtype, name, details, url=url, reply_to=reply_to)
        return await self.send(room_id, content, txn=txn)

    # --- who may read a room: its keys ------------------------------------------------------

    def restrict_room_keys(
        self, rooms: Callable[[], Collection[str]], allowed: Callable[[str, Any], bool]
    ) -> None:
        """Share the Megolm keys of ``rooms()`` only with the member devices ``allowed(user,
        device)`` accepts. matrix-nio 0.26 shares a room's keys with every device of its
        members that is not blacklisted, and its trust marks are global (a blacklisted device
        could not read its owner's direct chats either): so the devices refused here are put
        in the outgoing session's ignore set, right before nio builds the key messages (no
        await in between, so a device that appears meanwhile cannot slip through)."""
        self._key_rooms, self._key_policy = rooms, allowed
        olm = self.client.olm
        if olm is None:
            raise RuntimeError("restrict_room_keys needs the E2EE store loaded (restore_login)")
        for name in ("share_group_session", "share_group_session_parallel"):
            original = getattr(type(olm), name)

            def guarded(room_id: str, users: list[str], *args: Any, _o=original, **kw: Any):
                self._exclude_refused(room_id, users)
                return _o(olm, room_id, users, *args, **kw)

            setattr(olm, name, guarded)

    def _exclude_refused(self, room_id: str, users: list[str]) -> None:
        olm, allowed = self.client.olm, self._key_policy
        if olm is None or allowed is None or room_id not in self._key_rooms():
            return
        current = olm.outbound_group_sessions.get(room_id)
        if current is None or current.shared:
            # nio shares a new session when the current one was shared already (it expired:
            # 100 messages or a week): make it here, so that the ignore set is on the one
            # that will be shared.
            olm.create_outbound_group_session(room_id)
        session = olm.outbound_group_sessions[room_id]
        refused = self._refused.setdefault((room_id, session.id), set())
        for user in users:
            for device in olm.device_store.active_user_devices(user):
                if device.id != self.device_id and not allowed(user, device):
                    session.users_ignored.add((user, device.id))
                    refused.add((user, device.id))

    def remember_megolm_indices(self) -> None:
        """Keep, per event decrypted, its Megolm session and message index
        (``megolm_index``): the bot stores them with what it acts on, so that a ciphertext
        posted again as a new event is recognised after a restart too (nio's own replay check
        lives in memory only)."""
        olm = self.client.olm
        if olm is None:
            raise RuntimeError("remember_megolm_indices needs the E2EE store loaded")
        original = type(olm).message_index_ok

        def noted(message_index: int, event: Any) -> bool:
            if len(self.megolm_indices) > 10_000:  # only the last sync's events are read
                self.megolm_indices.clear()
            self.megolm_indices[event.event_id] = (event.session_id, message_index)
            return original(olm, message_index, event)

        olm.message_index_ok = noted

    def megolm_index(self, event_id: str) -> tuple[str, int] | None:
        return self.megolm_indices.pop(event_id, None)

    def rotate_room_key_if_refused(self, room_id: str) -> bool:
        """Start a new Megolm session for a restricted room when the current one reached a
        device the policy refuses now (its owner lost trust, or left the admins), or when a
        device refused for it is accepted now (it gets the new one). True if rotated."""
        olm, allowed = self.client.olm, self._key_policy
        if olm is None or allowed is None or room_id not in self._key_rooms():
            return False
        session = olm.outbound_group_sessions.get(room_id)
        if session is None:
            return False
        if session.expired:  # the next share makes a new one, through the guard
            olm.outbound_group_sessions.pop(room_id, None)
            return True
        refused = self._refused.get((room_id, session.id), set())

        def device(user: str, device_id: str) -> Any:
            return next(
                (d for d in olm.device_store.active_user_devices(user) if d.id == device_id), None
            )

        stale = any(
            (found := device(u, d)) is None or not allowed(u, found)
            for u, d in session.users_shared_with
        ) or any((found := device(u, d)) is not None and allowed(u, found) for u, d in refused)
        # A device the policy accepts that came after the session was shared (an admin's new
        # session): nio shares a session once, so only a new one reaches it.
        users = {u for u, _ in (*session.users_shared_with, *refused)}
        stale = stale or any(
            d.id != self.device_id
            and (u, d.id) not in session.users_shared_with
            and (u, d.id) not in refused
            and allowed(u, d)
            for u in users
            for d in olm.device_store.active_user_devices(u)
        )
        if stale:
            olm.outbound_group_sessions.pop(room_id, None)
            self._refused.pop((room_id, session.id), None)
            log.info("new room key for %s: who may read it changed", room_id)
        return stale

    async def _ensure_encryption_known(self, room_id: str) -> None:
        """Never send in the clear by mistake: if nio believes a room unencrypted, ask the
        homeserver, and correct nio's view when the room is in fact encrypted."""
        room = self.client.rooms[room_id]
        if room.encrypted:
            return
        if await self.get_state(room_id, "m.room.encryption"):
            # A room just made (its state not synced yet), or nio's view out of date.
            log.info("%s is encrypted but nio did not know it yet; corrected", room_id)
            room.encrypted = True
            self.client.encrypted_rooms.add(room_id)
            # Its members' devices were not tracked while nio thought it in the clear (a
            # member list read then tracked no one): the room key would reach none of them.
            olm = self.client.olm
            if olm is not None and room_id in self._members_whole:
                olm.update_tracked_users(room)
                if self.client.should_query_keys:
                    await self.call("query keys", self.client.keys_query)

    async def resolve(self, ref: str) -> str:
        """A room id as given, or an alias resolved by the homeserver (over federation for
        another server's)."""
        if not ref.startswith("#"):
            return ref
        data = await self.raw(
            "GET", f"/_matrix/client/v3/directory/room/{path_part(ref)}", what=f"resolve {ref}"
        )
        return data["room_id"]

    async def kick(self, room_id: str, user_id: str, reason: str) -> bool:
        """Remove someone from a room (an invitation is withdrawn the same way). False if
        they were gone already (another removal met the same change)."""
        try:
            await self.raw(
                "POST",
                f"/_matrix/client/v3/rooms/{path_part(room_id)}/kick",
                {"user_id": user_id, "reason": reason},
                what=f"remove {user_id}",
            )
        except MatrixError as exc:
            if "not in the room" in exc.message:
                return False
            raise
        return True

    async def remove_everywhere(
        self, room_ids: list[str], user_id: str, reason: str, concurrency: int = 8
    ) -> int:
        """Kick ``user_id`` from each room where they are joined or invited, a few rooms at a
        time; returns from how many."""
        sem = asyncio.Semaphore(concurrency)

        async def one(room_id: str) -> int:
            async with sem:
                if (await self.members(room_id)).get(user_id) not in ("join", "invite"):
                    return 0
                return int(await self.kick(room_id, user_id, reason))

        return sum(await asyncio.gather(*(one(r) for r in room_ids)))

    async def know_device(self, user_id: str, curve: str | None) -> None:
        """The device that sent an event (its Curve25519 key) made known to the E2EE store, its
        keys fetched now if the store has not seen it yet: the answer's room key then reaches
        it (a device created just before its first message may not have come through the
        sync's device lists yet)."""
        if not curve or self.client.olm is None:
            return
        if self.client.device_store.device_from_sender_key(user_id, curve) is not None:
            return
        self.client.olm.users_for_key_query.add(user_id)
        await self.call("query keys", self.client.keys_query)

    async def prepare_encryption(self, room_ids: list[str]) -> None:
        """Before sending into many encrypted rooms at once: every member's devices known and
        an Olm session claimed for each device that has none, in one request for all the rooms
        (rooms sent to concurrently would each claim for the members they share, and use up
        their one-time keys twice). Best effort: a send does what is left itself."""
        client = self.client
        if client.olm is None:
            return
        try:
            rooms = [client.rooms[r] for r in room_ids if r in client.rooms]
            rooms = [room for room in rooms if room.encrypted]
            for room in rooms:  # who is in each, whole (the sync brings members lazily)
                await self.load_members(room.room_id)
            users = sorted({user for room in rooms for user in room.users})
            if not users:
                return
            if client.should_query_keys:
                await self.call("query keys", client.keys_query)
            missing = client.olm.get_missing_sessions(users)
            if missing:
                await self.call("claim one-time keys", lambda: client.keys_claim(missing))
        except AgoraError as exc:
            log.info("could not prepare the rooms' encryption ahead: %s", exc)

    async def typing(self, room_id: str, on: bool, timeout_ms: int = 30_000) -> None:
        """The bot shown typing in ``room_id`` (for ``timeout_ms`` at most), or no longer."""
        await self.call("typing", lambda: self.client.room_typing(room_id, on, timeout_ms))

    async def read_receipt(self, room_id: str, event_id: str) -> None:
        """``event_id`` (and what came before it) marked read by the bot: an unthreaded
        receipt, which every client shows."""
        # Raw: nio sends a thread_id always ("main" by default, a threaded receipt).
        await self.raw(
            "POST",
            f"/_matrix/client/v3/rooms/{path_part(room_id)}/receipt/m.read/{path_part(event_id)}",
            {},
            what="receipt",
        )

    async def react(self, room_id: str, event_id: str, key: str, *, txn: str | None = None) -> str:
        """An annotation; the same one sent again (a re-run) is not an error. ``txn``: as for
        ``send``."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        try:
            return await self.send(room_id, content, "m.reaction", txn=txn)
        except MatrixError as exc:
            if exc.errcode == "M_DUPLICATE_ANNOTATION":
                return ""
            raise

    async def create_room(self, **kwargs: Any) -> str:
        resp = await self.call("create room", lambda: self.client.room_create(**kwargs))
        return resp.room_id

    async def invite(self, room_id: str, user_id: str, *, again_ok: bool = False) -> None:
        """``again_ok``: someone already in (or invited to) the room is not an error (a
        re-run after a crash, a member asked twice)."""
        try:
            await self.call(f"invite {user_id}", lambda: self.client.room_invite(room_id, user_id))
        except MatrixError as exc:
            if not (again_ok and "already" in exc.message):
                raise

    async def join(self, room_id: str) -> None:
        """Join a room. An invitation from another server can arrive before that server can
        answer a join with it (Synapse with workers: it sends the invitation, then stores it,
        and another process answers make_join): a join refused while the bot holds the room's
        invitation is tried again a few times."""
        attempt = 0
        while True:
            try:
                await self.call(f"join {room_id}", lambda: self.client.join(room_id))
                return
            except MatrixError as exc:
                invited = room_id in self.client.invited_rooms
                if exc.status != 403 or not invited or attempt >= JOIN_WHEN_INVITED_RETRIES:
                    raise
            delay = self._backoff(attempt)
            log.info("join %s refused while invited; trying again in %.1f s", room_id, delay)
            await asyncio.sleep(delay)
            attempt += 1

    async def leave(self, room_id: str) -> None:
        await self.call(f"leave {room_id}", lambda: self.client.room_leave(room_id))

    async def members(self, room_id: str) -> dict[str, str]:
        """user id → membership, from the homeserver (not nio's cache); empty if the bot may
        not see the room."""
        try:
            data = await self.raw("GET", f"/_matrix/client/v3/rooms/{path_part(room_id)}/members")
        except MatrixError as exc:
            if exc.status == 403:
                return {}
            raise
        return {
            ev["state_key"]: ev["content"].get("membership", "leave")
            for ev in data.get("chunk", [])
        }

    def synced_members(self, room_id: str) -> dict[str, str] | None:
        """user id → join or invite, as the sync has kept it (no request). None for a room
        whose whole member list the bot has not read in this process (the sync brings members
        lazily: ``load_members``), or that the sync does not hold."""
        room = self.client.rooms.get(room_id)
        if room is None or room_id not in self._members_whole:
            return None
        return {u: "invite" if u in room.invited_users else "join" for u in room.users}

    # --- who is in a room, kept from the sync -----------------------------------------------

    def members_changed(self, room_ids: Collection[str], left: Collection[str] = ()) -> None:
        """What the sync loop tells right after nio took in a sync: the rooms whose members it
        changed, and those the bot is out of (their list is read again if it comes back)."""
        for room_id in room_ids:
            self._member_syncs[room_id] = self._member_syncs.get(room_id, 0) + 1
        for room_id in left:
            self._members_whole.discard(room_id)
            self._member_syncs[room_id] = self._member_syncs.get(room_id, 0) + 1

    async def load_members(self, room_id: str, attempts: int = 3) -> bool:
        """nio's view of who is in ``room_id`` (joined or invited) made whole from the
        homeserver, once per room and process; True if it is whole. The sync lazy-loads
        members (those whose events it carries; every change after that), so this is needed
        before a room key is shared (an invited person must get it too) or members are counted
        from the sync. A list read while a sync changed the room's members is read again: it
        could be older than what nio holds."""
        if room_id in self._members_whole:
            return True
        for _ in range(attempts):
            seen = self._member_syncs.get(room_id, 0)
            data = await self.raw(
                "GET",
                f"/_matrix/client/v3/rooms/{path_part(room_id)}/members",
                query={"not_membership": "leave"},
                what=f"members of {room_id}",
            )
            room = self.client.rooms.get(room_id)
            if room is None:
                return False
            if self._member_syncs.get(room_id, 0) != seen:
                continue
            # No await from here on: no sync can come in between.
            present: set[str] = set()
            for source in data.get("chunk", []):
                event = RoomMemberEvent.from_dict(source)
                if isinstance(event, RoomMemberEvent):
                    room.handle_membership(event)
                    if event.membership in ("join", "invite"):
                        present.add(event.state_key)
            for user_id in [u for u in room.users if u not in present]:
                room.remove_member(user_id)  # gone since nio learnt of them
            room.members_synced = True
            if room.encrypted and self.client.olm is not None:
                self.client.olm.update_tracked_users(room)
            self._members_whole.add(room_id)
            break
        else:
            log.warning("%s: its members kept changing while read; read again later", room_id)
            return False
        if self.client.olm is not None and self.client.should_query_keys:
            await self.call("query keys", self.client.keys_query)
        return True

    async def get_state(self, room_id: str, event_type: str, state_key: str = "") -> dict | None:
        try:
            return await self.raw(
                "GET",
                f"/_matrix/client/v3/rooms/{path_part(room_id)}/state/"
                f"{path_part(event_type)}/{path_part(state_key)}",
            )
        except MatrixError as exc:
            if exc.status == 404:
                return None
            raise

    async def put_state(
        self, room_id: str, event_type: str, content: dict, state_key: str = ""
    ) -> str:
        data = await self.raw(
            "PUT",
            f"/_matrix/client/v3/rooms/{path_part(room_id)}/state/"
            f"{path_part(event_type)}/{path_part(state_key)}",
            content,
        )
        return data.get("event_id", "")

    async def change_pins(
        self, room_id: str, add: Collection[str] = (), remove: Collection[str] = ()
    ) -> bool:
        """Events pinned in (``add``, after those pinned already) or taken out of
        (``remove``) a room's ``m.room.pinned_events``, the others kept; False if nothing
        changed."""
        async with self._pinning:
            state = await self.get_state(room_id, "m.room.pinned_events") or {}
            pinned = [e for e in state.get("pinned") or [] if isinstance(e, str)]
            wanted = [e for e in pinned if e not in remove]
            wanted += [e for e in dict.fromkeys(add) if e not in wanted and e not in remove]
            if wanted == pinned:
                return False
            await self.put_state(room_id, "m.room.pinned_events", {"pinned": wanted})
            return True

    async def event(self, room_id: str, event_id: str) -> tuple[str, dict[str, Any]]:
        """One event of a room, as (sender, content), decrypted if it was encrypted (with the
        room key the bot holds). ``MatrixError`` if the homeserver will not give it,
        ``Undecryptable`` if the bot cannot read it."""
        source = await self.raw(
            "GET",
            f"/_matrix/client/v3/rooms/{path_part(room_id)}/event/{path_part(event_id)}",
            what="GET an event",
        )
        sender = source.get("sender", "")
        if source.get("type") != "m.room.encrypted":
            return sender, source.get("content") or {}
        encrypted = MegolmEvent.from_dict(source)
        if not isinstance(encrypted, MegolmEvent):
            raise Undecryptable(event_id)
        encrypted.room_id = room_id
        try:
            clear = self.client.decrypt_event(encrypted)
        except (EncryptionError, KeyError, ValueError) as exc:
            raise Undecryptable(event_id) from exc
        if isinstance(clear, MegolmEvent):
            raise Undecryptable(event_id)
        return sender, clear.source.get("content") or {}

    async def download(self, attachment: dict[str, Any], max_bytes: int) -> bytes:
        """A file from the content repository (authenticated media), at most ``max_bytes``, and
        decrypted when it was sent encrypted (its hash checked). ``FileTooLarge`` beyond the
        limit, ``MatrixError`` if the homeserver will not give it, ``Undecryptable`` if it
        does not decrypt."""
        encrypted = attachment.get("file")
        mxc = encrypted["url"] if encrypted else attachment.get("url", "")
        server, _, media_id = str(mxc).removeprefix("mxc://").partition("/")
        if not str(mxc).startswith("mxc://") or not server or not media_id or "/" in media_id:
            raise MatrixError(None, "AGORA_BAD_MXC", "not a content URI")
        url = f"/_matrix/client/v1/media/download/{path_part(server)}/{path_part(media_id)}"
        headers = {"Authorization": f"Bearer {self.client.access_token}"}

        async def once() -> tuple[int | None, Any, Any]:
            transport = await self.client.send("GET", url, None, headers)
            try:
                if transport.status >= 400:
                    error = _error_of(transport.status, await _json_of(transport))
                    return transport.status, transport.headers, error
                data = await transport.content.read(max_bytes + 1)
                while len(data) <= max_bytes and (more := await transport.content.read(65536)):
                    data += more
            finally:
                transport.release()
            return transport.status, transport.headers, data

        data: bytes = await self._retrying("GET media", once)
        if len(data) > max_bytes:
            raise FileTooLarge(max_bytes)
        if not encrypted:
            return data
        try:
            return decrypt_attachment(
                data,
                encrypted["key"]["k"],
                encrypted["hashes"]["sha256"],
                encrypted["iv"],
            )
        except (EncryptionError, KeyError, TypeError, ValueError) as exc:
            raise Undecryptable(mxc) from exc

    async def query_keys(self, user_ids: list[str]) -> dict[str, Any]:
        return await self.raw(
            "POST", "/_matrix/client/v3/keys/query", {"device_keys": {u: [] for u in user_ids}}
        )
