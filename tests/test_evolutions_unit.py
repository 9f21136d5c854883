"""The board of evolution requests read from a room's state: who may write what, numbers,
merges, and the ranking under both weightings (pure, no homeserver)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

from bot.commands import load_commands
from bot.commands.dispatcher import Dispatcher
from bot.commands.registry import CommandGroup, Role, Where
from bot.evolutions.board import (
    MERGED,
    REGIONS,
    REQUEST,
    STATUS,
    VOTES,
    export_rows,
    power_of,
    read_board,
    score_text,
    status_of_word,
)
from bot.evolutions.capability import split_title
from bot.territories.model import FederationConfig

A, B, C = "sud.example", "occitanie.example", "bretagne.example"
BOT_A, BOT_B, BOT_C = f"@agora:{A}", f"@agora:{B}", f"@agora:{C}"
ADMIN_A = f"@admin:{A}"


def ev(kind: str, key: str, content: dict[str, Any], sender: str, ts: int = 0) -> dict[str, Any]:
    return {
        "type": kind,
        "state_key": key,
        "content": content,
        "sender": sender,
        "origin_server_ts": ts,
    }


def room(weight: str = "region", *, regions_by: str = BOT_A) -> list[dict[str, Any]]:
    """A shared room as the owning region A made it: its bot at 100, B's at 50."""
    return [
        ev("m.room.create", "", {"room_version": "10"}, BOT_A),
        ev(
            "m.room.power_levels",
            "",
            {"users": {BOT_A: 100, ADMIN_A: 100, BOT_B: 50}, "users_default": 0},
            BOT_A,
        ),
        ev(REGIONS, "", {"regions": {A: BOT_A, B: BOT_B}, "weight": weight}, regions_by),
    ]


def request(rid: str, n: int, title: str, proposer: str, sender: str, ts: int = 0) -> dict:
    """A request as its region's bot writes it (keyed by the writer: the homeserver lets no
    one else write a state key that is a user id but that user)."""
    return ev(REQUEST + rid, sender, {"n": n, "title": title, "proposer": proposer}, sender, ts)


def votes(rid: str, sender: str, **by_user: dict) -> dict:
    """One region's votes for a request, as its bot writes them."""
    return ev(VOTES + rid, sender, {"votes": by_user}, sender)


def vote(rid: str, user: str, sender: str, on: bool = True) -> dict:
    return votes(rid, sender, **{user: {"vote": True} if on else {}})


def status(rid: str, value: str, sender: str = BOT_A, **more: Any) -> dict:
    return ev(STATUS, rid, {"status": value, **more}, sender)


def test_only_the_owner_at_power_100_opens_a_board():
    assert read_board(room()).owner == BOT_A
    # B's bot (at 50) cannot claim the board, nor can a member.
    assert not read_board(room(regions_by=BOT_B)).open
    assert not read_board(room(regions_by=f"@someone:{A}")).open


def test_a_v12_rooms_creator_is_above_every_level():
    state = [
        ev("m.room.create", "", {"room_version": "12"}, BOT_A),
        ev("m.room.power_levels", "", {"users": {BOT_B: 50}}, BOT_A),
    ]
    assert power_of(state, BOT_A) == float("inf")
    assert power_of(state, BOT_B) == 50
    assert power_of(state, f"@x:{B}") == 0


def test_requests_count_only_from_the_proposers_own_region_bot():
    state = [
        *room(),
        request(f"{A}~1", 1, "Export PDF", f"@doc:{A}", BOT_A),
        request(f"{B}~1", 2, "Agenda partagé", f"@sf:{B}", BOT_B),
        # A's bot filing for someone of B, B's bot under A's name, a member writing state.
        request(f"{B}~2", 3, "Forgé par A", f"@sf:{B}", BOT_A),
        request(f"{A}~2", 3, "Forgé par B", f"@doc:{A}", BOT_B),
        request(f"{A}~3", 3, "Écrit à la main", f"@doc:{A}", f"@doc:{A}"),
        # An id that does not start with the proposer's server.
        request(f"{A}~4", 3, "Mauvais id", f"@sf:{B}", BOT_B),
    ]
    board = read_board(state)
    assert [r.title for r in sorted(board.requests.values(), key=lambda r: r.number)] == [
        "Export PDF",
        "Agenda partagé",
    ]


def test_numbers_follow_the_claimed_order_and_a_simultaneous_claim_comes_after():
    state = [
        *room(),
        request(f"{B}~b", 2, "second of two claiming 2", f"@sf:{B}", BOT_B, ts=2000),
        request(f"{A}~a", 1, "first", f"@doc:{A}", BOT_A, ts=3000),
        request(f"{A}~c", 2, "first of two claiming 2", f"@doc:{A}", BOT_A, ts=1000),
    ]
    board = read_board(state)
    assert {r.title: r.number for r in board.requests.values()} == {
        "first": 1,
        "first of two claiming 2": 2,
        "second of two claiming 2": 3,
    }
    assert board.next_claim() == 3


