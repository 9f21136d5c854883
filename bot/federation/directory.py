"""The cross-region directory: opt-in, one state event per member who agreed.

Each region keeps a directory room (``#<bot localpart>-annuaire:<server>``); its bot alone
writes in it, one ``fr.agora.directory.entry`` state event per member who asked to be listed
(`!annuaire inscription`), keyed ``member:<user id>`` (state keys starting with ``@`` belong
to that user, so the bot cannot use the bare id): their name, profession, territories and
region; never an email or a professional identifier. The peer regions' bots
(``federation.peer_bots``) are invited so that they read it over federation, and this bot reads
theirs the same way (derived from the same list: a peer bot's directory has the same alias
shape). ``!annuaire <query>`` searches the region's own entries and the peers' directories as
they are now; `!annuaire retrait` replaces the entry with an empty one and redacts the old one,
so it disappears from every region's view.
"""

from __future__ import annotations

import contextlib
import logging
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.errors import MatrixError
from bot.matrix.gateway import Gateway, path_part
from bot.matrix.ids import localpart, server_of
from bot.moderation.region_room import RegionRoom, region_alias
from bot.store import Store
from bot.store.directory import DirectoryStore
from bot.store.vetting import VettingStore

log = logging.getLogger(__name__)
ENTRY = "fr.agora.directory.entry"
KV_KEY = "directory_room_id"
SUFFIX = "annuaire"
MAX_RESULTS = 20
MAX_FIELD = 200
KEY_PREFIX = "member:"


def state_key(user_id: str) -> str:
    return KEY_PREFIX + user_id


@dataclass(frozen=True)
class Entry:
    user_id: str
    name: str
    profession: str  # a profession id
    territories: tuple[str, ...]  # territory names
    region: str  # the member's server

    def content(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "profession": self.profession,
            "territories": list(self.territories),
            "region": self.region,
        }

    @classmethod
    def from_content(cls, user_id: str, content: Any) -> Entry | None:
        """An entry as published, or None for a withdrawn (empty) or malformed one."""
        if not isinstance(content, dict) or content.get("user_id") != user_id:
            return None
        name, profession = content.get("name", ""), content.get("profession", "")
        territories = content.get("territories", [])
        if not (
            isinstance(name, str)
            and isinstance(profession, str)
            and isinstance(territories, list)
            and all(isinstance(x, str) for x in territories)
        ):
            return None
        return cls(
            user_id=user_id,
            name=name[:MAX_FIELD],
            profession=profession[:MAX_FIELD],
            territories=tuple(x[:MAX_FIELD] for x in territories[:20]),
            region=server_of(user_id),
        )


