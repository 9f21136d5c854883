"""The sync loop, with a durable inbox.

nio's ``store_sync_tokens`` saves the token before callbacks run (at most once) and nio keeps no
room state across restarts. So the loop here: syncs from the token in *our* store (the first sync
after a start asks for full state), extracts the command events of the batch, writes them and the
new token in one transaction, and only then hands the batch on. Events are de-duplicated by id,
so a restart neither re-runs a finished command nor misses one sent while the bot was down.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from nio import (
    Event,
    ForwardedRoomKeyEvent,
    InviteMemberEvent,
    MegolmEvent,
    ReactionEvent,
    RoomEncryptedMedia,
    RoomKeyEvent,
    RoomMemberEvent,
    RoomMessageMedia,
    RoomMessageText,
    SyncResponse,
)

from bot.errors import AgoraError
from bot.matrix import onetimekeys
from bot.matrix.content import MEDIA_TYPES, attached
from bot.matrix.gateway import Gateway
from bot.metrics import Metrics
from bot.store import InboxRow, Store

log = logging.getLogger(__name__)

# Moderation policy lists (the spec's m.policy.rule.*): event type → what a rule names.
POLICY_RULE_TYPES = {
    "m.policy.rule.user": "user",
    "m.policy.rule.server": "server",
    "m.policy.rule.room": "room",
}


# Members come with the events they sent, not every member of every room in each start's
# full-state sync (its size grew with the region); who is in a room is read whole when needed
# (``Gateway.load_members``) and kept from the sync after that. Redundant members are asked
# for: the homeserver remembers what it sent to this device, and a restarted bot forgot it.
LAZY_MEMBERS = {"lazy_load_members": True, "include_redundant_members": True}
# What nio needs of a room's state to send into it: whether (and how) it is encrypted, and its
# members. The full-state sync at a start asks for that alone: the start's own checks read the
# rest from the homeserver (``extract`` ignores that sync's state), later syncs bring changes.
START_STATE_TYPES = ["m.room.create", "m.room.encryption", "m.room.member"]


def sync_filter(own_user: str, *, start: bool = False, initial: bool = False) -> dict:
    """What the bot needs from sync: no presence, typing or receipts; at a start, members
    lazily (``load_members`` reads a room's whole list when it is needed). Its own
    events stay in: filtering them out (not_senders) would hide the m.room.encryption it set
    when creating a room, and nio would then believe that room unencrypted. ``start``: the
    full-state sync of a start, which needs only ``START_STATE_TYPES``. ``initial``: the very
    first sync of a new bot (no token), whose timelines it does not act on (``extract``'s
    ``history``): one event per room instead of a hundred (working out the state at the
    start of a hundred-event timeline in every room was most of a cold start's time)."""
    # Members lazily at a start only: a later sync whose timeline is cut short (a busy room, a
    # slow bot) must still bring every membership change of the gap in its state, whoever made
    # it (lazily, only those of the timeline's senders would come: a stranger joining in the
    # gap would go unseen by enforcement). A start reads every watched room's members itself.
    lazy = LAZY_MEMBERS if start or initial else {}
    state: dict[str, Any] = dict(lazy)
    if start or initial:
        state["types"] = list(START_STATE_TYPES)
    return {
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "state": state,
            "timeline": {"limit": 1 if initial else 100, **lazy},
            "ephemeral": {"types": []},
        },
    }


def member_changes(resp: SyncResponse) -> list[str]:
    """The joined rooms whose members a sync changed (or, lazily, brought)."""
    return [
        room_id
        for room_id, info in resp.rooms.join.items()
        if any(isinstance(ev, RoomMemberEvent) for ev in (*info.state, *info.timeline.events))
    ]


@dataclass(frozen=True)
class Invite:
    room_id: str
    inviter: str | None
    is_direct: bool


@dataclass(frozen=True)
class Membership:
    room_id: str
    user_id: str
    membership: str
    sender: str
    event_id: str | None = None
    origin_ts: int = 0  # the homeserver's timestamp (ms); 0 in rows recorded before it was


@dataclass(frozen=True)
class FileShared:
    """A file posted in a room (``m.file``, ``m.image``, ``m.video``, ``m.audio``): its name,
    type and size, who and when. Never its content, where it is stored nor its key."""

    room_id: str
    event_id: str
    sender: str
    name: str
    msgtype: str
    mimetype: str
    size: int | None
    encrypted: bool  # sent as an encrypted file (``file``, not ``url``)
    origin_ts: int


@dataclass(frozen=True)
class Reaction:
    room_id: str
    event_id: str
    sender: str
    relates_to: str
    key: str
    encrypted: bool = False
    # The sending device as the event's Megolm session proves it (see ``Origin``), and where
    # the ciphertext sits in that session (a replay is refused).
    device_curve: str | None = None
    device_ed: str | None = None
    megolm_session: str | None = None
    megolm_index: int | None = None


@dataclass(frozen=True)
class PollResponse:
    """A response to a poll (MSC3381's ``m.poll.response``, encrypted in an encrypted room):
    the start it refers to and its content as sent (``bot.polls`` reads it)."""

    room_id: str
    event_id: str
    sender: str
    start_event: str
    content: dict
    origin_ts: int


# The event types of poll responses: MSC3381's unstable one (what Element sends) and the
# stable one.
POLL_RESPONSE_TYPES = frozenset({"org.matrix.msc3381.poll.response", "m.poll.response"})


# (curve25519, ed25519) of the device whose Megolm session decrypted an event, then the
# session's id and the message's index in it; all None for an unencrypted event or one
# decrypted with a forwarded key (which proves nothing of who sent it).
OriginKeys = tuple[str | None, str | None, str | None, int | None]
Origin = Callable[[Event, str], OriginKeys]
NO_ORIGIN: OriginKeys = (None, None, None, None)


def no_origin(event: Event, room_id: str) -> OriginKeys:
    return NO_ORIGIN


@dataclass(frozen=True)
class PolicyEvent:
    """A moderation policy rule set or withdrawn (empty content) in some room."""

    room_id: str
    event_type: str
    state_key: str
    content: dict
    sender: str
    event_id: str | None = None


@dataclass(frozen=True)
class PolicyEvents:
    """Policy rules seen together, handled together (one sweep for all)."""

    items: tuple[PolicyEvent, ...]


@dataclass(frozen=True)
class StateChange:
    room_id: str
    event_type: str
    state_key: str
    sender: str
    event_id: str | None = None


@dataclass(frozen=True)
class Redaction:
    """Someone withdrew an event (Element's "remove"): a ✅ on a card, a command not yet run,
    a card the bot posted."""

    room_id: str
    event_id: str
    sender: str
    redacts: str


@dataclass(frozen=True)
class Left:
    """The bot is out of a room (kicked, banned, or the room went away)."""

    room_id: str
    sender: str | None = None
    membership: str = "leave"
    event_id: str | None = None


@dataclass(frozen=True)
class Unreadable:
    """An event the bot could not decrypt (its room key has not reached it yet): the
    ciphertext as it came, kept until the key arrives."""

    room_id: str
    event_id: str
    sender: str
    session_id: str
    source: dict

    @classmethod
    def of(cls, room_id: str, ev: MegolmEvent) -> Unreadable:
        return cls(room_id, ev.event_id, ev.sender, ev.session_id, ev.source)

    def event(self) -> MegolmEvent:
        parsed = MegolmEvent.from_dict(self.source)
        parsed.room_id = self.room_id
        return parsed


@dataclass
class Batch:
    """What one sync brought that the bot acts on."""

    commands: list[InboxRow] = field(default_factory=list)
    invites: list[Invite] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    state_changes: list[StateChange] = field(default_factory=list)
    policy_rules: list[PolicyEvent] = field(default_factory=list)
    left_rooms: list[str] = field(default_factory=list)
    left: list[Left] = field(default_factory=list)
    redactions: list[Redaction] = field(default_factory=list)
    poll_responses: list[PollResponse] = field(default_factory=list)
    files: list[FileShared] = field(default_factory=list)
    undecryptable: int = 0
    unreadable: list[Unreadable] = field(default_factory=list)
    # Room keys came in this sync (events kept unreadable may be read now).
    keys_arrived: bool = False
    # Users whose devices or cross-signing keys changed (trust is checked again for them).
    device_changes: list[str] = field(default_factory=list)

    def durable(self) -> list[tuple[str, str, str | None, dict[str, Any]]]:
        """What is written with the sync token besides commands, in the order to handle it:
        (kind, room, event id, fields)."""
        out: list[tuple[str, str, str | None, dict[str, Any]]] = []
        for kind, items in (
            ("invite", self.invites),
            ("state", self.state_changes),
            ("membership", self.memberships),
            ("policy", self.policy_rules),
            ("reaction", self.reactions),
            ("file", self.files),
            ("redaction", self.redactions),
            ("poll_response", self.poll_responses),
            ("unreadable", self.unreadable),
            ("left", self.left),
        ):
            for item in items:
                out.append((kind, item.room_id, getattr(item, "event_id", None), asdict(item)))
        return out


DURABLE_KINDS: dict[str, type] = {
    "invite": Invite,
    "state": StateChange,
    "membership": Membership,
    "policy": PolicyEvent,
    "reaction": Reaction,
    "file": FileShared,
    "redaction": Redaction,
    "poll_response": PollResponse,
    "unreadable": Unreadable,
    "left": Left,
}


def revive(kind: str, fields: dict[str, Any]) -> Any:
    """An event of ``Batch.durable`` as read back from the store."""
    return DURABLE_KINDS[kind](**fields)


def extract(
    resp: SyncResponse,
    own_user: str,
    prefix: str,
    *,
    history: bool,
    watched_state: frozenset[str] = frozenset(),
    conversations: frozenset[str] = frozenset(),
    origin: Origin = no_origin,
    full_state: bool = False,
) -> Batch:
    """Pure: pick out of a (decrypted) sync response what the bot acts on. With
    ``history=False`` (the very first sync of a new bot) old timeline events are not acted on.
    With ``full_state`` (the first sync after a start) the state block is the rooms' whole
    state, not what changed: the start's own checks (sweep, rules, reconcile) look at that, so
    only the timeline's events are taken."""
    batch = Batch()
    for room_id, info in resp.rooms.invite.items():
        inviter, is_direct = None, False
        for ev in info.invite_state:
            if isinstance(ev, InviteMemberEvent) and ev.state_key == own_user:
                inviter = ev.sender
                is_direct = bool(ev.content.get("is_direct"))
        batch.invites.append(Invite(room_id, inviter, is_direct))
    for room_id, info in resp.rooms.join.items():
        if not history:
            continue
        changed = list(info.timeline.events) if full_state else [*info.state, *info.timeline.events]
        for ev in changed:
            if isinstance(ev, RoomMemberEvent):
                batch.memberships.append(
                    Membership(
                        room_id,
                        ev.state_key,
                        ev.membership,
                        ev.sender,
                        ev.event_id,
                        ev.server_timestamp,
                    )
                )
            event_type = ev.source.get("type", "")
            if event_type in POLICY_RULE_TYPES and "state_key" in ev.source:
                batch.policy_rules.append(
                    PolicyEvent(
                        room_id,
                        event_type,
                        ev.source["state_key"],
                        ev.source.get("content", {}),
                        ev.sender,
                        ev.event_id,
                    )
                )
            if event_type in watched_state and ev.sender != own_user and "state_key" in ev.source:
                batch.state_changes.append(
                    StateChange(room_id, event_type, ev.source["state_key"], ev.sender, ev.event_id)
                )
        for ev in info.timeline.events:
            if isinstance(ev, MegolmEvent):
                batch.undecryptable += 1
                # Kept, and tried again when its key arrives (App.drain_events).
                batch.unreadable.append(Unreadable.of(room_id, ev))
                continue
            found = acted_on(ev, room_id, own_user, prefix, conversations, origin)
            if isinstance(found, InboxRow):
                batch.commands.append(found)
            elif isinstance(found, Reaction):
                batch.reactions.append(found)
            elif isinstance(found, Redaction):
                batch.redactions.append(found)
            elif isinstance(found, PollResponse):
                batch.poll_responses.append(found)
            if room_id not in conversations and (shared := file_shared(ev, room_id, own_user)):
                batch.files.append(shared)
    batch.keys_arrived = any(
        isinstance(ev, RoomKeyEvent | ForwardedRoomKeyEvent)
        for ev in getattr(resp, "to_device_events", None) or []
    )
    for room_id, info in resp.rooms.leave.items():
        batch.left_rooms.append(room_id)
        mine = [
            ev
            for ev in [*info.state, *info.timeline.events]
            if isinstance(ev, RoomMemberEvent) and ev.state_key == own_user
        ]
        last = mine[-1] if mine else None
        batch.left.append(
            Left(
                room_id,
                last.sender if last else None,
                last.membership if last else "leave",
                last.event_id if last else None,
            )
        )
    device_list = getattr(resp, "device_list", None)
    batch.device_changes.extend(getattr(device_list, "changed", None) or [])
    return batch


def redacted_by(source: dict[str, Any]) -> str | None:
    """The event a redaction withdraws: top level before room version 11, in the content
    since."""
    if source.get("type") != "m.room.redaction":
        return None
    redacts = source.get("redacts") or source.get("content", {}).get("redacts")
    return redacts if isinstance(redacts, str) else None


def file_shared(ev: Event, room_id: str, own_user: str) -> FileShared | None:
    """A file someone posted (not an edit): what of it the documents index keeps."""
    if ev.sender == own_user or not isinstance(ev, (RoomMessageMedia, RoomEncryptedMedia)):
        return None
    content = ev.source.get("content", {})
    relation = content.get("m.relates_to") or {}
    if not isinstance(relation, dict) or relation.get("rel_type") == "m.replace":
        return None
    found = attached(content)
    msgtype = content.get("msgtype")
    if found is None or msgtype not in MEDIA_TYPES:
        return None
    return FileShared(
        room_id,
        ev.event_id,
        ev.sender,
        found["name"][:500],
        msgtype,
        found["mimetype"][:200],
        found["size"],
        "file" in found,
        ev.server_timestamp,
    )


def without_reply_fallback(body: str) -> str:
    """A reply's text without the quote older clients put before it (``> <@x> …`` lines, then
    an empty line)."""
    lines = body.splitlines()
    if not lines or not lines[0].startswith("> "):
        return body
    quoted = 0
    while quoted < len(lines) and lines[quoted].startswith(">"):
        quoted += 1
    if quoted < len(lines) and not lines[quoted].strip():
        return "\n".join(lines[quoted + 1 :])
    return body


def acted_on(
    ev: Event,
    room_id: str,
    own_user: str,
    prefix: str,
    conversations: frozenset[str],
    origin: Origin = no_origin,
) -> InboxRow | Reaction | Redaction | PollResponse | None:
    """What one (decrypted) timeline event is to the bot: a command (or an answer in a direct
    chat's conversation), a reaction, a redaction, a poll response, or nothing."""
    if ev.sender == own_user:
        return None
    redacts = redacted_by(ev.source)
    if redacts is not None:
        return Redaction(room_id, ev.event_id, ev.sender, redacts)
    if isinstance(ev, (RoomMessageText, RoomMessageMedia, RoomEncryptedMedia)):
        content = ev.source.get("content", {})
        relation = content.get("m.relates_to") or {}
        if not isinstance(relation, dict) or relation.get("rel_type") == "m.replace":
            return None  # an edit is not a new command
        attachment = None
        if isinstance(ev, RoomMessageText):
            body = without_reply_fallback(ev.body).strip()
        else:
            # A file is a command only by its caption: a ``filename`` beside a different
            # ``body`` (the spec's media captions).
            attachment, body = attached(content), content.get("body")
            if attachment is None or not isinstance(body, str) or body == attachment["name"]:
                return None
            body = body.strip()
            if not body.startswith(prefix):
                return None
        reply = relation.get("m.in_reply_to") or {}
        reply_to = reply.get("event_id") if isinstance(reply, dict) else None
        thread = relation.get("event_id") if relation.get("rel_type") == "m.thread" else None
        if thread is not None and relation.get("is_falling_back") and reply_to == thread:
            reply_to = None  # the thread's fallback, not a reply to its root
        # Commands anywhere; plain answers only in direct chats (guided dialogues).
        if (body.startswith(prefix) and len(body) > len(prefix)) or (
            room_id in conversations and body
        ):
            return InboxRow(
                ev.event_id,
                room_id,
                ev.sender,
                body,
                bool(getattr(ev, "decrypted", False)),
                ev.server_timestamp,
                *origin(ev, room_id),
                reply_to=reply_to if isinstance(reply_to, str) else None,
                attachment=attachment,
                thread=thread if isinstance(thread, str) else None,
            )
    elif isinstance(ev, ReactionEvent):
        return Reaction(
            room_id,
            ev.event_id,
            ev.sender,
            ev.reacts_to,
            ev.key,
            bool(getattr(ev, "decrypted", False)),
            *origin(ev, room_id),
        )
    elif ev.source.get("type") in POLL_RESPONSE_TYPES:
        content = ev.source.get("content")
        relation = content.get("m.relates_to") if isinstance(content, dict) else None
        start = relation.get("event_id") if isinstance(relation, dict) else None
        if isinstance(start, str) and isinstance(content, dict):
            return PollResponse(
                room_id, ev.event_id, ev.sender, start, content, ev.server_timestamp
            )
    return None


def megolm_origin(gateway: Gateway) -> Origin:
    """The origin of a decrypted event from nio's inbound group sessions: the session was
    received over Olm from ``sender_key`` (authenticated), with the ed25519 key that device
    claimed; a forwarded session proves neither. With it, the message's index in the session
    (``Gateway.remember_megolm_indices``)."""
    client = gateway.client

    def origin(event: Event, room_id: str) -> OriginKeys:
        position = gateway.megolm_index(event.event_id)
        if not getattr(event, "decrypted", False) or client.olm is None or position is None:
            return NO_ORIGIN
        sender_key = getattr(event, "sender_key", None)
        session_id = getattr(event, "session_id", None)
        if not sender_key or not session_id or session_id != position[0]:
            return NO_ORIGIN
        session = client.olm.inbound_group_store.get(room_id, sender_key, session_id)
        if session is None or session.forwarding_chain:
            return NO_ORIGIN
        return sender_key, session.ed25519, session_id, position[1]

    return origin


class SyncLoop:
    def __init__(
        self,
        gateway: Gateway,
        store: Store,
        metrics: Metrics,
        prefix: Callable[[], str],
        on_batch: Callable[[Batch], Awaitable[None]],
        *,
        healthy_age: Callable[[], float] = lambda: 60.0,
        conversations: Callable[[], frozenset[str]] = frozenset,
        watched_state: frozenset[str] = frozenset(),
        pause_after_joins: Callable[[], float] = lambda: 0.0,
    ):
        self.gateway = gateway
        self.store = store
        self.metrics = metrics
        self.prefix = prefix
        self.on_batch = on_batch
        self.healthy_age = healthy_age  # /healthz turns 503 past this age (seconds)
        self.watched_state = watched_state  # state event types whose changes are acted on
        self.conversations = conversations
        self.pause_after_joins = pause_after_joins
        self.first = True

    @property
    def timeout_ms(self) -> int:
        """The long poll: half the age at which /healthz turns 503 (a quiet, healthy bot
        never looks stale), 30 s at most."""
        return int(min(30.0, self.healthy_age() / 2) * 1000)

    async def once(self) -> Batch:
        """One sync: fetch, record durably, run nio's crypto housekeeping, hand on."""
        client = self.gateway.client
        since = await self.store.get("sync_token")
        full_state = self.first
        resp: SyncResponse = await self.gateway.call(
            "sync",
            lambda: client.sync(
                timeout=0 if full_state else self.timeout_ms,
                sync_filter=sync_filter(client.user_id, start=full_state, initial=since is None),
                since=since,
                full_state=full_state,
            ),
        )
        # Before any await: nio has just taken these changes in (it yields nowhere while it
        # does, the bot registering no nio callbacks), and a member list read meanwhile must
        # not be laid over them.
        self.gateway.members_changed(member_changes(resp), left=list(resp.rooms.leave))
        if since is not None:
            await self.fill_gaps(resp, since)
        batch = extract(
            resp,
            client.user_id,
            self.prefix(),
            history=since is not None,
            watched_state=self.watched_state,
            conversations=self.conversations(),
            origin=megolm_origin(self.gateway),
            full_state=full_state,
        )
        added = await self.store.record_events(
            batch.commands, resp.next_batch, events=batch.durable()
        )
        if added:
            log.debug("recorded %d new command(s)", added)
        self.first = False
        self.metrics.mark_synced()
        if batch.undecryptable:
            log.debug("%d event(s) not readable yet (no room key)", batch.undecryptable)
            self.metrics.undecryptable.inc(batch.undecryptable)
        await self.crypto_housekeeping()
        self.gateway.synced.set()
        await self.on_batch(batch)
        return batch

    async def fill_gaps(self, resp: SyncResponse, since: str, max_pages: int = 100) -> int:
        """A room's timeline that came back ``limited`` (more happened since the last sync
        than it holds: the bot was down, or busy) is completed from ``/messages``, paging back
        to where the last sync ended, so that nothing sent meanwhile is missed. Returns how
        many events were added."""
        from nio import MessageDirection  # nio's enum, only here

        added = 0
        for room_id, info in resp.rooms.join.items():
            timeline = info.timeline
            if not timeline.limited or not timeline.prev_batch:
                continue
            gap: list[Event] = []
            token = timeline.prev_batch
            for _ in range(max_pages):
                page = await self.gateway.call(
                    f"messages of {room_id}",
                    functools.partial(
                        self.gateway.client.room_messages,
                        room_id,
                        start=token,
                        end=since,
                        direction=MessageDirection.back,
                        limit=100,
                    ),
                )
                gap.extend(page.chunk)
                # The end is where no further token comes (an empty page may still have one).
                if not page.end or page.end == token:
                    break
                token = page.end
            else:
                log.warning(
                    "%s: more than %d pages missed; the oldest are skipped", room_id, max_pages
                )
            seen = {ev.event_id for ev in timeline.events}
            missed = [ev for ev in reversed(gap) if ev.event_id not in seen]
            timeline.events = missed + list(timeline.events)
            # The state block sums up the gap (a join then a leave shows as the leave): its
            # events read back are taken in their place in the timeline, in order, instead.
            read_back = {ev.event_id for ev in missed}
            info.state = [ev for ev in info.state if ev.event_id not in read_back]
            added += len(missed)
            log.info("%s: %d event(s) missed by the sync read back", room_id, len(missed))
        return added

    async def crypto_housekeeping(self) -> None:
        """What nio's ``sync_forever`` does between syncs: to-device messages, key upload,
        device-list queries and one-time-key claims."""
        client = self.gateway.client
        if client.outgoing_to_device_messages:
            await self.gateway.call("send to-device", client.send_to_device_messages)
        if client.should_upload_keys:
            await onetimekeys.upload(self.gateway)
        if client.should_query_keys:
            await self.gateway.call("query keys", client.keys_query)
        if client.should_claim_keys:
            users = client.get_users_for_key_claiming()
            await self.gateway.call("claim keys", lambda: client.keys_claim(users))

    def pause_before_next(self, batch: Batch) -> float:
        """After a sync that brought people joining or leaving and no command, a short wait
        before the next: a burst of joins (a bulk onboarding: 5 rooms × 200 members) then
        comes in a few syncs instead of one each, and the homeserver serves a sync and a key
        query for each few of them, not for each (measured in docs/performance.md). A command
        sent meanwhile waits that long at most; a sync with a command is followed at once."""
        if batch.commands or not batch.memberships:
            return 0.0
        return max(0.0, self.pause_after_joins())

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                batch = await self.once()
                failures = 0
                await asyncio.sleep(self.pause_before_next(batch))
            except asyncio.CancelledError:
                raise
            except AgoraError as exc:
                failures += 1
                delay = min(15.0, 2.0 ** min(failures, 4))  # back soon after an outage
                log.error("sync failed (%s); next try in %.0f s", exc, delay)
                await asyncio.sleep(delay)
