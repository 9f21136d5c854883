"""The surveys' store without a server: what is kept by user id, and what is not."""

from __future__ import annotations

from bot.store import Store
from bot.store.surveys import SurveyStore
from bot.surveys.tally import token

ALICE, BOB = "@alice:sud.example", "@bob:sud.example"
DATA = {
    "title": "T",
    "questions": [{"kind": "scale", "text": "Q ?", "options": []}],
    "territories": ["vaucluse"],
    "professions": [],
    "closes": 2_000_000_000.0,
}


async def test_a_forgotten_member_leaves_no_trace_and_answers_stay_without_a_name(tmp_path):
    store = await Store.open(tmp_path / "agora.db")
    surveys = SurveyStore(store)
    secret = "ab" * 32
    named = await surveys.open_survey(
        "@anim:sud.example", {**DATA, "anonymous": False}, secret, [ALICE, BOB], [], outcome=None
    )
    await surveys.delivered(named, ALICE, turn=True)
    mine = token(secret, ALICE)
    await surveys.begin_response(named, mine, "vaucluse", "medecin", ALICE)
    await surveys.answer(named, mine, 0, "4", position=1, finished=True, user_id=ALICE,
                         editing=None, last_event="$e")  # fmt: skip
    mine_to_close = await surveys.open_survey(
        ALICE, {**DATA, "anonymous": True}, secret, [BOB], [], outcome=None
    )
    await surveys.forget(ALICE, erase=True)
    assert await surveys.recipients(named) == [] and await surveys.turn(ALICE) is None
    assert (await surveys.get(mine_to_close)).author == ""  # no result sent to them
    async with store.db.execute("SELECT who FROM survey_responses") as cur:
        assert [r[0] for r in await cur.fetchall()] == [None]
    assert await surveys.answers_of(named, mine) == {0: "4"}
    # A revoked member is sent nothing more (no reminder) and answers no more.
    await surveys.delivered(named, BOB, turn=False)
    assert await surveys.recipients(named) == [BOB] and await surveys.open_for(BOB)
    await surveys.forget(BOB, erase=False)
    assert await surveys.recipients(named) == []
    assert not await surveys.is_recipient(named, BOB) and await surveys.open_for(BOB) == []
    await store.close()


async def test_an_anonymous_surveys_answers_are_stored_under_a_token_only(tmp_path):
    store = await Store.open(tmp_path / "agora.db")
    surveys = SurveyStore(store)
    secret = "cd" * 32
    n = await surveys.open_survey(
        "@anim:sud.example", {**DATA, "anonymous": True}, secret, [ALICE], [], outcome=None
    )
    mine = token(secret, ALICE)
    await surveys.begin_response(n, mine, "vaucluse", "medecin", None)
    await surveys.answer(n, mine, 0, "2", position=1, finished=True, user_id=ALICE,
                         editing=None, last_event=None)  # fmt: skip
    assert await surveys.close(n, {"territory": {"vaucluse": "other"}, "profession": {}})
    for table in ("survey_responses", "survey_answers", "surveys"):
        async with store.db.execute(f"SELECT * FROM {table}") as cur:
            cells = " ".join(str(c) for row in await cur.fetchall() for c in row)
        assert "alice" not in cells and secret not in cells, table
    assert (await surveys.get(n)).secret is None
    assert not await surveys.close(n, {})  # once
    await store.close()