def folded(text: str) -> str:
    """Lower case, accents off: « Hérault » matches « herault »."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def matches(entry: Entry, query: str, profession_labels: dict[str, str]) -> bool:
    """Every word of the query appears in the name, profession, territories, region or id."""
    haystack = folded(
        " ".join(
            (
                entry.name,
                entry.profession,
                profession_labels.get(entry.profession, ""),
                *entry.territories,
                entry.region,
                entry.user_id,
            )
        )
    )
    return all(word in haystack for word in folded(query).split())


class Directory(RegionRoom):
    kv_key = KV_KEY
    kind = "directory"
    suffix = SUFFIX
    name_key = "directory.name"
    topic_key = "directory.topic"
    invite_admins = False  # only the peers' bots read it; members search through the bot

    def __init__(self, config: Config, gateway: Gateway, store: Store):
        super().__init__(config, gateway, store)
        self.members = VettingStore(store)
        self.entries = DirectoryStore(store)
        self.peers: dict[str, str | None] = {}  # peer bot → its directory room (None: not yet)

    def peer_alias(self, bot: str) -> str:
        return region_alias(localpart(bot), SUFFIX, server_of(bot))

    async def is_peer_directory(self, room_id: str) -> bool:
        for bot in self.config.federation.peer_bots:
            with contextlib.suppress(MatrixError, KeyError):
                if await self.gateway.resolve(self.peer_alias(bot)) == room_id:
                    return True
        return False

    async def follow_peers(self) -> None:
        """Join each peer's directory once its bot invited this one; retried at the next
        invitation, reload or start while it is not reachable."""
        for bot in self.config.federation.peer_bots:
            try:
                room_id = await self.gateway.resolve(self.peer_alias(bot))
                if room_id not in self.gateway.client.rooms:
                    await self.gateway.join(room_id)
                await self.store.add_room(room_id, "directory-peer", bot)
                self.peers[bot] = room_id
            except (MatrixError, KeyError) as exc:
                self.peers.setdefault(bot, None)
                log.info("directory of %s not readable yet: %s", bot, exc)

    # --- the region's own entries --------------------------------------------------------------

    async def entry_for(self, user_id: str) -> Entry | None:
        """What would be published for a vetted member (None: not a member)."""
        info = await self.members.member_info(user_id)
        if info is None:
            return None
        row = await self.members.member(user_id)
        name = (row or {}).get("name") or ""
        lines = {t.id: (*ancestors, t) for t, ancestors in self.config.network.walk()}
        home = lines.get(info.territory, ())
        admitted = [lines[g][-1] for g in sorted(info.grants) if g in lines]
        territories = tuple(dict.fromkeys(t.name for t in (*home, *admitted)))
        return Entry(user_id, name, info.profession, territories, server_of(user_id))

    async def publish(self, user_id: str) -> Entry | None:
        """List a vetted member (again: their entry follows their record). None if not one."""
        entry = await self.entry_for(user_id)
        if entry is None:
            return None
        assert self.room_id
        content = entry.content()
        event_id = await self.gateway.put_state(self.room_id, ENTRY, content, state_key(user_id))
        await self.entries.put(user_id, content, event_id)
        await self.store.audit(user_id, "directory.publish", "ok")
        return entry

    async def withdraw(self, user_id: str) -> bool:
        """The entry emptied (the spec's way to remove state) and the old one redacted, so that
        no region shows it any longer. False if the member was not listed."""
        listed, published = await self.entries.event_of(user_id)
        if not listed or not self.room_id:
            return False
        await self.gateway.put_state(self.room_id, ENTRY, {}, state_key(user_id))
        if published:
            try:
                await self.gateway.raw(
                    "PUT",
                    f"/_matrix/client/v3/rooms/{path_part(self.room_id)}/redact/{path_part(published)}/"
                    f"withdraw-{int(time.time() * 1000)}",
                    {"reason": "withdrawn"},
                    what="redact a directory entry",
                )
            except MatrixError as exc:  # the empty entry already hides it everywhere
                log.warning("could not redact %s's old directory entry: %s", user_id, exc)
        await self.entries.drop(user_id)
        await self.store.audit(user_id, "directory.withdraw", "ok")
        return True

    async def listed(self, user_id: str) -> bool:
        return (await self.entries.event_of(user_id))[0]

    # --- searching -----------------------------------------------------------------------------

    async def local_entries(self) -> list[Entry]:
        found = (
            Entry.from_content(user, content) for user, content in await self.entries.entries()
        )
        return [e for e in found if e is not None]

    async def peer_entries(self, bot: str, room_id: str) -> list[Entry]:
        """A peer's directory as it is now. Only its bot's entries for its own server's people
        count: nobody else can list someone in another region's name."""
        events: Any = await self.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{path_part(room_id)}/state", what="read a directory"
        )
        out = []
        for ev in events:
            if ev.get("type") != ENTRY or ev.get("sender") != bot:
                continue
            key = ev.get("state_key", "")
            if not key.startswith(KEY_PREFIX):
                continue
            entry = Entry.from_content(key[len(KEY_PREFIX) :], ev.get("content"))
            if entry is not None and entry.region == server_of(bot):
                out.append(entry)
        return out

    async def search(
        self, query: str, profession_labels: dict[str, str]
    ) -> tuple[list[Entry], list[str]]:
        """Matching entries (own region first), and the peers that could not be read now."""
        entries = await self.local_entries()
        unreachable = []
        if any(v is None for v in self.peers.values()) or not self.peers:
            await self.follow_peers()
        for bot, room_id in self.peers.items():
            if room_id is None:
                unreachable.append(server_of(bot))
                continue
            try:
                entries += await self.peer_entries(bot, room_id)
            except MatrixError as exc:
                log.warning("directory of %s: %s", bot, exc)
                unreachable.append(server_of(bot))
        found = [e for e in entries if matches(e, query, profession_labels)]
        return found[:MAX_RESULTS], unreachable
