"""A real Element-equivalent client (matrix-js-sdk with Rust crypto) against the bot: it sees the
space hierarchy and decrypts what the bot posts in a territory room."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from pathlib import Path

import pytest

from tests.conftest import register
from tests.test_territories import room_ids, tree

pytestmark = pytest.mark.integration

CLIENT = Path(__file__).parent / "js" / "element_like.mjs"


async def element_like(scenario: dict) -> dict:
    node = shutil.which("node")
    assert node, "Node.js is needed for the matrix-js-sdk client (make install sets it up)"
    assert (CLIENT.parent / "node_modules" / "matrix-js-sdk").exists(), (
        "run `make install` (it installs tests/js with npm ci)"
    )
    proc = await asyncio.create_subprocess_exec(
        node,
        str(CLIENT),
        json.dumps(scenario),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=CLIENT.parent,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    assert lines, f"no result from the JS client (code {proc.returncode}): {err.decode()[-2000:]}"
    result = json.loads(lines[-1])
    assert "error" not in result, result["error"] + "\n" + err.decode()[-2000:]
    return result


async def test_element_like_client_sees_spaces_and_decrypts_the_bot(synapse, start_bot):
    sfx = secrets.token_hex(3)
    admin_id, password = await register(synapse, "admin")
    agora = await start_bot([admin_id], network=tree(sfx))
    await agora.settled()
    ids = await room_ids(agora)
    region, dept, cpts = ids[f"sud-{sfx}"], ids[f"vaucluse-{sfx}"], ids[f"cpts-{sfx}"]
    community = ids[f"vaucluse-{sfx}.communaute"]

    seen = await element_like(
        {
            "baseUrl": synapse.url,
            "user": admin_id,
            "password": password,
            "join": [region, dept, cpts],
            "hierarchyOf": region,
            "room": community,
            "send": "!ping",
            "from": agora.gateway.user_id,
        }
    )
    by_id = {room["room_id"]: room for room in seen["hierarchy"]}
    assert by_id[dept]["room_type"] == "m.space" and by_id[dept]["name"] == "Vaucluse"
    assert by_id[community]["name"] == "Vaucluse · Communauté"
    assert ids[f"cpts-{sfx}.echanges"] in by_id
    reply = seen["reply"]
    assert reply["encrypted"] and not reply["decryption_failure"]
    assert reply["body"].startswith("pong")


async def test_element_renders_the_bots_html_decrypted_and_sanitised(synapse, start_bot):
    """What Element shows of the bot's answers: the HTML body, decrypted, with the help grouped
    and its usages as code, the answer in the member's chosen language, nothing unsafe."""
    from tests.element import ElementClient

    sfx = secrets.token_hex(3)
    admin_id, password = await register(synapse, "admin")
    agora = await start_bot([admin_id], network=tree(sfx))
    await agora.settled()
    ids = await room_ids(agora)
    community = ids[f"vaucluse-{sfx}.communaute"]
    async with await ElementClient.login(synapse.url, admin_id, password) as element:
        for key in (f"sud-{sfx}", f"vaucluse-{sfx}", f"vaucluse-{sfx}.communaute"):
            await element.join(ids[key])
        asked = await element.send(community, "!help")
        helped = await element.wait_for_event(
            community, sender=agora.gateway.user_id, reply_to=asked, timeout=60
        )
        assert helped["encrypted"] and not helped["decryptionFailure"]
        content = helped["content"]
        assert content["format"] == "org.matrix.custom.html"
        html = content["formatted_body"]
        assert "<strong>" in html and "<ul>" in html and "<code>!ping</code>" in html, html
        assert "<script" not in html and "onclick" not in html
        assert helped["body"].startswith("Ce que vous pouvez faire ici (salons gérés)")
        assert "`" not in helped["body"] and "**" not in helped["body"]  # plain: no markup

        chose = await element.send(community, "!language en")
        answer = await element.wait_for_event(
            community, sender=agora.gateway.user_id, reply_to=chose, timeout=60
        )
        assert answer["body"] == "Noted: I will answer you in English from now on."
        asked = await element.send(community, "!langue")
        current = await element.wait_for_event(
            community, sender=agora.gateway.user_id, reply_to=asked, timeout=60
        )
        assert "To change: <code>!language</code> fr" in current["content"]["formatted_body"]
