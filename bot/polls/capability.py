"""Polls as a capability.

``!vote "Question ?" "Oui" "Non" --territory vaucluse --until 3j``: the poll is recorded with
its rooms (every room of the territory and of those below it whose kind ``polls.room_kinds``
names, or the room the command was typed in) and two durable jobs: one posts the native poll
(MSC3381) into each room, the other closes it at its deadline. Responses from every room are
recorded as they come (each once, by its event id) and counted together when the poll ends:
the close sends ``m.poll.end`` into each room, then, once late responses had time to arrive
(``polls.settle``), the combined result is posted in each room in the region's language.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from zoneinfo import ZoneInfo

from bot.capability import Capability, Core
from bot.errors import BadArgument, Conflict, MatrixError, NotFound, PermissionDenied, transient
from bot.events import MemberRemoved
from bot.i18n import t, when
from bot.matrix.content import notice
from bot.matrix.sync import PollResponse, Redaction
from bot.moderation.policy import animated_by
from bot.polls.model import (
    END_TYPE,
    MAX_ANSWER,
    MAX_ANSWERS,
    MAX_QUESTION,
    START_TYPE,
    Answer,
    Response,
    Tally,
    answers_of,
    count,
    deadline,
    end_content,
    selections,
    start_content,
)
from bot.store.polls import PollRow, PollStore

log = logging.getLogger(__name__)

POST_JOB = "polls.post"  # the poll posted into each of its rooms
CLOSE_JOB = "polls.close"  # its deadline: closed (unless its author closed it before)
END_JOB = "polls.end"  # m.poll.end sent into each room
RESULT_JOB = "polls.result"  # the combined result posted in each room
HERE = ("ici", "here")
SHORTEST = 60.0  # seconds: a poll ending sooner is refused as already past


class Polls(Capability):
    name = "polls"
    commands = ("bot.commands.polls",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.polls = PollStore(core.store)
        self.jobs = {
            POST_JOB: self.post,
            CLOSE_JOB: self.close_due,
            END_JOB: self.end,
            RESULT_JOB: self.result,
        }
        self.events = {
            PollResponse: self.on_response,
            Redaction: self.on_redaction,
            MemberRemoved: self.on_removed,
        }
        # A start is sent and its event id recorded before a response to it is looked up.
        self.lock = asyncio.Lock()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.rosters.timezone)

    # --- the commands --------------------------------------------------------------------------

    async def create(
        self,
        user: str,
        room_id: str,
        items: list[str],
        territory: str | None,
        until: str | None,
        locale: str,
    ) -> str:
        """``!vote "Question ?" "A" "B" [--territory X | here] [--until …]``: the poll and its
        rooms recorded, its posting and its close queued, in one transaction."""
        found, earlier = await self.core.store.earlier_outcome("poll")
        if found:  # run again after a crash: the poll made the first time
            row = await self.polls.get(int(earlier))
            if row is not None:
                return await self._created(row, locale)
        question, texts = self._read(items)
        now = self.core.clock()
        settings = self.config.polls
        closes = now + settings.default_duration if until is None else deadline(until, self.tz, now)
        if closes is None:
            raise BadArgument("poll.bad_until", value=(until or "")[:40])
        if closes < now + SHORTEST:
            raise BadArgument("poll.past")
        if closes > now + settings.max_duration + SHORTEST:
            raise BadArgument("poll.too_far", days=round(settings.max_duration / 86400))
        scope, rooms = await self._rooms(user, room_id, territory)
        answers = answers_of(texts)
        row = await self.polls.add(
            user,
            question,
            [(a.id, a.text) for a in answers],
            scope,
            closes,
            rooms,
            jobs=[(POST_JOB, {}, None), (CLOSE_JOB, {}, closes)],
        )
        await self.core.store.audit(user, "poll.create", "ok", detail=f"n°{row.id}")
        self.core.wake_jobs()
        return await self._created(row, locale)

    def _read(self, items: list[str]) -> tuple[str, list[str]]:
        """The question and the answers, checked."""
        prefix = self.config.commands.prefix
        if len(items) < 3:
            raise BadArgument("poll.too_few", prefix=prefix)
        question, texts = items[0], items[1:]
        if len(texts) > MAX_ANSWERS:
            raise BadArgument("poll.too_many", most=MAX_ANSWERS)
        if len(question) > MAX_QUESTION or any(len(a) > MAX_ANSWER for a in texts):
            raise BadArgument("poll.too_long", question=MAX_QUESTION, answer=MAX_ANSWER)
        seen: set[str] = set()
        for text in texts:
            if text.casefold() in seen:
                raise BadArgument("poll.duplicate", answer=text)
            seen.add(text.casefold())
        return question, texts

    async def _rooms(self, user: str, room_id: str, territory: str | None) -> tuple[str, list[str]]:
        """(the territory, or "" for one room; the rooms the poll goes to), for ``user``: an
        admin anywhere, an animator in the territories they animate (and those below)."""
        network, admins = self.config.network, self.config.admins
        animated = {x.id for x in animated_by(user, network, admins)}
        if territory and territory.lower() not in HERE:
            found = network.find(territory.lower())
            if found is None:
                raise NotFound("poll.unknown_territory", territory=territory[:40])
            if found.id not in animated:
                raise PermissionDenied("poll.not_animator", territory=found.id)
            below = {x.id for x in network.subtree(found.id)}
            kinds = set(self.config.polls.room_kinds)
            rooms = [
                m.room_id
                for m in await self.core.store.managed_rooms(include_archived=False)
                if not m.is_space and m.territory in below and m.kind in kinds
            ]
            if not rooms:
                raise NotFound("poll.no_rooms", territory=found.id)
            return found.id, rooms
        key = await self.core.store.managed_key(room_id)
        if key is None or "." not in key:
            raise BadArgument("poll.where", prefix=self.config.commands.prefix)
        here = key.split(".", 1)[0]
        if here not in animated:
            raise PermissionDenied("poll.not_animator", territory=here)
        return "", [room_id]

    async def _created(self, row: PollRow, locale: str) -> str:
        rooms = await self.polls.rooms(row.id)
        return t(
            "poll.created",
            locale,
            poll=row.id,
            n=len(rooms),
            closes=when(row.closes, locale, self.tz),
            prefix=self.config.commands.prefix,
        )

    async def finish(self, user: str, n: int, locale: str) -> str:
        """``!vote fin <n>``: closed now, by its author or an admin."""
        row = await self.polls.get(n)
        if row is None:
            raise NotFound("poll.unknown", n=n)
        if user != row.author and user not in self.config.admins:
            raise PermissionDenied("poll.not_author", n=n)
        if not await self._close(row.id):
            raise Conflict("poll.closed_already", n=n)
        await self.core.store.audit(user, "poll.end", "ok", detail=f"n°{row.id}")
        return t("poll.ending", locale, n=n)

    async def listing(self, user: str, locale: str) -> str:
        """``!vote``: the polls still open (an animator's own, every one for an admin)."""
        admin = user in self.config.admins
        lines = []
        for row in await self.polls.open_polls():
            if admin or row.author == user:
                rooms = await self.polls.rooms(row.id)
                lines.append(
                    t(
                        "poll.list.line",
                        locale,
                        poll=row.id,
                        question=row.question,
                        n=len(rooms),
                        closes=when(row.closes, locale, self.tz),
                    )
                )
        return "\n".join(lines) or t("poll.list.none", locale)

    async def _close(self, poll_id: int, at: float | None = None) -> bool:
        """Open no more from ``at`` (now by default): its end sent at once, its result once
        late responses had time to arrive. False when it was not open."""
        now = self.core.clock()
        closed = await self.polls.close(
            poll_id,
            now if at is None else min(at, now),
            [(END_JOB, {}, None), (RESULT_JOB, {}, now + self.config.polls.settle)],
        )
        self.core.wake_jobs()
        return closed

    # --- the jobs ------------------------------------------------------------------------------

    async def post(self, payload: dict[str, Any]) -> None:
        """The poll posted into each of its rooms not posted to yet (a re-run after a crash
        sends the same transactions: the homeserver answers with the events it stored)."""
        row = await self.polls.get(int(payload["poll"]))
        if row is None or row.status != "open":
            return
        content = start_content(row.question, [Answer(i, text) for i, text in row.answers])
        for room in await self.polls.rooms(row.id):
            if room.start_event:
                continue
            async with self.lock:
                event_id = await self._send(room.room_id, content, START_TYPE)
                if event_id:
                    await self.polls.sent(row.id, room.room_id, "start", event_id)

    async def close_due(self, payload: dict[str, Any]) -> None:
        """The deadline: closed, unless its author closed it before. What was sent after the
        deadline does not count, even when the bot comes to it late (it was down)."""
        row = await self.polls.get(int(payload["poll"]))
        if row is not None and row.status == "open":
            await self._close(row.id, at=row.closes)

    async def end(self, payload: dict[str, Any]) -> None:
        """``m.poll.end`` into each room the poll was posted in, referring to its start there,
        with the text fallback (Element shows the poll ended, and its own count of the room)."""
        row = await self.polls.get(int(payload["poll"]))
        if row is None:
            return
        text = t("poll.end_fallback", self.config.locale, question=row.question)
        for room in await self.polls.rooms(row.id):
            if room.start_event and not room.end_event:
                event_id = await self._send(
                    room.room_id, end_content(room.start_event, text), END_TYPE
                )
                if event_id:
                    await self.polls.sent(row.id, room.room_id, "end", event_id)

    async def result(self, payload: dict[str, Any]) -> None:
        """The combined result posted in each room (a reply to the poll there), then the
        responses forgotten."""
        row = await self.polls.get(int(payload["poll"]))
        if row is None or row.status != "closed" or row.closed_at is None:
            return
        tally = await self.tally(row)
        rooms = [r for r in await self.polls.rooms(row.id) if r.start_event]
        text = self.result_text(row, tally, len(rooms), self.config.locale)
        for room in rooms:
            if room.result_event:
                continue
            event_id = await self._send(
                room.room_id, notice(text, reply_to=room.start_event), "m.room.message"
            )
            if event_id:
                await self.polls.sent(row.id, room.room_id, "result", event_id)
        await self.polls.done(row.id)

    async def tally(self, row: PollRow) -> Tally:
        """The count over every room's responses, as it stands (to its close, once closed)."""
        responses = [
            Response(r.event_id, r.sender, r.ts, r.answers)
            for r in await self.polls.responses(row.id)
        ]
        closed_at = row.closed_at if row.closed_at is not None else self.core.clock()
        answers = [Answer(i, text) for i, text in row.answers]
        return count(answers, responses, int(closed_at * 1000))

    def result_text(self, row: PollRow, tally: Tally, rooms: int, locale: str) -> str:
        lines = [
            t("poll.result.title", locale, poll=row.id, question=row.question),
            t("poll.result.voters", locale, n=tally.voters)
            + " "
            + t("poll.result.rooms", locale, n=rooms),
        ]
        for answer_id, text in row.answers:
            lines.append(
                t(
                    "poll.result.line",
                    locale,
                    answer=text,
                    n=tally.counts.get(answer_id, 0),
                    share=tally.share(answer_id),
                )
            )
        if tally.spoiled:
            lines.append(t("poll.result.spoiled", locale, n=tally.spoiled))
        return "\n".join(lines)

    async def _send(self, room_id: str, content: dict[str, Any], event_type: str) -> str | None:
        """One of the poll's events into one room; None when that room refuses it for good
        (the bot was removed from it): the other rooms still get theirs."""
        try:
            return await self.core.gateway.send(room_id, content, event_type)
        except MatrixError as exc:
            if transient(exc):
                raise
            log.warning("poll event %s refused in %s: %s", event_type, room_id, exc)
            return None

    # --- the events ----------------------------------------------------------------------------

    async def on_response(self, r: PollResponse) -> bool:
        """A response to one of the bot's polls, recorded once whatever it says (the count
        decides what it is worth). One to another poll is not ours."""
        async with self.lock:
            poll_id = await self.polls.poll_of_start(r.start_event)
        if poll_id is None:
            return False
        row = await self.polls.get(poll_id)
        if row is None or row.status == "done":
            return True  # counted already: nothing changes it now
        rooms = {x.room_id for x in await self.polls.rooms(poll_id) if x.start_event}
        if r.room_id in rooms:
            await self.polls.add_response(
                poll_id, r.event_id, r.room_id, r.sender, r.origin_ts, selections(r.content)
            )
        return True

    async def on_redaction(self, r: Redaction) -> bool:
        """A response withdrawn: as if never sent (the one before it counts again)."""
        return await self.polls.withdraw_response(r.room_id, r.redacts)

    async def on_removed(self, event: MemberRemoved) -> None:
        """A person forgotten (``!forget``): their responses erased, and their vote with them
        from the polls still open. A member revoked keeps the vote they cast while a member."""
        if event.why == "forgotten":
            await self.polls.forget(event.user_id)
