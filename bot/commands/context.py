"""What a command handler gets: who, where, in which language, how to answer, and the services
its module declared it uses (a Protocol in the module, ``Uses``). Never the raw nio client,
the store or the whole application."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot import effects
from bot.errors import BadArgument, FileTooLarge, MatrixError, Undecryptable
from bot.matrix.content import MEDIA_TYPES, attached, edit, notice

if TYPE_CHECKING:
    from bot.commands.registry import Registry, Role
    from bot.matrix.gateway import Gateway
    from bot.store import Store

S = TypeVar("S")


@dataclass
class Progress:
    """One message edited as long work goes on, instead of a flood."""

    gateway: Gateway
    room_id: str
    event_id: str

    async def update(self, text: str) -> None:
        # Named by what it says: a run again after a crash, which may update less often,
        # neither repeats an update nor loses one to an id the first run used.
        key = effects.stable_key("progress-edit", self.event_id, effects.digest(text))
        await self.gateway.send(self.room_id, edit(self.event_id, text), txn=key)


@dataclass
class CommandContext(Generic[S]):
    sender: str
    room_id: str
    event_id: str
    locale: str
    prefix: str
    role: Role
    room_kind: str | None
    registry: Registry
    services: S
    gateway: Gateway = field(repr=False)
    # Where a long command's progress message is remembered (a re-run edits it).
    store: Store = field(repr=False)
    origin_ts: int = 0  # when the homeserver received the command (ms)
    reply_to: str | None = None  # the event the command answers
    thread: str | None = None  # the thread it was typed in: answered there
    attachment: dict[str, Any] | None = field(default=None, repr=False)  # a captioned file
    replies: list[str] = field(default_factory=list)

    async def reply(self, text: str) -> str:
        event_id = await self.gateway.send(
            self.room_id, notice(text, reply_to=self.event_id, thread=self.thread)
        )
        self.replies.append(event_id)
        return event_id

    async def attached_file(self, max_bytes: int) -> tuple[str, bytes]:
        """The file the command was sent with (as its caption), else the one it answers (a
        reply to the message that carries it): its name and content, decrypted. A clear
        error when there is none, it is too large or it cannot be read."""
        found = self.attachment
        if found is None and self.reply_to:
            try:
                _, content = await self.gateway.event(self.room_id, self.reply_to)
            except (MatrixError, Undecryptable) as exc:
                raise BadArgument("error.file.unreadable") from exc
            found = attached(content) if content.get("msgtype") in MEDIA_TYPES else None
        if found is None:
            raise BadArgument("error.file.none", prefix=self.prefix)
        if isinstance(found.get("size"), int) and found["size"] > max_bytes:
            raise BadArgument("error.file.too_large", limit=max_bytes // 1000)
        try:
            data = await self.gateway.download(found, max_bytes)
        except FileTooLarge as exc:
            raise BadArgument("error.file.too_large", limit=max_bytes // 1000) from exc
        except (MatrixError, Undecryptable) as exc:
            raise BadArgument("error.file.unreadable") from exc
        return str(found.get("name") or ""), data

    async def progress(self, text: str) -> Progress:
        """The command's progress message. A command run again after a crash edits the message
        its first run posted instead of posting a second one."""
        key = f"progress:{self.event_id}"
        earlier = await self.store.get(key)
        if earlier:
            progress = Progress(self.gateway, self.room_id, earlier)
            await progress.update(text)
            return progress
        event_id = await self.gateway.send(
            self.room_id,
            notice(text, reply_to=self.event_id, thread=self.thread),
            txn=effects.stable_key("progress", self.event_id),
        )
        self.replies.append(event_id)
        await self.store.put(key, event_id)
        return Progress(self.gateway, self.room_id, event_id)
