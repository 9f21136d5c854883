"""The Matrix HTML of the bot's messages: plain text escaped with pills, code and lists; the
bot's Markdown rendered with its values made inert; both through the spec's allow-list."""

from __future__ import annotations

from bot.matrix import markup
from bot.matrix.content import notice


def test_plain_text_is_escaped_with_people_as_pills_commands_as_code_and_bullets_as_a_list():
    text = (
        "Demande #3 — <script>alert(1)</script> — @corinne_d:sud.example\n"
        "• pour valider : !approve 3 ou !reject 3 <motif>\n"
        "• pour voir : !info 3\n"
        "Tapez !help pour plus."
    )
    html = markup.plain_html(text)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://matrix.to/#/@corinne_d:sud.example">@corinne_d:sud.example</a>' in html
    assert "<code>!approve 3</code> ou <code>!reject 3 &lt;motif&gt;</code>" in html
    assert (
        "<ul><li>pour valider" in html and "<li>pour voir : <code>!info 3</code></li></ul>" in html
    )
    assert "Tapez <code>!help</code> pour plus." in html  # prose after a command is not code


def test_a_value_in_the_bots_markdown_stays_text_whatever_it_looks_like():
    md = markup.markdown(
        "**Demande #{id}** — {name}\n\n- RPPS : {rpps}\n- Par {who}",
        id=3,
        name="**[cliquez](https://evil.example)** <img src=x>",
        rpps="10101234564",
        who="@a_b_:sud.example",
    )
    body, html = markup.formatted(md)
    assert "<strong>Demande #3</strong>" in html
    assert "evil.example" not in html.split("**[cliquez]")[0]  # no link made of it
    assert '<a href="https://evil' not in html and "<img" not in html
    assert "**[cliquez](https://evil.example)** &lt;img src=x&gt;" in html
    assert '<li>Par <a href="https://matrix.to/#/@a_b_:sud.example">' in html
    # The plain body: no markup, the values as typed.
    assert body.splitlines()[0] == "Demande #3 — **[cliquez](https://evil.example)** <img src=x>"
    assert "• RPPS : 10101234564" in body and "• Par @a_b_:sud.example" in body


def test_the_allow_list_keeps_only_what_matrix_clients_render():
    cleaned = markup.sanitise(
        '<p onclick="x()">a</p><iframe src="https://x"></iframe><a href="javascript:x()">b</a>'
        '<img src="https://tracker.example/p.png"><img src="mxc://sud.example/abc">'
    )
    assert "onclick" not in cleaned and "<iframe" not in cleaned and "javascript:" not in cleaned
    assert "tracker.example" not in cleaned and 'src="mxc://sud.example/abc"' in cleaned


def test_a_notice_carries_both_bodies_and_mentions_nobody():
    content = notice("Membre : @x:sud.example")
    assert content["body"] == "Membre : @x:sud.example"
    assert content["format"] == "org.matrix.custom.html"
    assert "matrix.to/#/@x:sud.example" in content["formatted_body"]
    assert content["m.mentions"] == {}  # a pill is not a ping


def test_the_regions_prefix_is_the_one_shown_as_code(monkeypatch):
    monkeypatch.setattr(markup, "COMMAND_PREFIX", "?")
    assert "<code>?approve 3</code>" in markup.plain_html("?approve 3, not !approve 3")
    assert "<code>!approve" not in markup.plain_html("?approve 3, not !approve 3")
