"""Documents shared in the territories' rooms, as a capability.

Every file posted in a managed room (``m.file``, ``m.image``, ``m.video``, ``m.audio``) is
indexed as the sync brings it, through the durable events table (nothing is lost across a
restart, nothing read twice): its name, type, size, room, sender and time; never its content,
and for an encrypted file neither its mxc URL nor its key. A redacted file leaves the index;
a forgotten person's files too. ``!docs [query]`` finds, newest first, the files of the rooms
the asker has joined that were posted since they were asked in (history is visible from the
invitation on). An animator pins a file into the territory's resources room (else its
community room): one index message there, posted once and edited in place, and the file
pinned in its own room (``m.room.pinned_events``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from zoneinfo import ZoneInfo

from bot import effects
from bot.capability import Capability, Core
from bot.documents.library import (
    Document,
    board,
    board_room,
    listing,
    one_line,
    parse_link,
    search,
    words_of,
)
from bot.effects import detached
from bot.errors import (
    AgoraError,
    BadArgument,
    Conflict,
    MatrixUnavailable,
    NotFound,
    PermissionDenied,
)
from bot.events import MemberRemoved
from bot.i18n import t
from bot.matrix.content import edit, notice
from bot.matrix.ids import server_of
from bot.matrix.sync import FileShared, Membership, Redaction
from bot.moderation.policy import animated_by
from bot.store.documents import DocumentStore, Jobs

log = logging.getLogger(__name__)

BOARD_JOB = "documents.board"  # a territory's index of pinned files, posted or edited
PIN_JOB = "documents.pin"  # a file pinned or unpinned in its room (m.room.pinned_events)


class Documents(Capability):
    name = "documents"
    commands = ("bot.commands.documents",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.documents = DocumentStore(core.store)
        self.jobs = {BOARD_JOB: self.show_board, PIN_JOB: self.pin_state}
        self.events = {
            FileShared: self.on_file,
            Redaction: self.on_redaction,
            Membership: self.on_membership,
            MemberRemoved: self.on_removed,
        }
        # One index at a time: a job that read the pins before another wrote them would put
        # the older list back.
        self.boarding = asyncio.Lock()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.rosters.timezone)

    async def start(self) -> None:
        """Members of the managed rooms the index has not seen come in (the rooms as they
        were when it began): counted from now, so no file before is theirs to find. Read in
        the background: a start's sync brings members lazily, and a region's every room read
        before the first command would delay it."""
        self._seeding = detached(self._seed(), name="documents readers")

    async def _seed(self) -> None:
        since = int(self.core.clock() * 1000)
        gateway = self.core.gateway
        for room in await self.core.store.managed_rooms(include_archived=False):
            if room.is_space:
                continue
            try:
                whole = await gateway.load_members(room.room_id)
            except AgoraError as exc:
                log.error("documents: the members of %s not read: %s", room.key, exc)
                continue
            members = gateway.synced_members(room.room_id) if whole else None
            if members:
                await self.documents.seed(room.room_id, members, since)

    async def stop(self) -> None:
        task = getattr(self, "_seeding", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- the index, as events come ----------------------------------------------------------------

    async def on_file(self, shared: FileShared) -> bool:
        key = await self.core.store.managed_key(shared.room_id)
        if key is None or "." not in key:
            return True  # a direct chat, the control room, a space: not a territory's file
        await self.documents.add(
            {
                "event_id": shared.event_id,
                "room_id": shared.room_id,
                "sender": shared.sender,
                "name": shared.name,
                "words": words_of(shared.name),
                "msgtype": shared.msgtype,
                "mimetype": shared.mimetype,
                "size": shared.size,
                "encrypted": int(shared.encrypted),
                "sent_ts": shared.origin_ts,
            }
        )
        return True

    async def on_redaction(self, redaction: Redaction) -> None:
        """A file withdrawn (Element's "remove"): out of the index and of the pins."""
        if await self.documents.by_event(redaction.redacts) is None:
            return
        await self.documents.remove(redaction.redacts, BOARD_JOB, PIN_JOB)
        self.core.wake_jobs()

    async def on_membership(self, change: Membership) -> None:
        """Who may find a room's files, from when (never taken: others act on it too)."""
        if change.user_id == self.core.gateway.user_id:
            return
        if await self.core.store.room_kind(change.room_id) in ("dm", "control"):
            return
        # Any other room, mapped or not yet: a room being made is not mapped when its first
        # invitations come, and only managed rooms are ever searched.
        since = change.origin_ts or int(self.core.clock() * 1000)
        await self.documents.reader(change.room_id, change.user_id, change.membership, since)

    async def on_removed(self, event: MemberRemoved) -> None:
        if event.why == "forgotten":
            erased = await self.documents.forget(event.user_id, BOARD_JOB, PIN_JOB)
            if erased:
                await self.core.store.audit(
                    self.core.gateway.user_id, "documents.forget", "ok", detail=f"{erased}"
                )
            self.core.wake_jobs()

    # --- !docs ------------------------------------------------------------------------------------

    async def find(self, user: str, room_id: str, query: str, locale: str) -> str:
        """``!docs [query]``: in a direct chat, the files of every room the asker has joined;
        in a territory's room, that room's only (the answer is read by everyone there)."""
        rooms = await self._rooms()
        scope = [room_id] if room_id in rooms else list(rooms)
        mine = [
            r for r in await self.documents.joined_rooms(user, scope) if await self._in(r, user)
        ]
        documents = [Document(**d) for d in await self.documents.readable_by(user, mine)]
        shown, more = search(documents, query, self.config.documents.results)
        return listing(shown, more, query, self._names(rooms), locale, self.tz, self._via)

    async def _in(self, room_id: str, user: str) -> bool:
        """Whether ``user`` is in the room now, as the homeserver has it: the index's own
        record, checked against the room's member list (read once per room and process: a
        room made since the start has not been read yet). If it cannot be read, the index's
        record stands: it is kept from every membership event, in order."""
        gateway = self.core.gateway
        if gateway.synced_members(room_id) is None:
            try:
                await gateway.load_members(room_id)
            except AgoraError as exc:
                log.warning("documents: the members of %s not read: %s", room_id, exc)
                return True
        members = gateway.synced_members(room_id)
        return members is None or members.get(user) == "join"

    @property
    def _via(self) -> str:
        return server_of(self.core.gateway.user_id)

    def _names(self, rooms: dict[str, str]) -> dict[str, str]:
        return {room_id: self.config.network.name_of(key) for room_id, key in rooms.items()}

    # --- pinning ------------------------------------------------------------------------------------

    async def pin(self, user: str, ref: str, locale: str) -> str:
        """``!docs épingler <n|lien>``: the file in its territory's index of pinned files
        (the nearest resources room, else community room, up the tree) and pinned in its
        room."""
        document, key = await self._pinnable(user, ref)
        territory, board_key = self.board_of(key.split(".", 1)[0])
        jobs: Jobs = [
            (BOARD_JOB, {"territory": territory}),
            (PIN_JOB, {"room": document.room_id, "event": document.event_id, "pin": True}),
        ]
        if not await self.documents.pin(territory, document.id, user, jobs):
            raise Conflict("docs.already_pinned", id=document.id)
        await self.core.store.audit(user, "documents.pin", "ok", detail=f"n°{document.id}")
        self.core.wake_jobs()
        return t(
            "docs.pinned",
            locale,
            id=document.id,
            name=one_line(document.name),
            room=self.config.network.name_of(board_key),
        )

    async def unpin(self, user: str, ref: str, locale: str) -> str:
        document, key = await self._pinnable(user, ref)
        # Where they may take it off: the boards of the territories they animate, and the one
        # their file's territory pins onto (an ancestor's, when it has no room of its own).
        animated = {x.id for x in animated_by(user, self.config.network, self.config.admins)}
        found = board_room(self.config.network, key.split(".", 1)[0])
        if found is not None:
            animated.add(found[0])
        places = [p for p in await self.documents.pinned_in(document.id) if p in animated]
        if not places:
            raise NotFound("docs.not_pinned", id=document.id)
        for territory in places:
            jobs: Jobs = [
                (BOARD_JOB, {"territory": territory}),
                (PIN_JOB, {"room": document.room_id, "event": document.event_id, "pin": False}),
            ]
            await self.documents.unpin(territory, document.id, jobs)
        await self.core.store.audit(user, "documents.unpin", "ok", detail=f"n°{document.id}")
        self.core.wake_jobs()
        return t("docs.unpinned", locale, id=document.id, name=one_line(document.name))

    async def _pinnable(self, user: str, ref: str) -> tuple[Document, str]:
        """The file ``ref`` names (its number in ``!docs``, or its matrix.to link), which
        ``user`` can read and animates the territory of; and its room's key."""
        ref = ref.strip().removeprefix("n°").removeprefix("#")
        found: dict[str, Any] | None
        if ref.isdigit():
            found = await self.documents.get(int(ref))
        elif (linked := parse_link(ref)) is not None:
            found = await self.documents.by_event(linked[1])
        else:
            raise BadArgument("docs.bad_ref", value=ref[:60])
        rooms = await self._rooms()
        readable = found is not None and any(
            d["id"] == found["id"]
            for d in await self.documents.readable_by(user, [found["room_id"]])
        )
        if found is None or not readable or found["room_id"] not in rooms:
            raise NotFound("docs.unknown", value=ref[:60])
        document, key = Document(**found), rooms[found["room_id"]]
        spec = self.config.network.room(key)
        if spec is not None and spec[1].private:
            raise PermissionDenied("docs.private_room", room=self.config.network.name_of(key))
        animated = {x.id for x in animated_by(user, self.config.network, self.config.admins)}
        if key.split(".", 1)[0] not in animated:
            raise PermissionDenied("docs.not_animator", room=self.config.network.name_of(key))
        return document, key

    def board_of(self, territory: str) -> tuple[str, str]:
        found = board_room(self.config.network, territory)
        if found is None:
            raise NotFound("docs.no_board", territory=self.config.network.name_of(territory))
        return found

    # --- the jobs ---------------------------------------------------------------------------------

    async def show_board(self, payload: dict[str, Any]) -> None:
        """A territory's index of pinned files: posted once (and pinned in its room), then
        edited in place as the list changes."""
        async with self.boarding:
            await self._show_board(str(payload["territory"]))

    async def _show_board(self, territory: str) -> None:
        _, board_key = self.board_of(territory)
        room_id = await self.core.store.managed_room_id(board_key)
        if room_id is None:  # not made yet: the reconciler makes it, the job waits for it
            raise MatrixUnavailable(f"{board_key} is not made yet")
        pinned = [Document(**d) for d in await self.documents.pinned(territory)]
        name = self.config.network.name_of(territory)
        names = self._names(await self._rooms())
        text = board(name, pinned, names, self.config.locale, self._via)
        digest = effects.digest(text)
        kept_key = f"documents.board:{territory}"
        kept: dict[str, Any] = await self.core.store.get(kept_key, {})
        if kept.get("room") != room_id:
            event_id = await self.core.gateway.send(
                room_id, notice(text), txn=effects.stable_key("documents-board", territory, room_id)
            )
            kept = {"room": room_id, "event": event_id, "digest": digest, "pinned": False}
            await self.core.store.put(kept_key, kept)
        elif kept.get("digest") != digest:
            # Each edit its own transaction, named by its place in the sequence: a list that
            # comes back to an earlier one (pin, unpin, pin again) is a new edit, while the same
            # edit sent again after a crash (not yet counted) is stored once.
            version = int(kept.get("version", 0)) + 1
            await self.core.gateway.send(
                room_id,
                edit(kept["event"], text),
                txn=effects.stable_key("documents-board-edit", kept["event"], str(version)),
            )
            kept = {**kept, "digest": digest, "version": version}
            await self.core.store.put(kept_key, kept)
        if not kept.get("pinned", True):  # the index pinned in its room, once
            await self._pinned(room_id, kept["event"], True)
            await self.core.store.put(kept_key, {**kept, "pinned": True})

    async def pin_state(self, payload: dict[str, Any]) -> None:
        await self._pinned(str(payload["room"]), str(payload["event"]), bool(payload["pin"]))

    async def _pinned(self, room_id: str, event_id: str, pin: bool) -> None:
        """``event_id`` added to (or taken out of) the room's pinned events, the others kept."""
        if pin:
            await self.core.gateway.change_pins(room_id, add=[event_id])
        else:
            await self.core.gateway.change_pins(room_id, remove=[event_id])

    async def _rooms(self) -> dict[str, str]:
        """The territories' rooms (not spaces): room id → key."""
        return {
            r.room_id: r.key
            for r in await self.core.store.managed_rooms(include_archived=False)
            if not r.is_space
        }