def test_votes_count_only_from_the_voters_region_bot_and_a_withdrawn_one_not_at_all():
    rid = f"{A}~1"
    state = [
        *room(),
        request(rid, 1, "Export PDF", f"@doc:{A}", BOT_A),
        vote(rid, f"@doc:{A}", BOT_A),
        vote(rid, f"@sf1:{B}", BOT_B),
        vote(rid, f"@sf2:{B}", BOT_A),  # A cannot vote in B's people's name
        vote(rid, f"@sf3:{B}", BOT_B, on=False),  # withdrawn
        vote(rid, f"@x:{C}", BOT_C),  # C is not a region of this board
        vote(f"{A}~nothing", f"@doc:{A}", BOT_A),  # no such request
    ]
    board = read_board(state)
    assert board.votes == {rid: {f"@doc:{A}", f"@sf1:{B}"}}
    [standing] = board.ranking()
    assert {s: set(v) for s, v in standing.votes.items()} == {A: {f"@doc:{A}"}, B: {f"@sf1:{B}"}}


def test_merged_votes_follow_and_someone_who_voted_both_counts_once():
    one, dup = f"{A}~1", f"{B}~1"
    state = [
        *room("users"),
        request(one, 1, "Export PDF", f"@doc:{A}", BOT_A),
        request(dup, 2, "Exporter en PDF", f"@sf1:{B}", BOT_B),
        vote(one, f"@doc:{A}", BOT_A),
        vote(one, f"@sf1:{B}", BOT_B),
        vote(dup, f"@sf1:{B}", BOT_B),  # voted both
        vote(dup, f"@sf2:{B}", BOT_B),
        status(dup, MERGED, merged_into=one),
    ]
    board = read_board(state)
    assert board.root(dup) == one
    [standing] = board.ranking()
    assert standing.request.id == one and standing.total == 3
    assert standing.score == 3
    assert [d.id for d in standing.merged] == [dup]
    assert set(board.voted_keys(one, f"@sf1:{B}")) == {one, dup}


def test_a_status_counts_only_from_the_owner_and_a_merge_loop_stops():
    one, two = f"{A}~1", f"{A}~2"
    state = [
        *room(),
        request(one, 1, "Un", f"@doc:{A}", BOT_A),
        request(two, 2, "Deux", f"@doc:{A}", BOT_A),
        status(one, "qualified", note="vu en atelier"),
        status(two, "refused", sender=BOT_B),  # not the owner
    ]
    board = read_board(state)
    assert board.status(one).status == "qualified" and board.status(one).note == "vu en atelier"
    assert board.status(two).status == "proposed"
    looped = read_board(
        [
            *state,
            status(one, MERGED, merged_into=two),
            status(two, MERGED, merged_into=one),
        ]
    )
    assert looped.root(one) in (one, two)  # ends, whatever a hand-written state says


def test_region_weight_gives_each_region_one_voice_shared_by_its_voters():
    r1, r2, r3 = f"{A}~1", f"{A}~2", f"{B}~1"
    a_people = [f"@a{i}:{A}" for i in range(4)]
    state = [
        *room("region"),
        request(r1, 1, "Un", f"@a0:{A}", BOT_A),
        request(r2, 2, "Deux", f"@a0:{A}", BOT_A),
        request(r3, 3, "Trois", f"@b0:{B}", BOT_B),
        # Region A: four people for #1, one of them also for #2.
        *(vote(r1, p, BOT_A) for p in a_people),
        vote(r2, a_people[0], BOT_A),
        # Region B: its one voter for #3 and #2.
        vote(r3, f"@b0:{B}", BOT_B),
        vote(r2, f"@b0:{B}", BOT_B),
    ]
    board = read_board(state)
    scores = {s.request.number: s.score for s in board.ranking()}
    # A has 4 voters on the board, B has 1.
    assert scores == {1: Fraction(4, 4), 2: Fraction(1, 4) + Fraction(1, 1), 3: Fraction(1, 1)}
    assert [s.request.number for s in board.ranking()] == [2, 1, 3]  # 1.25, then 1 (4 votes)
    users = read_board(
        [
            *state[:2],
            ev(REGIONS, "", {"regions": {A: BOT_A, B: BOT_B}, "weight": "users"}, BOT_A),
            *state[3:],
        ]
    )
    assert [(s.request.number, s.score) for s in users.ranking()] == [(1, 4), (2, 2), (3, 1)]


