"""Feeds, rendering and webhook signatures, without a server."""

import json

import pytest

from bot.durations import parse_duration
from bot.matrix.content import replacement
from bot.news.broadcast import txn_id
from bot.news.entries import newest_first, parse
from bot.news.hooks import problem, sign
from bot.news.render import SUMMARY_LIMIT, Item, cut, item_content, sanitise, text_content

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>ARS Sud</title>
<item><guid>a1</guid><title>Canicule niveau 3</title><link>https://ars.example/a1</link>
<description>&lt;p&gt;Mesures &lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;renforc\xc3\xa9es&lt;/b&gt;&lt;/p&gt;</description>
<pubDate>Sat, 21 Nov 2026 10:00:00 GMT</pubDate></item>
<item><title>Sans identifiant</title><link>https://ars.example/b</link>
<pubDate>Sun, 22 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>DGS</title><id>urn:dgs</id><updated>2026-11-22T08:00:00Z</updated>
<entry><id>urn:dgs:1</id><title>Rappel vaccinal</title><updated>2026-11-22T08:00:00Z</updated>
<content type="html">&lt;p&gt;Texte&lt;/p&gt;</content></entry></feed>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "CPTS",
        "items": [{"id": "j1", "title": "Garde du week-end", "content_html": "<p>Dr X</p>"}],
    }
).encode()


def test_rss_atom_and_json_feed_give_entries_with_stable_keys():
    rss = parse(RSS, "application/rss+xml")
    assert rss.title == "ARS Sud" and [e.key for e in rss.entries] == [
        "a1",
        "https://ars.example/b",
    ]
    assert [e.title for e in newest_first(rss.entries)] == ["Sans identifiant", "Canicule niveau 3"]
    assert parse(ATOM).entries[0].key == "urn:dgs:1"
    assert parse(JSON_FEED, "application/feed+json").entries[0].key == "j1"
    assert parse(b"<rss><channel><item>", "text/xml").problem is not None
    # The same entry with another title is a change, not a new entry.
    changed = parse(RSS.replace(b"niveau 3", b"niveau 4"))
    assert changed.entries[0].key == rss.entries[0].key
    assert changed.entries[0].digest != rss.entries[0].digest


def test_sanitised_html_keeps_links_and_drops_scripts_styles_and_remote_images():
    html = sanitise(
        '<p onclick="x">Voir <a href="https://ars.example" style="color:red">ici</a>'
        '<script>alert(1)</script><style>p{}</style><img src="https://tracker.example/p.gif">'
        '<img src="mxc://server/abc"><a href="javascript:alert(1)">piège</a></p>'
    )
    assert '<a href="https://ars.example">ici</a>' in html
    assert "script" not in html and "style" not in html and "onclick" not in html
    assert "tracker" not in html and 'src="mxc://server/abc"' in html
    assert "javascript" not in html


def test_an_item_has_a_plain_body_and_cut_summary():
    content = item_content(
        Item(
            "Titre <b>fort</b>",
            "https://x.example/1",
            "<p>" + "mot " * 400 + "</p>",
            "ARS",
            "22/11/2026",
        )
    )
    assert content["msgtype"] == "m.notice" and content["body"].startswith(
        "Titre fort\nARS · 22/11/2026"
    )
    assert "<b>" not in content["body"] and len(content["body"]) < SUMMARY_LIMIT + 200
    assert content["formatted_body"].startswith('<p><strong><a href="https://x.example/1">')
    assert cut("un deux trois quatre", 12) == "un deux…"
    edit = replacement("$first", content)
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$first"}
    assert edit["m.new_content"] == content and edit["body"].startswith("* ")


def test_text_is_shown_as_typed_and_critical_alerts_mention_the_room():
    plain = text_content("<b>pas du HTML</b>", title="Actualité")
    assert "&lt;b&gt;" in plain["formatted_body"] and plain["m.mentions"] == {}
    loud = text_content("Évacuation", title="ALERTE", mention_room=True)
    assert loud["m.mentions"] == {"room": True} and loud["body"].startswith("@room")


def test_durations():
    assert parse_duration("15m") == 900 and parse_duration("1h30m") == 5400
    assert parse_duration("2h") == 7200 and parse_duration("90") == 90
    for bad in ("", "soon", "5x", "-1m"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_webhook_signatures_fresh_and_authentic_only():
    body, secret = b'{"territory": "all", "text": "x"}', "s" * 40
    good = sign(secret, "1000", body)
    assert problem(secret, "1000", good, body, 1100, 300) is None
    assert problem(secret, "1000", good, body, 1400, 300) == "stale timestamp"
    assert problem(secret, "1000", good, body + b" ", 1100, 300) == "bad signature"
    assert problem(secret, "1000", sign("t" * 40, "1000", body), body, 1100, 300) == "bad signature"
    assert problem(secret, None, good, body, 1100, 300) == "missing signature headers"


def test_transaction_ids_are_derived_from_message_room_and_version():
    assert txn_id("alert:1", "!a:x", 1) == txn_id("alert:1", "!a:x", 1)
    assert (
        len(
            {
                txn_id("alert:1", "!a:x", 1),
                txn_id("alert:1", "!b:x", 1),
                txn_id("alert:1", "!a:x", 2),
            }
        )
        == 3
    )


def test_what_a_poll_relays_is_a_pure_function_of_the_entries_and_what_is_known():
    from bot.news.entries import Entry, plan_relay

    def entry(key: str, title: str, when: float | None, digest: str = "") -> Entry:
        return Entry(key, title, f"https://x.example/{key}", "", when, digest or f"d-{key}")

    entries = [
        entry("a", "Canicule niveau 2", 10),
        entry("b", "Vaccination", 30),
        entry("c", "Canicule niveau 3", 20),
        entry("d", "Canicule : mise à jour", 5, digest="d-d-changed"),
        entry("e", "Canicule, rappel", 1),
    ]
    known = {"d": ("d-d", "feed:1:d"), "e": ("d-e", None)}  # e: seen, never posted
    first = plan_relay(entries, {}, keyword=None, primed=False, first_posts=2)
    assert [e.key for e in first.post] == ["b", "c"]  # the newest two, never the backlog
    assert [e.key for e in first.skip] == ["a", "d", "e"] and first.changed == []
    later = plan_relay(entries, known, keyword="canicule", primed=True, first_posts=2)
    assert [e.key for e in later.post] == ["c", "a"]  # new, matching, newest first
    assert [(e.key, m) for e, m in later.changed] == [("d", "feed:1:d")]  # edited where posted
    assert plan_relay(entries, known | {k: (f"d-{k}", None) for k in "abc"}, keyword=None,
                      primed=True, first_posts=2).changed == [(entries[3], "feed:1:d")]  # fmt: skip
    unchanged = {e.key: (e.digest, f"feed:1:{e.key}") for e in entries}
    assert plan_relay(entries, unchanged, keyword=None, primed=True, first_posts=2).empty
