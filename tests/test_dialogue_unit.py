"""The guided !join conversation without a server."""

import pytest

from bot.territories.model import Network, Territory
from bot.vetting.dialogue import DialogueState, answer, start

NETWORK = Network(
    (Territory("sud", "Région Sud", territories=(Territory("vaucluse", "Vaucluse"),)),)
)


def talk(*lines: str) -> tuple[list[str], dict | None]:
    state, said, submitted = DialogueState(), [], None
    for line in lines:
        reply = answer(state, line, NETWORK)
        said.append(reply.text)
        submitted = reply.submit
        if reply.state is None:
            break
        state = reply.state
    return said, submitted


def test_a_nurse_answers_question_by_question_and_mistakes_are_asked_again():
    said, submitted = talk(
        "fr",
        "Corinne Durand",
        "2",
        "10101234565",
        "10101234564",
        "Cabinet des Lices",
        "vaucluse",
        "pas-une-adresse",
        "c.durand@example.org",
        "oui",
    )
    assert said[0] == "Quel est votre nom complet ?"
    assert "2. infirmier·ère (infirmier)" in said[1]
    assert said[2] == "Votre numéro RPPS / ADELI ?"
    assert "clé de contrôle incorrecte" in said[3] and said[3].endswith(
        "Votre numéro RPPS / ADELI ?"
    )
    assert "2. Vaucluse (vaucluse)" in said[5]
    assert "adresse électronique invalide" in said[7]
    assert "J'envoie la demande ?" in said[8] and "• rpps : 10101234564" in said[8]
    assert submitted == {
        "name": "Corinne Durand",
        "profession": "infirmier",
        "rpps": "10101234564",
        "structure": "Cabinet des Lices",
        "territory": "vaucluse",
        "email": "c.durand@example.org",
    }


def test_professions_without_identifier_skip_that_question_and_english_is_offered():
    said, submitted = talk(
        "en", "Jean Usager", "representant-usagers", "-", "1", "j.u@example.org", "yes"
    )
    assert said[0] == "What is your full name?"
    assert said[2].startswith("Where do you practise")
    assert submitted["territory"] == "sud" and "structure" not in submitted


def test_saying_no_records_nothing():
    said, submitted = talk("fr", "X", "agent-ars", "-", "sud", "x@ars.example", "non")
    assert said[-1] == "Demande abandonnée ; rien n'a été enregistré." and submitted is None


def test_the_first_message_also_shows_the_one_line_form():
    assert "!join nom=" in start("!")


def test_a_region_offers_only_its_professions_in_the_conversation_and_the_form():
    from bot.vetting.form import FormProblems, offered, validate

    region = offered(("sage-femme", "medecin"))
    assert [p.id for p in region] == ["medecin", "sage-femme"]  # the built-in order
    state = DialogueState(step="profession", fields={"name": "Léa Martin"})
    asked = answer(state, "3", NETWORK, region)  # no third one here
    assert "1. médecin (medecin)" in asked.text and "infirmier" not in asked.text
    picked = answer(state, "2", NETWORK, region)
    assert picked.state is not None and picked.state.fields["profession"] == "sage-femme"
    values = {"name": "Corinne Durand", "profession": "infirmier", "rpps": "10101234564",
              "territory": "vaucluse", "email": "c.durand@example.org"}  # fmt: skip
    assert validate(values, NETWORK).profession == "infirmier"
    with pytest.raises(FormProblems) as refused:
        validate(values, NETWORK, region)
    assert [p.field for p in refused.value.problems] == ["profession"]
