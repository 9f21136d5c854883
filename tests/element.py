"""An Element-equivalent client for the tests: matrix-js-sdk with its Rust crypto (WASM), the
stack Element Web runs, kept running in a Node process (tests/js/driver.mjs) and driven from
here over JSON lines. Several calls may be in flight at once.

    element = await ElementClient.login(synapse.url, user_id, password)
    room_id = await element.wait_for_invite(from_user=alice.user_id)
    await element.join(room_id)
    seen = await element.wait_for_event(room_id, sender=alice.user_id, body_contains="hello")
    assert not seen["decryptionFailure"]
    await element.close()
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

JS = Path(__file__).parent / "js"
DRIVER = JS / "driver.mjs"


class ElementClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.user_id = ""
        self.device_id = ""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stderr: collections.deque[str] = collections.deque(maxlen=60)
        self._reader = asyncio.create_task(self._read_stdout())
        self._err_reader = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls) -> ElementClient:
        node = shutil.which("node")
        assert node, "Node.js is needed for the matrix-js-sdk client (make install sets it up)"
        assert (JS / "node_modules" / "matrix-js-sdk").exists(), (
            "tests/js/node_modules/matrix-js-sdk is missing: run `make install-test-client` "
            "(npm ci --prefix tests/js)"
        )
        proc = await asyncio.create_subprocess_exec(
            node,
            str(DRIVER),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=JS,
            limit=16 * 1024 * 1024,
        )
        return cls(proc)

    @classmethod
    async def login(
        cls, base_url: str, user_id: str, password: str, device_name: str = "Element (test)"
    ) -> ElementClient:
        client = await cls.start()
        try:
            answer = await client.request(
                "login",
                timeout=90,
                baseUrl=base_url,
                user=user_id,
                password=password,
                deviceName=device_name,
            )
        except BaseException:
            await client.close()
            raise
        client.user_id, client.device_id = answer["userId"], answer["deviceId"]
        return client

    # --- plumbing ---------------------------------------------------------------------------

    def stderr_tail(self) -> str:
        return "".join(self._stderr)

    async def _read_stdout(self) -> None:
        assert self.proc.stdout
        try:
            while line := await self.proc.stdout.readline():
                try:
                    message = json.loads(line)
                except ValueError:
                    self._stderr.append(f"[stdout, not JSON] {line.decode(errors='replace')}")
                    continue
                future = self._pending.pop(message.get("id"), None)
                if future and not future.done():
                    future.set_result(message)
        finally:
            await self.proc.wait()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(
                        AssertionError(
                            f"the JS client exited (code {self.proc.returncode}):\n"
                            + self.stderr_tail()
                        )
                    )
            self._pending.clear()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr
        while line := await self.proc.stderr.readline():
            self._stderr.append(line.decode(errors="replace"))

    async def request(self, op: str, *, timeout: float = 60, **args: Any) -> dict[str, Any]:
        """Send one request; return the driver's answer (raise AssertionError if it failed)."""
        if self.proc.returncode is not None or self._reader.done():
            raise AssertionError(
                f"the JS client is not running (code {self.proc.returncode}):\n"
                + self.stderr_tail()
            )
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        body = {k: v for k, v in args.items() if v is not None}
        assert self.proc.stdin
        self.proc.stdin.write((json.dumps({"id": request_id, "op": op, **body}) + "\n").encode())
        await self.proc.stdin.drain()
        try:
            answer = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise AssertionError(
                f"the JS client did not answer {op} within {timeout} s:\n" + self.stderr_tail()
            ) from None
        finally:
            self._pending.pop(request_id, None)
        if not answer.get("ok"):
            raise AssertionError(
                f"{op} failed in the JS client: {answer.get('error')}\n" + self.stderr_tail()
            )
        return answer

    async def _waiting(self, op: str, timeout: float, **args: Any) -> dict[str, Any]:
        # The driver times out on its own (with a precise message); this is the safety net.
        return await self.request(op, timeout=timeout + 15, timeoutMs=int(timeout * 1000), **args)

    # --- what someone does in Element -------------------------------------------------------

    async def join(self, room_id: str, timeout: float = 30) -> str:
        return (await self._waiting("join", timeout, roomId=room_id))["roomId"]

    async def wait_for_invite(
        self, from_user: str | None = None, room_id: str | None = None, timeout: float = 30
    ) -> str:
        answer = await self._waiting("waitForInvite", timeout, fromUser=from_user, roomId=room_id)
        return answer["roomId"]

    async def send(self, room_id: str, body: str, timeout: float = 30) -> str:
        return (await self._waiting("send", timeout, roomId=room_id, body=body))["eventId"]

    async def react(self, room_id: str, event_id: str, key: str, timeout: float = 30) -> str:
        answer = await self._waiting("react", timeout, roomId=room_id, eventId=event_id, key=key)
        return answer["eventId"]

    async def poll(
        self, room_id: str, event_id: str, *, ended: bool = False, timeout: float = 30
    ) -> dict[str, Any]:
        """The poll matrix-js-sdk made of a start event, as Element shows it (once it has one;
        ``ended``: once it saw an end it accepts): {question, answers [{id, text}], kind,
        maxSelections, ended, endEventId}."""
        return await self._waiting("poll", timeout, roomId=room_id, eventId=event_id, ended=ended)

    async def vote(
        self, room_id: str, event_id: str, answers: list[str], timeout: float = 30
    ) -> str:
        """A response to the poll ``event_id`` as Element sends it."""
        answer = await self._waiting(
            "vote", timeout, roomId=room_id, eventId=event_id, answers=answers
        )
        return answer["eventId"]

    async def wait_for_event(
        self,
        room_id: str,
        *,
        sender: str | None = None,
        reply_to: str | None = None,
        relates_to: str | None = None,
        body_contains: str | None = None,
        event_id: str | None = None,
        type: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """The first timeline event that matches (one received before the call included), after
        a decryption attempt: {eventId, type, sender, body, content, encrypted,
        decryptionFailure, decryptionFailureReason, wireType, wireContent}. Body and reply
        filters apply to the decrypted content; an event that stays undecryptable can be matched
        by ``event_id`` or ``sender`` (and ``type="m.room.encrypted"``)."""
        answer = await self._waiting(
            "waitForEvent",
            timeout,
            roomId=room_id,
            sender=sender,
            replyTo=reply_to,
            relatesTo=relates_to,
            bodyContains=body_contains,
            eventId=event_id,
            type=type,
        )
        return _event(answer)

    async def event_state(self, room_id: str, event_id: str) -> dict[str, Any]:
        """The event as this client holds it now (still undecryptable or not)."""
        return _event(await self.request("eventState", roomId=room_id, eventId=event_id))

    async def close(self, timeout: float = 10) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(AssertionError, ConnectionError):
                await self.request("stop", timeout=timeout)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        for task in (self._reader, self._err_reader):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout)

    async def __aenter__(self) -> ElementClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _event(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("id", "ok")}