def test_every_bot_reads_the_same_ranking_whatever_the_order_of_the_state():
    state = [
        *room(),
        request(f"{A}~1", 1, "Un", f"@a:{A}", BOT_A),
        request(f"{B}~1", 2, "Deux", f"@b:{B}", BOT_B),
        vote(f"{A}~1", f"@a:{A}", BOT_A),
        vote(f"{B}~1", f"@b:{B}", BOT_B),
        vote(f"{B}~1", f"@a:{A}", BOT_A),
    ]
    forward = [(s.request.id, s.score) for s in read_board(state).ranking()]
    backward = [(s.request.id, s.score) for s in read_board(state[::-1]).ranking()]
    # A's one voter supports both (1 each from A), B's supports #2 (1 more).
    assert forward == backward == [(f"{B}~1", Fraction(2)), (f"{A}~1", Fraction(1))]


def test_statuses_and_titles_as_people_type_them():
    assert status_of_word("Qualifiée") == "qualified"
    assert status_of_word("livree") == "delivered"
    assert status_of_word("transmise") == status_of_word("sent") == "sent"
    assert status_of_word("bientôt") is None
    assert split_title('"Export PDF" depuis la fiche') == ("Export PDF", "depuis la fiche")
    assert split_title("« Agenda » partagé") == ("Agenda", "partagé")
    assert split_title("Sans guillemets du tout") == ("Sans guillemets du tout", "")
    assert score_text(Fraction(5, 4)) == "1.25" and score_text(Fraction(2)) == "2"


# --- the commands, through the real registry, against a fake of their services ------------------


async def test_the_commands_pass_what_people_type_to_the_board():
    from tests.test_command_handlers_unit import Calls, run

    board = Calls(propose="ok", vote="ok", merge="ok", set_status="ok", listing="ok")
    where = Where.SHARED_ROOM
    await run('!evolution proposer "Export PDF" depuis la fiche', board, place=where)
    await run("!evolution vote #3", board, place=where)
    await run("!evolution fusionner 4 2", board, place=Where.MANAGED_ROOM, role=Role.ANIMATOR)
    await run(
        "!evolution statut 2 transmise version 24.3",
        board,
        place=Where.MANAGED_ROOM,
        role=Role.ANIMATOR,
    )
    await run("!evolutions qualifiée --page 2", board, place=where)
    await run("!evolution", board, place=where)
    # Without the sender and the room (what the dispatcher gives).
    assert [(name, args[1 if name == "listing" else 2 :]) for name, args, _ in board.calls] == [
        ("propose", ("$cmd", '"Export PDF" depuis la fiche', "fr")),
        ("vote", (3, "$cmd", "fr")),
        ("merge", (4, 2, "$cmd", "fr")),
        ("set_status", (2, "transmise", "version 24.3", "$cmd", "fr")),
        ("listing", ("qualifiée", 2, "fr")),
        ("listing", ("", 1, "fr")),
    ]


def test_merging_and_statuses_are_not_offered_in_another_regions_room():
    group = load_commands().get("evolution")
    assert isinstance(group, CommandGroup)
    for sub in ("fusionner", "statut"):
        found = group.get(sub)
        assert found is not None and Where.SHARED_ROOM not in found.where
    for sub in ("proposer", "voter", "retirer", "liste"):
        found = group.get(sub)
        assert found is not None and Where.SHARED_ROOM in found.where


# --- who answers whom in a shared room ----------------------------------------------------------


class Rooms:
    def __init__(self, kinds: dict[str, str], members: dict[str, dict[str, str]]):
        self.kinds, self.joined = kinds, members

    async def room_kind(self, room_id: str) -> str | None:
        return self.kinds.get(room_id)

    async def members(self, room_id: str) -> dict[str, str]:
        return self.joined.get(room_id, {})

    def synced_members(self, room_id: str) -> dict[str, str] | None:
        return None  # not read from the sync yet: asked

    async def read_receipt(self, room_id: str, event_id: str) -> None:
        return None

    async def react(self, room_id: str, event_id: str, key: str, *, txn: str | None = None) -> str:
        return ""


def dispatcher_of(server: str, peer_bots: tuple[str, ...], rooms: Rooms) -> Dispatcher:
    config = SimpleNamespace(
        homeserver=SimpleNamespace(server_name=server),
        federation=FederationConfig(peer_bots=peer_bots),
    )
    return Dispatcher(
        lambda: config,  # type: ignore[arg-type, return-value]
        load_commands(),
        rooms,  # type: ignore[arg-type]
        rooms,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        {},
        converse=None,  # type: ignore[arg-type]
        tell=None,  # type: ignore[arg-type]
    )


