"""Pure: the board of evolution requests as a shared room's state says it, and its ranking.

Everything lives in the room's state, so that every region's bot reads the same board; each
kind of event counts only when its sender is the one authoritative for it:

- ``fr.agora.evolution.regions`` (state key ``""``): the regions of the room (server → its
  bot) and the weighting, written by the owning region's bot. Counts only when its sender is
  at power 100 or more in the room (the owner: peer bots are at 50, members at 0); that sender
  is the board's *owner*.
- ``fr.agora.evolution.request.<request id>`` (``<server>~<hex>``; state key: the writing
  bot's user id, which the homeserver lets no one else write): a request, written once by the
  proposer's region's bot (the bot the regions event names for the proposer's server; the id
  starts with that server).
- ``fr.agora.evolution.votes.<request id>`` (state key: the writing bot's user id): the votes
  of one region's people for one request, ``{"votes": {user: {"vote": true, "cause": …}}}``
  (``vote`` gone once withdrawn); written by that region's bot only. Keyed by their writer, no
  other region's bot can replace a region's requests or votes (state is kept per type and key,
  whoever sends it), and the regions and statuses are the owner's alone by power level.
- ``fr.agora.evolution.status`` (state key: the request's id): its status and the animators'
  note, or ``merged`` into another request; written by the owner only.

A request's number is its place in the order of (the number its region's bot claimed when
proposing it: one more than the highest it saw, when the event was sent, its id): stable, except
for two requests proposed in two regions at the same moment, which the later one in that order
follows.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from bot.matrix.ids import creators, server_of

REGIONS = "fr.agora.evolution.regions"
REQUEST = "fr.agora.evolution.request."  # + the request's id
VOTES = "fr.agora.evolution.votes."  # + the request's id
STATUS = "fr.agora.evolution.status"
OWNER_LEVEL = 100
MAX_TITLE = 200
MAX_TEXT = 2000

PROPOSED, QUALIFIED, SENT, DELIVERED, REFUSED, MERGED = (
    "proposed",
    "qualified",
    "sent",
    "delivered",
    "refused",
    "merged",
)
STATUSES = (PROPOSED, QUALIFIED, SENT, DELIVERED, REFUSED)  # those animators set
OPEN = frozenset({PROPOSED, QUALIFIED, SENT})  # still voted on
WEIGHTS = ("region", "users")
# How people write a status (accents and case folded away).
STATUS_WORDS = {
    "proposee": PROPOSED,
    "proposed": PROPOSED,
    "qualifiee": QUALIFIED,
    "qualified": QUALIFIED,
    "transmise": SENT,
    "sent": SENT,
    "editeur": SENT,
    "livree": DELIVERED,
    "delivered": DELIVERED,
    "refusee": REFUSED,
    "refused": REFUSED,
    "fusionnee": MERGED,
    "merged": MERGED,
}


def folded(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold().strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def status_of_word(word: str) -> str | None:
    """``qualifiée``, ``Qualifiee``, ``qualified`` → ``qualified``; None if it is no status."""
    return STATUS_WORDS.get(folded(word))


@dataclass(frozen=True)
class Request:
    id: str
    claimed: int  # the number its region's bot claimed
    title: str
    description: str
    proposer: str
    ts: int  # when its event was sent (ms)
    number: int = 0  # its place on the board, from 1


@dataclass(frozen=True)
class Status:
    status: str
    note: str = ""
    merged_into: str | None = None
    by: str = ""
    cause: str = ""  # the command's event that set it (a re-run finds its own work)


@dataclass(frozen=True)
class Standing:
    """A request on the board with its votes (its duplicates' included, each person once)."""

    request: Request
    status: Status
    votes: Mapping[str, frozenset[str]]  # server → its voters
    score: Fraction
    merged: tuple[Request, ...] = ()  # requests merged into this one

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.votes.values())


