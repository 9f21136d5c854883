"""Bulk: an existing list imported as requests, approved in bulk by two admins, and a restart
in the middle of a bulk approval that finishes it exactly once."""

from __future__ import annotations

import asyncio
import csv
import json

import pytest

from bot.config import load_config
from bot.store import Store
from bot.store.vetting import VettingStore
from bot.vetting.decisions import CONCLUDE_JOB
from tests.conftest import agora_cli, register
from tests.test_vetting import network

pytestmark = pytest.mark.integration

GOOD_RPPS = ["10101234564", "10000000017", "10000000025", "10000000033", "10000000041"]


async def test_import_then_bulk_approval_survives_a_restart_exactly_once(
    person, start_bot, synapse, tmp_path
):
    import secrets

    sfx = secrets.token_hex(3)
    first, second = await person("admin"), await person("admin")
    admins = [first.user_id, second.user_id]
    agora = await start_bot(admins, network=network(sfx))
    for admin in (first, second):
        await admin.accept_invite(agora.control.room_id)
    control = agora.control.room_id
    people = [(await register(synapse, f"pro{i}"))[0] for i in range(4)]

    rows = [["nom", "profession", "rpps", "territoire", "email", "matrix_id"]]
    for i, user in enumerate(people):
        rows.append(
            [f"Pro {i}", "medecin", GOOD_RPPS[i], f"vaucluse-{sfx}", f"p{i}.{sfx}@ex.org", user]
        )
    rows.append(["Sans Compte", "agent-ars", "", f"vaucluse-{sfx}", f"agent.{sfx}@ex.org", ""])
    rows.append(["Mauvais Numéro", "medecin", "10101234565", f"vaucluse-{sfx}", "x@ex.org", ""])
    rows.append(["Ailleurs", "medecin", GOOD_RPPS[4], "atlantide", "y@ex.org", ""])
    rows.append(
        ["Pro 0 encore", "medecin", GOOD_RPPS[4], f"vaucluse-{sfx}", f"p0.{sfx}@ex.org", ""]
    )
    listing = tmp_path / "membres.csv"
    with listing.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)  # as a French spreadsheet exports it

    args = ["--config", str(agora.config_path), "--data-dir", str(agora.data_dir)]
    done = await agora_cli("import-requests", *args, str(listing), "--batch", "ars-2026")
    assert done.returncode == 0, done.stderr
    assert "5 request(s) recorded" in done.stdout and "3 row(s) refused" in done.stdout
    assert "line 7: Champ « rpps »" in done.stderr
    assert "line 8: Champ « territory »" in done.stderr
    assert "line 9: email : déjà à la ligne 2" in done.stderr
    links = list(csv.DictReader((tmp_path / "membres.links.csv").open()))
    assert [r["email"] for r in links] == [f"agent.{sfx}@ex.org"]
    public = load_config(agora.config_path, env={}).web.public_url  # as the CLI reads it
    assert links[0]["status_url"].startswith(public + "/join/status/")
    again = await agora_cli("import-requests", *args, str(listing), "--batch", "ars-2026")
    assert again.returncode == 1 and "déjà été importé" in again.stderr

    summary = await first.wait_for(
        lambda: [s for s in first.seen if s.room_id == control and "Import « ars-2026 »" in s.body],
        "the import's summary",
    )
    assert "5 demande(s)" in summary[0].body and "3 ligne(s) refusée(s)" in summary[0].body

    answer, reaction = await first.command(control, "!approve import:ars-2026")
    assert reaction == "✅", answer.body
    final = await first.wait_for(
        lambda: [
            s
            for s in first.seen
            if s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"
            and "terminée" in s.content["m.new_content"]["body"]
        ],
        "the end of the first admin's bulk approval",
    )
    assert "5 en attente d'une autre validation" in final[-1].content["m.new_content"]["body"]

    # The second admin's bulk approval is cut short by a crash after two requests.
    original, calls = agora.vetting.decisions.decide, 0

    async def crash_after_two(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 3:
            asyncio.get_running_loop().create_task(agora.stop())
            await asyncio.sleep(60)  # cancelled by the stop, as a crash would cut it
        return await original(*args, **kwargs)

    agora.vetting.decisions.decide = crash_after_two
    command = await second.say(control, "!approve import:ars-2026 liste ARS vérifiée")
    await asyncio.wait_for(agora.stopped.wait(), 60)
    cut = await Store.open(agora.data_dir / "agora.db")
    assert len(await VettingStore(cut).pending_ids(batch="ars-2026")) == 3  # two went through
    await cut.close()

    restarted = await start_bot(
        admins, account=agora.account, data_dir=agora.data_dir, network=network(sfx)
    )
    reaction = await second.reaction_to(command, timeout=60)
    assert reaction == "✅"
    bodies = [
        s.content["m.new_content"]["body"]
        for s in second.seen
        if s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"
        and "terminée" in s.content.get("m.new_content", {}).get("body", "")
        and "5 acceptée(s)" in s.content["m.new_content"]["body"]
    ]
    assert bodies, "the finished bulk approval"
    # One progress message for the command, edited by both runs.
    assert len([s for s in second.replies_to(command)]) == 1

    store = restarted.vetting.requests
    for request in await store.requests(limit=100):
        if request.batch == "ars-2026":
            assert request.status == "approved"
            decisions = await store.decisions(request.id)
            assert sorted(d.admin for d in decisions) == sorted(admins)
    async with restarted.store.db.execute(
        "SELECT payload FROM jobs WHERE kind = ?", (CONCLUDE_JOB,)
    ) as cur:
        concluded = [json.loads(r[0])["request_id"] for r in await cur.fetchall()]
    assert sorted(concluded) == sorted(set(concluded)) and len(concluded) == 5
    for user in people:
        await _eventually_member(store, user)


async def _eventually_member(store, user: str) -> None:
    for _ in range(100):
        if await store.member_territory(user):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{user} was not made a member")
