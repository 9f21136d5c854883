"""Surveys without a server: the guided conversation that writes one, reading answers, the
respondents' tokens, and results only in aggregate (small groups merged or left out)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from bot.surveys.model import BadAnswer, Draft, Offer, Question, draft_answer, read_answer
from bot.surveys.tally import OTHER, breakdown, coarsened, merged_groups, tally, token

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC).timestamp()


def offer() -> Offer:
    return Offer(
        territories=(("sud", "Région Sud"), ("vaucluse", "Vaucluse")),
        professions=(("medecin", "médecin"), ("infirmier", "infirmier·ère")),
        parse_day=lambda text: {"20/12": dt.date(2026, 12, 20), "31/12/9999": dt.date.max}.get(
            text
        ),
        end_of=lambda day: dt.datetime.combine(day, dt.time(23, 59), dt.UTC).timestamp(),
        now=NOW,
    )


def write(*lines: str) -> tuple[list[str], dict | None]:
    draft, said, submitted = Draft(locale="fr"), [], None
    for line in lines:
        reply = draft_answer(draft, line, offer())
        said.append(reply.text)
        submitted = reply.submit
        if reply.draft is None:
            break
        draft = reply.draft
    return said, submitted


def test_an_animator_writes_a_survey_question_by_question_and_mistakes_are_asked_again():
    said, survey = write(
        "Qualité de vie au travail",
        "1",
        "Votre charge de travail ?",
        "Légère",  # one option only
        "Légère ; Normale ; Lourde",
        "échelle",
        "Votre satisfaction ?",
        "3",
        "Une idée ?",
        "fin",
        "7",  # not in the list
        "vaucluse",
        "toutes",
        "peut-être",
        "oui",
        "jamais",
        "31/12/9999",  # too far (its end is past what a date can say)
        "20/12",
        "oui",
    )
    assert said[0].startswith("Question 1 : de quel type ?")
    assert "il faut de 2 à 10 options" in said[3]
    assert "ce n'est pas dans la liste" in said[10] and "2. Vaucluse (vaucluse)" in said[10]
    assert "répondez oui ou non" in said[13]
    assert "« jamais » n'est pas une date" in said[15]
    assert "dans l'année (366 jours au plus)" in said[16]
    assert "J'envoie ce sondage ?" in said[17] and "1. Votre charge de travail ?" in said[17]
    assert survey is not None
    assert [q["kind"] for q in survey["questions"]] == ["choice", "scale", "text"]
    assert survey["questions"][0]["options"] == ["Légère", "Normale", "Lourde"]
    assert survey["territories"] == ["vaucluse"] and survey["professions"] == []
    assert survey["anonymous"] is True and survey["closes_day"] == "2026-12-20"


def test_all_territories_means_those_the_author_may_survey_and_no_sends_nothing():
    said, survey = write("T", "3", "Q ?", "fin", "tous", "1", "non", "20/12", "non")
    assert survey is None and said[-1] == "Sondage abandonné ; rien n'a été envoyé."
    _, survey = write("T", "3", "Q ?", "fin", "tous", "1 2", "non", "20/12", "oui")
    assert survey["territories"] == ["sud", "vaucluse"]
    assert survey["professions"] == ["medecin", "infirmier"] and survey["anonymous"] is False


def test_answers_are_read_by_number_scale_and_text():
    choice = Question("choice", "Charge ?", ("Légère", "Lourde"))
    assert read_answer(choice, "2", "fr") == "2" and read_answer(choice, "légère", "fr") == "1"
    with pytest.raises(BadAnswer, match="un numéro de 1 à 2"):
        read_answer(choice, "3", "fr")
    assert read_answer(Question("scale", "Note ?"), " 5 ", "en") == "5"
    with pytest.raises(BadAnswer, match="a number from 1 to 5"):
        read_answer(Question("scale", "Note ?"), "6", "en")
    assert read_answer(Question("text", "Idée ?"), "Plus de pauses", "fr") == "Plus de pauses"
    with pytest.raises(BadAnswer, match="trop long"):
        read_answer(Question("text", "Idée ?"), "x" * 1001, "fr")


def test_a_token_is_stable_per_person_and_survey_and_says_nothing_of_who():
    secret, other = "11" * 32, "22" * 32
    mine = token(secret, "@alice:sud.example")
    assert mine == token(secret, "@alice:sud.example")
    assert mine != token(secret, "@bob:sud.example")
    assert mine != token(other, "@alice:sud.example")  # not linkable across surveys
    assert "alice" not in mine and len(mine) == 64


def test_groups_below_min_group_merge_into_other_which_is_never_left_small():
    assert merged_groups({"a": 6, "b": 2, "c": 3}, 5) == {"a": "a", "b": OTHER, "c": OTHER}
    # b alone (3) would be the totals minus a: a joins it.
    assert merged_groups({"a": 6, "b": 3}, 5) == {"a": None, "b": None}  # "other" alone: no
    assert merged_groups({"a": 7, "b": 6, "c": 1}, 5) == {"a": "a", "b": OTHER, "c": OTHER}
    assert merged_groups({"a": 2, "b": 1}, 5) == {"a": None, "b": None}  # 3 people: no groups
    assert merged_groups({"a": 5, "b": 5}, 5) == {"a": "a", "b": "b"}


def test_a_breakdown_never_shows_a_group_of_three():
    rows = [("vaucluse", "1")] * 4 + [("vaucluse", "2")] + [("var", "2")] * 3
    shown = breakdown(rows, 5)
    # Var (3) is nowhere: nor by subtraction (the totals minus Vaucluse): no breakdown at all.
    assert shown == {}
    rows += [("alpes", "1")] * 2
    assert breakdown(rows, 5) == {
        "vaucluse": Counter({"1": 4, "2": 1}),
        OTHER: Counter({"2": 3, "1": 2}),  # var and alpes together make 5
    }


def test_tally_counts_options_and_scale_and_lists_texts_sorted():
    groups = {"territory": "vaucluse", "profession": "medecin"}
    result = tally("scale", [("4", groups), ("2", groups), ("4", groups)], 5)
    assert result.answered == 3 and result.counts == Counter({"4": 2, "2": 1})
    assert result.mean == pytest.approx(10 / 3)
    assert result.groups == {"profession": {}, "territory": {}}  # 3 < 5: no group shown
    texts = tally("text", [("zèbre", groups), ("abeille", groups)], 5)
    assert texts.texts == ("abeille", "zèbre") and texts.groups == {}


def test_at_the_close_small_groups_are_written_down_as_other():
    kept = coarsened(["a"] * 5 + ["b"] * 2 + ["c"], 5)
    assert kept == {"a": OTHER, "b": OTHER, "c": OTHER}  # b and c (3) would be a's complement
    kept = coarsened(["a"] * 5 + ["b"] * 2 + ["c"] * 3, 5)
    assert kept == {"a": "a", "b": OTHER, "c": OTHER}


def test_the_picture_draws_counts_over_everyone_and_the_csv_only_shown_groups():
    from bot.surveys.layout import chart, csv_results

    questions = [Question("choice", "Charge ?", ("Légère", "Lourde")), Question("text", "Idée ?")]
    rows = [("1", {"territory": "vaucluse"})] * 5 + [("2", {"territory": "var"})] * 3
    results = [tally("choice", rows, 5), tally("text", [("Des pauses", {})], 5)]
    drawn = chart("Sondage", "clos", questions, results, "fr")
    assert drawn.panels[0].labels == ("Légère", "Lourde") and drawn.panels[0].values == (5.0, 3.0)
    assert drawn.panels[1].values == () and "1 réponse en texte" in drawn.panels[1].empty
    sheet = csv_results(questions, results, lambda d, g: g.upper(), "fr")
    assert sheet.startswith("\ufeffquestion,répartition,groupe,réponse,nombre")
    assert "par territoire" not in sheet  # Vaucluse's 5 would tell Var's 3
    assert (
        "VAR" not in sheet
        and "VAUCLUSE" not in sheet
        and "2. Idée ?,ensemble,,Des pauses,1" in sheet
    )
    typed = [tally("choice", rows, 5), tally("text", [("=HYPERLINK(1)", {})], 5)]
    sheet = csv_results(questions, typed, lambda d, g: g, "fr")
    assert "2. Idée ?,ensemble,,'=HYPERLINK(1),1" in sheet  # shown as typed, never run


def test_a_peer_sends_back_only_aggregates_and_a_small_group_it_sends_is_dropped():
    from bot.surveys.sharing import combined, read_offer, read_result, result_content

    groups = {"territory": "herault", "profession": "infirmier"}
    theirs = tally("choice", [("1", groups)] * 3, 5)  # three: no group in it
    content = result_content(7, (3, 3, 3), [theirs])
    assert content["questions"][0]["groups"] == {"profession": {}, "territory": {}}
    assert "@" not in str(content)
    # A peer with a smaller min_group cannot make this region show a small group.
    content["questions"][0]["groups"]["territory"] = {"Hérault": {"1": 3}}
    counts, (read,) = read_result(content, 1, 5)
    assert counts == (3, 3, 3) and read.groups["territory"] == {}
    assert read_result(content, 2, 5) is None  # not the same questions
    mine = tally("choice", [("2", {"territory": "vaucluse", "profession": "medecin"})] * 5, 5)
    both = combined(mine, [read], 5)
    assert both.answered == 8 and both.counts == Counter({"2": 5, "1": 3})
    # The peer's 3, in no group, would be the totals minus Vaucluse: Vaucluse is not shown.
    assert both.groups["territory"] == {}
    more = tally("choice", [("1", {"territory": "var", "profession": "medecin"})] * 5, 5)
    three = combined(mine, [read, more], 5)
    # Two groups of 5 and the peer's 3: the smallest (Var, by name at equal size) joins them.
    assert three.groups["territory"] == {"vaucluse": Counter({"2": 5}), OTHER: Counter({"1": 8})}
    assert read_offer({"id": 1, "title": "T", "questions": [{"kind": "rm -rf", "text": "x"}],
                       "professions": [], "closes": 1.0}) is None  # fmt: skip
    offer = {"id": 1, "title": "T", "questions": [{"kind": "scale", "text": "Q ?"}],
             "professions": ["medecin"], "closes": 2.0, "min_group": 5}  # fmt: skip
    assert read_offer(offer)["questions"] == [{"kind": "scale", "text": "Q ?", "options": []}]
    assert read_offer({**offer, "closes": 9007199254740991}) is None  # no writable date


def test_a_delivery_sends_to_as_many_chats_at_once_as_its_pace_needs():
    from bot.surveys.capability import at_once

    assert at_once(10.0) == 10  # the default pace: ten chats at once
    assert at_once(50.0) == 32  # a fast pace: bounded
    assert at_once(0.5) == 4 and at_once(2.5) == 4  # a slow one: a few at once still