@dataclass
class Board:
    owner: str | None = None
    regions: dict[str, str] = field(default_factory=dict)  # server → its bot
    weight: str = "region"
    requests: dict[str, Request] = field(default_factory=dict)  # id → request
    votes: dict[str, set[str]] = field(default_factory=dict)  # request id → voters
    statuses: dict[str, Status] = field(default_factory=dict)
    # vote state key → the command's event that last wrote it (a vote, or its withdrawal)
    causes: dict[str, str] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        """Whether the owner opened it (published the regions)."""
        return self.owner is not None

    def by_number(self, n: int) -> Request | None:
        return next((r for r in self.requests.values() if r.number == n), None)

    def status(self, request_id: str) -> Status:
        return self.statuses.get(request_id, Status(PROPOSED))

    def root(self, request_id: str) -> str:
        """The request a duplicate was merged into, followed to the end (a loop, which only
        a hand-written state could make, stops where it closes)."""
        seen = {request_id}
        current = request_id
        while True:
            st = self.status(current)
            target = st.merged_into if st.status == MERGED else None
            if target is None or target not in self.requests or target in seen:
                return current
            seen.add(target)
            current = target

    def group(self, root_id: str) -> list[str]:
        """A request and the duplicates merged into it."""
        return [rid for rid in self.requests if self.root(rid) == root_id]

    def caused(self, root_id: str, user: str, cause: str) -> bool:
        """Whether ``cause`` last wrote ``user``'s vote on a request or its duplicates."""
        return any(self.causes.get(vote_key(rid, user)) == cause for rid in self.group(root_id))

    def next_claim(self) -> int:
        return max((r.claimed for r in self.requests.values()), default=0) + 1

    def voters(self, root_id: str) -> set[str]:
        """Everyone who voted for a request or one merged into it, each once."""
        out: set[str] = set()
        for rid in self.requests:
            if self.root(rid) == root_id:
                out |= self.votes.get(rid, set())
        return out

    def voted_keys(self, root_id: str, user: str) -> list[str]:
        """The requests (the root and its duplicates) ``user``'s vote stands on."""
        return [
            rid
            for rid in self.requests
            if self.root(rid) == root_id and user in self.votes.get(rid, set())
        ]

    def ranking(self) -> list[Standing]:
        """Every request that is not a duplicate, best first: by score, then by how many
        voted, then by number. Score (``weight``): ``users``, one point per person who voted
        for it; ``region``, each region is one voice, worth the share of its voters on the
        board who back this request: the sum over regions of (its voters for this request /
        its voters on the board), so that a large region weighs no more than a small one."""
        root_of = {rid: self.root(rid) for rid in self.requests}  # once: boards grow long
        per_root: dict[str, set[str]] = {rid: set() for rid, root in root_of.items() if rid == root}
        merged: dict[str, list[Request]] = {rid: [] for rid in per_root}
        for rid, root in root_of.items():
            per_root[root] |= self.votes.get(rid, set())
            if rid != root:
                merged[root].append(self.requests[rid])
        on_board: dict[str, set[str]] = {}
        for voters in per_root.values():
            for user in voters:
                on_board.setdefault(server_of(user), set()).add(user)
        out = []
        for rid, voters in per_root.items():
            votes: dict[str, set[str]] = {}
            for user in voters:
                votes.setdefault(server_of(user), set()).add(user)
            if self.weight == "users":
                score = Fraction(len(voters))
            else:
                score = sum(
                    (Fraction(len(v), len(on_board[s])) for s, v in votes.items()), Fraction(0)
                )
            out.append(
                Standing(
                    self.requests[rid],
                    self.status(rid),
                    {s: frozenset(v) for s, v in sorted(votes.items())},
                    score,
                    tuple(sorted(merged[rid], key=lambda d: d.number)),
                )
            )
        out.sort(key=lambda s: (-s.score, -s.total, s.request.number))
        return out

    def servers(self) -> list[str]:
        """The regions of the board, for columns: those published, then any other."""
        extra = {server_of(u) for v in self.votes.values() for u in v} - set(self.regions)
        return sorted(self.regions) + sorted(extra)


def power_of(state: Iterable[Mapping[str, Any]], user: str) -> float:
    """A user's power level in a room from its state (a v12 room's creators: unlimited)."""
    levels: Mapping[str, Any] = {}
    create: Mapping[str, Any] = {}
    for ev in state:
        if ev.get("state_key") != "":
            continue
        if ev.get("type") == "m.room.power_levels":
            levels = ev.get("content") or {}
        elif ev.get("type") == "m.room.create":
            create = ev
    version = str((create.get("content") or {}).get("room_version", "1"))
    if user in creators(dict(create), version):
        return float("inf")
    users = levels.get("users") or {}
    if user in users:
        return float(users[user])
    if not levels and create.get("sender") == user:  # no power levels yet: the creator's room
        return float(OWNER_LEVEL)
    return float(levels.get("users_default", 0))


def _text(value: Any, most: int) -> str | None:
    return value[:most] if isinstance(value, str) else None