async def test_in_a_shared_room_each_person_is_answered_by_their_own_regions_bot():
    club, mine = "!club:sud", "!ours:sud"
    # A owns the club; B's bot is in it.
    owner = dispatcher_of(
        A,
        (BOT_B,),
        Rooms({club: "managed", mine: "managed"}, {club: {BOT_A: "join", BOT_B: "join"}}),
    )
    assert await owner._place(club, f"@doc:{A}", "evolution") is Where.MANAGED_ROOM
    assert await owner._place(club, f"@sf:{B}", "evolution") is None  # B's bot answers her
    assert await owner._place(mine, f"@sf:{B}", "evolution") is Where.MANAGED_ROOM  # no B bot
    assert await owner._place(club, f"@x:{C}", "evolution") is Where.MANAGED_ROOM  # no bot of C
    # What is not a shared-room command (a workshop's seat, documents, a plain message) is the
    # club's own region's to answer, whoever asks.
    for other in ("atelier", "docs", "nosuchcommand", None):
        assert await owner._place(club, f"@sf:{B}", other) is Where.MANAGED_ROOM
    # B sees the club as a peer's room: a place for its own people's shared-room commands.
    peer = dispatcher_of(B, (BOT_A,), Rooms({club: "shared-peer"}, {}))
    assert await peer._place(club, f"@sf:{B}", "evolution") is Where.SHARED_ROOM
    assert await peer._place(club, f"@sf:{B}", "evolutions") is Where.SHARED_ROOM
    assert await peer._place(club, f"@doc:{A}", "evolution") is None
    for other in ("atelier", "docs", None):
        assert await peer._place(club, f"@sf:{B}", other) is None


def test_a_command_run_again_finds_the_vote_or_withdrawal_it_wrote():
    rid = f"{A}~1"
    base = [*room(), request(rid, 1, "Un", f"@a:{A}", BOT_A)]
    voted = read_board([*base, votes(rid, BOT_A, **{f"@a:{A}": {"vote": True, "cause": "$v"}})])
    assert voted.caused(rid, f"@a:{A}", "$v") and not voted.caused(rid, f"@a:{A}", "$other")
    taken_back = read_board([*base, votes(rid, BOT_A, **{f"@a:{A}": {"cause": "$w"}})])
    assert not taken_back.votes and taken_back.caused(rid, f"@a:{A}", "$w")
    # A cause written by another region's bot proves nothing.
    # A state key naming another writer than its sender (the homeserver refuses them; a
    # state read from elsewhere is not trusted either) counts for nothing.
    misfiled = ev(VOTES + rid, BOT_A, {"votes": {f"@a:{A}": {"vote": True}}}, BOT_B)
    assert not read_board([*base, misfiled]).votes
    forged = read_board([*base, votes(rid, BOT_B, **{f"@a:{A}": {"cause": "$w"}})])
    assert not forged.caused(rid, f"@a:{A}", "$w")


def test_the_editors_csv_has_a_column_of_votes_per_region_and_the_merged_numbers():
    one, dup, other = f"{A}~1", f"{B}~1", f"{B}~2"
    state = [
        *room(),
        request(one, 1, "Export PDF", f"@doc:{A}", BOT_A),
        request(dup, 2, "Exporter en PDF", f"@sf:{B}", BOT_B),
        request(other, 3, "Agenda", f"@sf:{B}", BOT_B),
        vote(one, f"@doc:{A}", BOT_A),
        vote(dup, f"@sf:{B}", BOT_B),
        vote(other, f"@sf:{B}", BOT_B),
        status(dup, MERGED, merged_into=one),
        status(one, "sent", note="version 24.3"),
    ]
    columns, rows = export_rows(read_board(state))
    assert columns[8:10] == sorted([f"votes {A}", f"votes {B}"])
    assert [(r["number"], r[f"votes {A}"], r[f"votes {B}"], r["merged"]) for r in rows] == [
        (1, 1, 1, "2"),
        (3, 0, 1, ""),
    ]
    assert rows[0]["status"] == "sent" and rows[0]["note"] == "version 24.3"
    # B's one voter backs both: a whole voice from B for each.
    assert (rows[0]["score"], rows[1]["score"]) == ("2", "1") and rows[1]["region"] == B


def test_in_a_shared_room_only_its_regions_bot_may_write_the_boards_regions_and_statuses():
    from bot.evolutions.board import REGIONS, STATUS
    from bot.territories.desired import OWNER_ONLY_STATE, DesiredRoom, power_levels

    assert {REGIONS, STATUS} == set(OWNER_ONLY_STATE)
    room = DesiredRoom(
        key="club.echanges", is_space=False, kind="community", territory="club", parent="club",
        name="Échanges", topic="", join_rule="invite", users={"@bot:b": 50}, events_default=0,
        invites=(),
    )  # fmt: skip
    levels = power_levels(replace(room, shared=True), "@bot:a", frozenset())
    assert all(levels["events"][kind] == 100 for kind in OWNER_ONLY_STATE)
    assert levels["users"]["@bot:b"] < 100  # a peer's bot: an animator
    assert not set(OWNER_ONLY_STATE) & set(power_levels(room, "@bot:a", frozenset())["events"])
