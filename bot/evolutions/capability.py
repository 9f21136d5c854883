"""Evolution requests, prioritised across regions, as a capability.

The board of a room shared between regions is that room's state (``bot.evolutions.board``):
every region's bot reads the same one, and writes only what it is authoritative for. The
owning region's bot publishes the room's regions (and the weighting its config chooses) and
keeps the statuses its territory's animators set; each region's bot files the requests its own
people propose and records their votes. In a shared room a person is answered by their own
region's bot (``bot.commands.dispatcher``), so nobody's vote is ever written by a region that
does not answer for them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from bot.capability import Capability, Core
from bot.errors import BadArgument, Conflict, NotFound, PermissionDenied
from bot.events import MemberRemoved, NetworkReconciled
from bot.evolutions.board import (
    DELIVERED,
    MAX_TEXT,
    MAX_TITLE,
    MERGED,
    OPEN,
    REFUSED,
    REGIONS,
    REQUEST,
    STATUS,
    VOTES,
    Board,
    Request,
    Standing,
    folded,
    read_board,
    score_text,
    status_of_word,
)
from bot.i18n import t
from bot.matrix.gateway import path_part
from bot.matrix.ids import server_of
from bot.moderation.policy import animated_by

log = logging.getLogger(__name__)

OWNED, PEER = "managed", "shared-peer"  # the store's kinds of the rooms a board can be in
STATUS_LABELS = {
    "proposed": "evolution.status.proposed",
    "qualified": "evolution.status.qualified",
    "sent": "evolution.status.sent",
    "delivered": "evolution.status.delivered",
    "refused": "evolution.status.refused",
    "merged": "evolution.status.merged",
}
WEIGHT_LABELS = {"region": "evolution.list.weight.region", "users": "evolution.list.weight.users"}


def forgotten(server: str) -> str:
    """Who proposed a request once its proposer is forgotten: someone of their region."""
    return f"@-:{server}"


def label(status: str, locale: str) -> str:
    return t(STATUS_LABELS[status], locale)


class Evolutions(Capability):
    name = "evolutions"
    commands = ("bot.commands.evolutions",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.events = {NetworkReconciled: self.on_reconciled, MemberRemoved: self.on_removed}
        # One change of a board at a time: a proposal claims the next number.
        self.lock = asyncio.Lock()

    async def started(self) -> None:
        await self.open_boards()

    async def on_reconciled(self, event: NetworkReconciled) -> None:
        if event.full:
            await self.open_boards()

    async def on_removed(self, event: MemberRemoved) -> None:
        """Someone forgotten (``!forget``): their name out of every board this region's bot
        wrote it on (their votes withdrawn, the requests they proposed said to be by someone
        of this region). A revoked member's votes and requests stay: the region voted."""
        if event.why != "forgotten":
            return
        user, server = event.user_id, self.config.homeserver.server_name
        if server_of(user) != server:
            return  # another region's bot wrote what they did
        rooms = [r.room_id for r in await self.core.store.managed_rooms(include_archived=False)]
        rooms += await self.core.store.rooms_of_kind(PEER)
        async with self.lock:
            for room_id in rooms:
                try:
                    await self._forget_in(room_id, user, server)
                except Exception as exc:  # a room out of reach: the rest goes on
                    log.error("evolutions: a forgotten member not erased in a board: %r", exc)

    async def _forget_in(self, room_id: str, user: str, server: str) -> None:
        state: Any = await self.core.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{path_part(room_id)}/state", what="read a board"
        )
        mine = self.core.gateway.user_id
        for ev in state:
            kind, content = str(ev.get("type")), ev.get("content") or {}
            if ev.get("state_key") != mine or ev.get("sender") != mine or not content:
                continue
            if kind.startswith(VOTES) and user in (content.get("votes") or {}):
                await self._set_vote(room_id, kind.removeprefix(VOTES), user, {})
            elif kind.startswith(REQUEST) and content.get("proposer") == user:
                await self.core.gateway.put_state(
                    room_id, kind, {**content, "proposer": forgotten(server)}, mine
                )

    # --- the owner's side: which regions the board of a room counts -------------------------

    def regions_of(self, key: str) -> dict[str, str]:
        """The regions of an owned shared room: this one and the peers it is shared with (whose
        bot the config names)."""
        out = {self.config.homeserver.server_name: self.core.gateway.user_id}
        for server in self.config.network.shared_with(key):
            bot = self.config.federation.peer_bot_for(server)
            if bot is not None:
                out[server] = bot
        return out

    async def open_boards(self) -> None:
        """Publish the regions of every shared room this region owns (once they exist), so
        that the peers' bots can file their people's requests and votes there."""
        for key in self.config.network.shared():
            if "." not in key:
                continue  # a space: no board
            room_id = await self.core.store.managed_room_id(key)
            if room_id is None:
                continue
            try:
                await self.publish_regions(room_id, key)
            except Exception as exc:  # the next reconcile or command tries again
                log.warning("could not open the evolutions board of %s: %s", key, exc)

    async def publish_regions(self, room_id: str, key: str) -> None:
        content = {"regions": self.regions_of(key), "weight": self.config.evolutions.weight}
        if await self.core.gateway.get_state(room_id, REGIONS) != content:
            await self.core.gateway.put_state(room_id, REGIONS, content)

    # --- reading ------------------------------------------------------------------------------

    async def where(self, room_id: str) -> tuple[str, str | None]:
        """(the room's kind, its key when this region owns it); refused elsewhere than in a
        room shared between regions."""
        kind = await self.core.store.room_kind(room_id)
        if kind == PEER:
            return kind, None
        if kind == OWNED:
            key = await self.core.store.managed_key(room_id)
            if key and "." in key and self.config.network.shared_with(key):
                return kind, key
        raise PermissionDenied("evolution.not_shared")

    async def board(self, room_id: str) -> Board:
        state: Any = await self.core.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{path_part(room_id)}/state", what="read a board"
        )
        return read_board(state)

    async def _ready(self, room_id: str) -> tuple[Board, str | None]:
        """The room's board as it is now (the owner publishing its regions first if needed)."""
        _, key = await self.where(room_id)
        if key is not None:
            await self.publish_regions(room_id, key)
        board = await self.board(room_id)
        if not board.open:
            raise Conflict("evolution.not_open")
        return board, key

    @staticmethod
    def _numbered(board: Board, n: int) -> Request:
        found = board.by_number(n)
        if found is None:
            raise NotFound("evolution.unknown", n=n)
        return found

    # --- what members do ------------------------------------------------------------------------

    async def propose(self, user: str, room_id: str, cause: str, text: str, locale: str) -> str:
        title, description = split_title(text)
        if not title:
            raise BadArgument("evolution.no_title")
        async with self.lock:
            board, _ = await self._ready(room_id)
            self._counted(board, user)
            server = server_of(user)
            # Derived from the command's event: run again after a crash, it finds its request.
            request_id = f"{server}~{hashlib.sha256(cause.encode()).hexdigest()[:10]}"
            if request_id not in board.requests:
                await self.core.gateway.put_state(
                    room_id,
                    REQUEST + request_id,
                    {
                        "n": board.next_claim(),
                        "title": title[:MAX_TITLE],
                        "description": description[:MAX_TEXT],
                        "proposer": user,
                    },
                    self.core.gateway.user_id,
                )
                board = await self.board(room_id)
        await self.core.store.audit(user, "evolution.propose", "ok", room_id=room_id)
        request = board.requests[request_id]
        return t("evolution.proposed", locale, n=request.number, title=request.title)

    async def _set_vote(self, room_id: str, request_id: str, user: str, vote: dict) -> None:
        """One person's entry in this region's votes for a request (read, changed, written
        whole: under the lock)."""
        bot = self.core.gateway.user_id
        current = await self.core.gateway.get_state(room_id, VOTES + request_id, bot) or {}
        votes = dict(current.get("votes") or {})
        if vote:
            votes[user] = vote
        else:
            votes.pop(user, None)
        await self.core.gateway.put_state(room_id, VOTES + request_id, {"votes": votes}, bot)

    async def vote(self, user: str, room_id: str, n: int, cause: str, locale: str) -> str:
        async with self.lock:
            return await self._vote(user, room_id, n, cause, locale)

    async def _vote(self, user: str, room_id: str, n: int, cause: str, locale: str) -> str:
        board, _ = await self._ready(room_id)
        self._counted(board, user)
        asked = self._numbered(board, n)
        root = board.requests[board.root(asked.id)]
        again = board.caused(root.id, user, cause)  # this very command, run again
        if not again:
            if board.status(root.id).status not in OPEN:
                raise Conflict("evolution.closed", n=root.number)
            if board.voted_keys(root.id, user):
                raise Conflict("evolution.already_voted", n=root.number)
            await self._set_vote(room_id, root.id, user, {"vote": True, "cause": cause})
            await self.core.store.audit(
                user, "evolution.vote", "ok", room_id=room_id, detail=root.id
            )
            board = await self.board(room_id)
        standing = next(s for s in board.ranking() if s.request.id == root.id)
        key = "evolution.voted_merged" if root.id != asked.id else "evolution.voted"
        return t(
            key,
            locale,
            n=root.number,
            asked=asked.number,
            title=root.title,
            count=standing.total,
            score=score_text(standing.score),
        )

    async def withdraw(self, user: str, room_id: str, n: int, cause: str, locale: str) -> str:
        async with self.lock:
            return await self._withdraw(user, room_id, n, cause, locale)

    async def _withdraw(self, user: str, room_id: str, n: int, cause: str, locale: str) -> str:
        board, _ = await self._ready(room_id)
        self._counted(board, user)
        root = board.requests[board.root(self._numbered(board, n).id)]
        keys = board.voted_keys(root.id, user)
        if not keys:
            if board.caused(root.id, user, cause):  # this very command, run again
                return t("evolution.withdrawn", locale, n=root.number, title=root.title)
            raise Conflict("evolution.not_voted", n=root.number)
        for request_id in keys:  # a vote without "vote": taken back
            await self._set_vote(room_id, request_id, user, {"cause": cause})
        await self.core.store.audit(
            user, "evolution.withdraw", "ok", room_id=room_id, detail=root.id
        )
        return t("evolution.withdrawn", locale, n=root.number, title=root.title)

    def _counted(self, board: Board, user: str) -> None:
        """A vote this bot writes counts only if the board names it for the voter's region."""
        if board.regions.get(server_of(user)) != self.core.gateway.user_id:
            raise PermissionDenied("evolution.region_not_counted", server=server_of(user))

    # --- what the club's animators do -----------------------------------------------------------

    def _animator(self, user: str, key: str | None) -> None:
        """The animators of the room's territory (or above) and the admins, of the region
        that owns the room (only its bot writes statuses)."""
        if key is None:
            raise PermissionDenied("evolution.owner_only")
        territory = key.partition(".")[0]
        mine = animated_by(user, self.config.network, self.config.admins)
        if not any(x.id == territory for x in mine):
            raise PermissionDenied("evolution.animators_only")

    async def set_status(
        self, user: str, room_id: str, n: int, word: str, note: str, cause: str, locale: str
    ) -> str:
        status = status_of_word(word)
        if status is None or status == MERGED:
            raise BadArgument("evolution.bad_status", value=word[:40])
        async with self.lock:
            board, key = await self._ready(room_id)
            self._animator(user, key)
            request = self._numbered(board, n)
            if board.status(request.id).status == MERGED:
                target = board.requests[board.root(request.id)]
                raise Conflict("evolution.is_merged", n=request.number, into=target.number)
            await self.core.gateway.put_state(
                room_id,
                STATUS,
                {"status": status, "note": note[:MAX_TEXT], "by": user, "cause": cause},
                request.id,
            )
        await self.core.store.audit(
            user, "evolution.status", "ok", room_id=room_id, detail=f"{request.id} {status}"
        )
        return t(
            "evolution.status_set",
            locale,
            n=request.number,
            title=request.title,
            status=label(status, locale),
        )

    async def merge(
        self, user: str, room_id: str, n: int, into: int, cause: str, locale: str
    ) -> str:
        async with self.lock:
            board, key = await self._ready(room_id)
            self._animator(user, key)
            duplicate = self._numbered(board, n)
            target = board.requests[board.root(self._numbered(board, into).id)]
            if board.status(duplicate.id).cause != cause:  # else this very command, run again
                if board.root(duplicate.id) == target.id:
                    raise Conflict("evolution.same", n=duplicate.number, into=target.number)
                if board.status(duplicate.id).status == MERGED:
                    raise Conflict(
                        "evolution.is_merged",
                        n=duplicate.number,
                        into=board.requests[board.root(duplicate.id)].number,
                    )
                await self.core.gateway.put_state(
                    room_id,
                    STATUS,
                    {
                        "status": MERGED,
                        "merged_into": target.id,
                        "note": "",
                        "by": user,
                        "cause": cause,
                    },
                    duplicate.id,
                )
                board = await self.board(room_id)
        await self.core.store.audit(
            user, "evolution.merge", "ok", room_id=room_id, detail=f"{duplicate.id}>{target.id}"
        )
        standing = next(s for s in board.ranking() if s.request.id == target.id)
        return t(
            "evolution.merged",
            locale,
            n=duplicate.number,
            into=target.number,
            title=target.title,
            count=standing.total,
        )

    # --- the list -------------------------------------------------------------------------------

    async def listing(self, room_id: str, which: str, page: int, locale: str) -> str:
        board, _ = await self._ready(room_id)
        word = which.strip()
        ranked = board.ranking()
        if not word or folded(word) in ("top", "classement", "ranking"):
            shown = [s for s in ranked if s.status.status in OPEN]
            heading = t("evolution.list.top", locale)
        elif folded(word) in ("toutes", "tout", "all"):
            shown, heading = ranked, t("evolution.list.all", locale)
        else:
            status = status_of_word(word)
            if status is None or status == MERGED:
                raise BadArgument("evolution.bad_filter", value=word[:40])
            shown = [s for s in ranked if s.status.status == status]
            heading = t("evolution.list.status", locale, status=label(status, locale))
        if not shown:
            return heading + "\n\n" + t("evolution.list.empty", locale)
        size = self.config.evolutions.page_size
        pages = (len(shown) + size - 1) // size
        page = max(1, min(page, pages))
        lines = [
            line(s, board, rank, locale)
            for rank, s in enumerate(shown[(page - 1) * size : page * size], (page - 1) * size + 1)
        ]
        footer = t(WEIGHT_LABELS[board.weight], locale)
        if pages > 1:
            footer += " " + t("evolution.list.page", locale, page=page, pages=pages)
        return heading + "\n\n" + "\n".join(lines) + "\n\n" + footer


def split_title(text: str) -> tuple[str, str]:
    """``"Titre" description`` (or « », “ ”): the quoted title and the rest; unquoted, the
    whole line is the title."""
    text = text.strip()
    closing = {'"': '"', "«": "»", "“": "”"}
    if text and text[0] in closing:
        end = text.find(closing[text[0]], 1)
        if end > 0:
            return text[1:end].strip(), text[end + 1 :].strip()
    return text, ""


def line(s: Standing, board: Board, rank: int, locale: str) -> str:
    """One request on the list: rank, number, title, score and votes per region, status."""
    votes = ", ".join(f"{server} {len(v)}" for server, v in s.votes.items()) or "—"
    text = t(
        "evolution.list.line",
        locale,
        rank=rank,
        n=s.request.number,
        title=s.request.title,
        score=score_text(s.score),
        count=s.total,
        votes=votes,
        status=label(s.status.status, locale),
    )
    if s.merged:
        text += t(
            "evolution.list.merged",
            locale,
            numbers=", ".join(f"#{d.number}" for d in s.merged),
        )
    if s.status.note and s.status.status in (*OPEN, DELIVERED, REFUSED):
        text += t("evolution.list.note", locale, note=s.status.note)
    return text
