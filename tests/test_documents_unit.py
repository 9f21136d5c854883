"""The documents index without a server: how names match a query, how an answer and a
territory's index message read, and what the sync keeps of a file (never where an encrypted
one is stored, nor its key)."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from zoneinfo import ZoneInfo

from nio import Event

from bot.config import parse_config
from bot.documents.library import (
    Document,
    board,
    board_room,
    link,
    listing,
    matches,
    parse_link,
    search,
    size_text,
    words_of,
)
from bot.matrix.sync import FileShared, extract, file_shared, revive
from bot.store import Store
from bot.store.documents import DocumentStore
from tests.test_sync_unit import BOT, event, response

PARIS = ZoneInfo("Europe/Paris")
ROOMS = {"!a:hs": "CPTS · Échanges", "!b:hs": "CPTS · Groupe canicule"}


def doc(n: int, name: str, room: str = "!a:hs", ts: int = 0, **more) -> Document:
    fields = {
        "id": n,
        "event_id": f"$e{n}",
        "room_id": room,
        "sender": "@dr.x:hs",
        "name": name,
        "words": words_of(name),
        "msgtype": "m.file",
        "mimetype": "application/pdf",
        "size": 120_000,
        "encrypted": True,
        "sent_ts": ts or 1_780_000_000_000 + n * 60_000,
    }
    return Document(**{**fields, **more})


def test_a_query_matches_the_beginnings_of_the_names_words_whatever_accents_and_case():
    words = words_of("Protocole_AVK-Été 2026.pdf")
    assert words == "protocole avk ete 2026 pdf"
    assert matches(words, "proto")
    assert matches(words, "ÉTÉ avk")  # every word, in any order, accents and case aside
    assert matches(words, "pdf")
    assert matches(words, "")  # no query: everything
    assert not matches(words, "toco")  # inside a word is not a beginning
    assert not matches(words, "avk canicule")  # one word missing is no match


def test_a_search_lists_the_newest_first_and_counts_those_left_out():
    docs = [doc(1, "canicule-plan.pdf"), doc(2, "Plan canicule 2027.docx"), doc(3, "menu.png")]
    shown, more = search(docs, "canicule", 1)
    assert [d.id for d in shown] == [2] and more == 1
    shown, more = search(docs, "", 10)
    assert [d.id for d in shown] == [3, 2, 1] and more == 0


def test_a_link_names_the_message_and_reads_back_encoded_or_not():
    url = link("!room:hs.example", "$ev/+x", "hs.example")
    assert url == "https://matrix.to/#/%21room:hs.example/%24ev%2F%2Bx?via=hs.example"
    assert parse_link(url) == ("!room:hs.example", "$ev/+x")
    assert parse_link("https://matrix.to/#/!room:hs/$ev") == ("!room:hs", "$ev")
    assert parse_link("https://matrix.to/#/@someone:hs") is None
    assert parse_link("12") is None


def test_sizes_read_in_each_language():
    assert size_text(512, "fr") == "512 o"
    assert size_text(1_500_000, "fr") == "1,5 Mo"
    assert size_text(1_500_000, "en") == "1.5 MB"
    assert size_text(None, "fr") == ""


def test_an_answer_lists_number_name_room_who_when_and_link_in_french():
    shown = [doc(7, "Protocole AVK.pdf", ts=1_780_000_000_000)]
    text = listing(shown, 3, "avk", ROOMS, "fr", PARIS, "hs")
    lines = text.splitlines()
    assert lines[0] == "4 documents trouvés pour « avk », les plus récents d'abord :"
    assert lines[1] == (
        "• n°7 · Protocole AVK.pdf (PDF, 120 Ko) — CPTS · Échanges, @dr.x:hs, "
        "le 28/05/2026 22:26 : https://matrix.to/#/%21a:hs/%24e7?via=hs"
    )
    assert lines[2] == "… et 3 autres : précisez la recherche."
    english = listing(shown, 0, "", ROOMS, "en", PARIS)
    assert english.splitlines()[0] == "1 document in your rooms:"
    assert "#7 · Protocole AVK.pdf (PDF, 120 kB)" in english


def test_an_answer_with_nothing_found_says_so():
    assert listing([], 0, "avk", ROOMS, "fr", PARIS) == (
        "Aucun document ne correspond à « avk » dans vos salons."
    )
    assert listing([], 0, "", ROOMS, "en", PARIS) == "No document in your rooms yet."


def test_the_index_message_lists_the_pinned_files_in_the_order_they_were_pinned():
    pinned = [doc(2, "Annuaire.csv", mimetype="text/csv", size=900), doc(1, "Plan.pdf", "!b:hs")]
    text = board("CPTS du Grand Avignon", pinned, ROOMS, "fr", "hs")
    assert text.splitlines() == [
        "📌 Documents épinglés · CPTS du Grand Avignon",
        "• Annuaire.csv (CSV, 900 o) — CPTS · Échanges : https://matrix.to/#/%21a:hs/%24e2?via=hs",
        "• Plan.pdf (PDF, 120 Ko) — CPTS · Groupe canicule : "
        "https://matrix.to/#/%21b:hs/%24e1?via=hs",
    ]
    assert board("X", [], ROOMS, "fr").splitlines()[1] == "Aucun document épinglé pour l'instant."


def test_a_long_or_multiline_name_stays_on_one_line():
    long = replace(doc(1, "x"), name="a\nb " + "c" * 300)
    line = listing([long], 0, "", ROOMS, "fr", PARIS).splitlines()[1]
    assert "a b ccc" in line and "…" in line and len(line) < 300


def test_the_sync_keeps_a_files_metadata_and_never_where_an_encrypted_one_is_or_its_key():
    secret = {
        "url": "mxc://hs/secretmedia",
        "key": {"k": "SECRETKEY", "alg": "A256CTR", "kty": "oct", "ext": True},
        "iv": "IVIV",
        "hashes": {"sha256": "HASH"},
        "v": "v2",
    }
    # An encrypted room's file, as nio gives it once decrypted.
    decrypted = Event.parse_decrypted_event(
        event(
            1,
            "m.room.message",
            {
                "msgtype": "m.file",
                "body": "Protocole AVK.pdf",
                "filename": "Protocole AVK.pdf",
                "info": {"mimetype": "application/pdf", "size": 1234},
                "file": secret,
            },
        )
    )
    shared = file_shared(decrypted, "!a:hs", BOT)
    assert shared == FileShared(
        "!a:hs",
        "$e1",
        "@admin:localhost",
        "Protocole AVK.pdf",
        "m.file",
        "application/pdf",
        1234,
        True,
        1001,
    )
    written = json.dumps(asdict(shared))
    for kept_out in ("mxc://", "SECRETKEY", "IVIV", "HASH"):
        assert kept_out not in written
    # A clear file in a sync, recorded durably and read back; text, edits and the bot's own
    # files are not files to index.
    batch = extract(
        response(
            [
                event(
                    2,
                    "m.room.message",
                    {
                        "msgtype": "m.image",
                        "body": "photo.png",
                        "url": "mxc://hs/clear",
                        "info": {"mimetype": "image/png", "size": 99},
                    },
                ),
                event(3, "m.room.message", {"msgtype": "m.text", "body": "bonjour"}),
                event(
                    4,
                    "m.room.message",
                    {
                        "msgtype": "m.file",
                        "body": "mine.csv",
                        "url": "mxc://hs/bot",
                    },
                    sender=BOT,
                ),
                event(
                    5,
                    "m.room.message",
                    {
                        "msgtype": "m.file",
                        "body": "v2.pdf",
                        "url": "mxc://hs/v2",
                        "m.relates_to": {"rel_type": "m.replace", "event_id": "$e2"},
                    },
                ),
            ]
        ),
        BOT,
        "!",
        history=True,
    )
    assert batch.files == [
        FileShared("!control:localhost", "$e2", "@admin:localhost", "photo.png", "m.image",
                   "image/png", 99, False, 1002),
    ]  # fmt: skip
    recorded = [(k, fields) for k, _, _, fields in batch.durable() if k == "file"]
    assert revive(*recorded[0]) == batch.files[0]
    assert "mxc://" not in json.dumps(recorded)


# --- the store: who may find what, and what leaves it ------------------------------------------


async def _indexed(store: Store, n: int, room: str, sender: str, ts: int) -> None:
    await DocumentStore(store).add(
        {
            "event_id": f"$f{n}", "room_id": room, "sender": sender, "name": f"f{n}.pdf",
            "words": f"f{n} pdf", "msgtype": "m.file", "mimetype": "application/pdf",
            "size": 10, "encrypted": 1, "sent_ts": ts,
        }
    )  # fmt: skip


async def _jobs(store: Store) -> list[tuple[str, dict]]:
    async with store.db.execute("SELECT kind, payload FROM jobs ORDER BY id") as cur:
        return [(r[0], json.loads(r[1])) for r in await cur.fetchall()]


async def test_a_reader_finds_the_files_of_rooms_joined_since_they_were_asked_in(tmp_path):
    store = await Store.open(tmp_path / "a.db")
    docs = DocumentStore(store)
    for n, ts in ((1, 1000), (2, 2000), (3, 3000)):
        await _indexed(store, n, "!a:hs", "@x:hs", ts)
    await _indexed(store, 4, "!b:hs", "@x:hs", 2500)
    await docs.reader("!a:hs", "@y:hs", "invite", 1500)
    assert await docs.readable_by("@y:hs", ["!a:hs", "!b:hs"]) == []  # invited, not in yet
    await docs.reader("!a:hs", "@y:hs", "join", 2800)  # the invitation's time is kept
    found = await docs.readable_by("@y:hs", ["!a:hs", "!b:hs"])
    assert sorted(d["event_id"] for d in found) == ["$f2", "$f3"]
    await docs.reader("!a:hs", "@y:hs", "leave", 3100)
    assert await docs.readable_by("@y:hs", ["!a:hs"]) == []
    await docs.reader("!a:hs", "@y:hs", "join", 3100)  # back: from then on only
    assert await docs.readable_by("@y:hs", ["!a:hs"]) == []
    await docs.seed("!a:hs", {"@y:hs": "join", "@z:hs": "join"}, 0)  # known rows are kept
    assert await docs.readable_by("@y:hs", ["!a:hs"]) == []
    assert len(await docs.readable_by("@z:hs", ["!a:hs"])) == 3
    assert not await DocumentStore(store).add(  # indexed once, whatever the restarts
        {**(await docs.by_event("$f1") or {}), "words": "f1"}
    )
    await store.close()


async def test_a_redacted_or_forgotten_file_leaves_the_index_and_its_pins(tmp_path):
    store = await Store.open(tmp_path / "a.db")
    docs = DocumentStore(store)
    await _indexed(store, 1, "!a:hs", "@x:hs", 1000)
    await _indexed(store, 2, "!a:hs", "@x:hs", 2000)
    await _indexed(store, 3, "!a:hs", "@y:hs", 3000)
    one, two = await docs.by_event("$f1"), await docs.by_event("$f2")
    assert one and two
    assert await docs.pin("cpts", one["id"], "@anim:hs", [("board", {"territory": "cpts"})])
    assert not await docs.pin("cpts", one["id"], "@anim:hs", [])  # pinned already
    assert await docs.pin("cpts", two["id"], "@anim:hs", [])
    assert [d["event_id"] for d in await docs.pinned("cpts")] == ["$f1", "$f2"]
    before = len(await _jobs(store))

    assert await docs.remove("$f1", "board", "pin") == ["cpts"]
    assert await docs.by_event("$f1") is None
    assert [d["event_id"] for d in await docs.pinned("cpts")] == ["$f2"]
    assert (await _jobs(store))[before:] == [
        ("board", {"territory": "cpts"}),
        ("pin", {"room": "!a:hs", "event": "$f1", "pin": False}),
    ]
    assert await docs.remove("$f3", "board", "pin") == []  # not pinned: nothing to show again

    await docs.reader("!a:hs", "@x:hs", "join", 0)
    assert await docs.forget("@x:hs", "board", "pin") == 1
    assert await docs.by_event("$f2") is None and await docs.pinned("cpts") == []
    async with store.db.execute("SELECT COUNT(*) FROM document_readers") as cur:
        assert (await cur.fetchone())[0] == 0
    await store.close()


def test_pinned_files_are_listed_in_the_nearest_resources_room_else_the_nearest_community_room():
    network = parse_config(
        {
            "homeserver": {"url": "http://127.0.0.1:8008", "server_name": "hs"},
            "network": {
                "territories": [
                    {
                        "id": "sud", "name": "Sud",
                        "rooms": [
                            {"id": "communaute", "name": "Sud", "kind": "community"},
                            {"id": "ressources", "name": "Sud · Ressources", "kind": "resources"},
                        ],
                        "territories": [
                            {"id": "cpts", "name": "CPTS", "rooms": [
                                {"id": "echanges", "name": "CPTS", "kind": "community"},
                            ]},
                            {"id": "dac", "name": "DAC", "rooms": [
                                {"id": "docs", "name": "DAC · Docs", "kind": "resources"},
                            ]},
                        ],
                    },
                    {"id": "var", "name": "Var", "rooms": [
                        {"id": "communaute", "name": "Var", "kind": "community"},
                    ]},
                    {"id": "vide", "name": "Vide"},
                ]
            },
        }
    ).network  # fmt: skip
    assert board_room(network, "dac") == ("dac", "dac.docs")  # its own
    assert board_room(network, "cpts") == ("sud", "sud.ressources")  # a resources room above
    assert board_room(network, "var") == ("var", "var.communaute")  # none: its community room
    assert board_room(network, "vide") is None