def _request(
    request_id: str, content: Mapping[str, Any], sender: str, board: Board
) -> Request | None:
    """A request as its region's bot wrote it (None if malformed or not that bot's to write)."""
    proposer = content.get("proposer")
    title = _text(content.get("title"), MAX_TITLE)
    claimed = content.get("n")
    if not (
        isinstance(proposer, str)
        and title
        and isinstance(claimed, int)
        and not isinstance(claimed, bool)
        and board.regions.get(server_of(proposer)) == sender
        and request_id.startswith(server_of(proposer) + "~")
    ):
        return None
    description = _text(content.get("description"), MAX_TEXT) or ""
    return Request(request_id, claimed, title, description, proposer, 0)


def _status(content: Mapping[str, Any]) -> Status | None:
    status = content.get("status")
    if status not in (*STATUSES, MERGED):
        return None
    target = content.get("merged_into") if status == MERGED else None
    return Status(
        status,
        _text(content.get("note"), MAX_TEXT) or "",
        target if isinstance(target, str) else None,
        _text(content.get("by"), 300) or "",
        _text(content.get("cause"), 300) or "",
    )


def read_board(state: list[Mapping[str, Any]]) -> Board:
    """The board from a room's whole state (``GET /rooms/{id}/state``), keeping only what each
    event's sender is authoritative for."""
    board = Board()
    for ev in state:
        if ev.get("type") == REGIONS and ev.get("state_key") == "":
            content = ev.get("content") or {}
            regions = content.get("regions")
            sender = ev.get("sender", "")
            if not isinstance(regions, dict) or power_of(state, sender) < OWNER_LEVEL:
                continue
            board.owner = sender
            board.regions = {
                s: b
                for s, b in regions.items()
                if isinstance(s, str) and isinstance(b, str) and server_of(b) == s
            }
            weight = content.get("weight")
            board.weight = weight if weight in WEIGHTS else "region"
    if board.owner is None:
        return board
    raw: list[Request] = []
    for ev in state:
        kind, key = ev.get("type"), ev.get("state_key")
        content = ev.get("content") or {}
        sender = ev.get("sender", "")
        if not isinstance(kind, str) or not isinstance(key, str) or not isinstance(content, dict):
            continue
        if kind == STATUS:
            if sender == board.owner and (found := _status(content)) is not None:
                board.statuses[key] = found
        elif key != sender:
            continue  # a request and a region's votes are keyed by their writer
        elif kind.startswith(REQUEST):
            request = _request(kind.removeprefix(REQUEST), content, sender, board)
            if request is not None:
                raw.append(replace(request, ts=ev.get("origin_server_ts", 0)))
        elif kind.startswith(VOTES):
            request_id = kind.removeprefix(VOTES)
            votes = content.get("votes")
            for user, vote in votes.items() if isinstance(votes, dict) else ():
                if not isinstance(vote, dict) or board.regions.get(server_of(user)) != sender:
                    continue
                if vote.get("vote") is True:
                    board.votes.setdefault(request_id, set()).add(user)
                if isinstance(vote.get("cause"), str):
                    board.causes[vote_key(request_id, user)] = vote["cause"]
    raw.sort(key=lambda r: (r.claimed, r.ts, r.id))
    for i, r in enumerate(raw, start=1):
        board.requests[r.id] = Request(
            r.id, r.claimed, r.title, r.description, r.proposer, r.ts, number=i
        )
    board.votes = {k: v for k, v in board.votes.items() if k in board.requests}
    board.statuses = {k: v for k, v in board.statuses.items() if k in board.requests}
    return board


def vote_key(request_id: str, user: str) -> str:
    return f"{request_id}|{user}"


def score_text(score: Fraction) -> str:
    """A score as people read it: whole, or with two decimals."""
    if score.denominator == 1:
        return str(score.numerator)
    return f"{float(score):.2f}"


def export_rows(board: Board) -> tuple[list[str], list[dict[str, Any]]]:
    """The board for the editor, best first: (columns, rows), with the votes per region (a
    duplicate's under the request it was merged into, each person once)."""
    servers = board.servers()
    columns = [
        "rank",
        "number",
        "title",
        "description",
        "status",
        "note",
        "score",
        "votes",
        *(f"votes {server}" for server in servers),
        "merged",
        "region",
        "id",
    ]
    rows = []
    for rank, s in enumerate(board.ranking(), start=1):
        rows.append(
            {
                "rank": rank,
                "number": s.request.number,
                "title": s.request.title,
                "description": s.request.description,
                "status": s.status.status,
                "note": s.status.note,
                "score": score_text(s.score),
                "votes": s.total,
                **{f"votes {server}": len(s.votes.get(server, ())) for server in servers},
                "merged": " ".join(str(d.number) for d in s.merged),
                "region": server_of(s.request.proposer),
                "id": s.request.id,
            }
        )
    return columns, rows
