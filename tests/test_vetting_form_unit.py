"""Join requests: identifiers and field validation, before anything is stored."""

import pytest

from bot.territories.model import Network, Territory
from bot.vetting.form import FormProblems, parse_pairs, render_problems, validate
from bot.vetting.identifiers import adeli_problem, luhn_valid, rpps_problem

NETWORK = Network((Territory("sud", "Sud", territories=(Territory("vaucluse", "Vaucluse"),)),))
GOOD = (
    'name="Corinne Durand" profession=infirmier rpps=10101234564 territory=vaucluse '
    'structure="Cabinet des Lices" email=c.durand@example.org'
)


def test_rpps_needs_eleven_digits_and_a_luhn_check_digit():
    assert luhn_valid("10101234564")
    assert rpps_problem("10101234564") is None
    assert rpps_problem("101 012 345 64") is None  # pasted with spaces
    assert rpps_problem("10101234565") == "vetting.rpps.check_digit"
    assert rpps_problem("1010123456") == "vetting.rpps.format"
    assert rpps_problem("1010123456A") == "vetting.rpps.format"


def test_adeli_is_nine_characters_with_corsica():
    assert adeli_problem("841234567") is None
    assert adeli_problem("2A1234567") is None
    assert adeli_problem("84123456") == "vetting.adeli.format"
    assert adeli_problem("8412345678") == "vetting.adeli.format"


def test_the_one_line_form_of_the_issue_is_accepted():
    values, problems = parse_pairs(GOOD)
    assert problems == []
    request = validate(values, NETWORK)
    assert request.name == "Corinne Durand"
    assert request.structure == "Cabinet des Lices"
    assert (request.profession, request.territory, request.rpps) == (
        "infirmier",
        "vaucluse",
        "10101234564",
    )


def test_french_keys_and_french_quotes():
    values, problems = parse_pairs(
        "nom=« Élodie Martin » profession=sage-femme "
        "rpps=10101234564 territoire=sud courriel=e.martin@example.fr"
    )
    assert problems == []
    assert validate(values, NETWORK).name == "Élodie Martin"


def problems_of(text: str) -> list[str]:
    values, problems = parse_pairs(text)
    try:
        validate(values, NETWORK)
    except FormProblems as exc:
        problems += exc.problems
    return [render_problems([p], "fr") for p in problems]


def test_every_problem_names_its_field_in_french():
    found = problems_of(
        'name="X" profession=infirmier rpps=10101234565 territory=lyon email=pas-une-adresse'
    )
    assert "Champ « rpps » : numéro RPPS invalide (clé de contrôle incorrecte)" in found
    assert any(
        f.startswith("Champ « territory » : territoire inconnu ; choix possibles : sud, vaucluse")
        for f in found
    )
    assert "Champ « email » : adresse électronique invalide" in found


def test_oversize_fields_control_characters_and_missing_ones():
    found = problems_of(
        f'name="{"A" * 10_000}" profession=medecin rpps=10101234564 '
        'territory=sud email=a@b.fr structure="ligne\x07bip"'
    )
    assert "Champ « name » : 100 caractères au plus" in found
    assert "Champ « structure » : caractères de contrôle interdits" in found
    assert "Champ « email » : obligatoire" in problems_of(
        "name=X profession=medecin rpps=10101234564 territory=sud"
    )


def test_identifier_rules_follow_the_profession():
    assert (
        "Champ « rpps » : un identifiant professionnel est obligatoire pour la profession "
        "medecin" in problems_of("name=X profession=medecin territory=sud email=a@b.fr")
    )
    assert "Champ « adeli » : identifiant non prévu pour la profession medecin" in problems_of(
        "name=X profession=medecin rpps=10101234564 adeli=841234567 territory=sud email=a@b.fr"
    )
    assert problems_of("name=X profession=agent-ars territory=sud email=a@b.fr") == []


def test_html_is_kept_as_text_not_dropped():
    values, _ = parse_pairs(
        'name="<b>Dr</b> House" profession=representant-usagers territory=sud email=h@example.org'
    )
    assert validate(values, NETWORK).name == "<b>Dr</b> House"  # escaped where shown


def test_unknown_keys_repeats_and_stray_words_are_reported():
    found = problems_of(
        "name=X name=Y couleur=bleu blabla profession=agent-ars territory=sud email=a@b.fr"
    )
    assert "Champ « name » : donné deux fois" in found
    assert any(f.startswith("Champ « couleur » : clé inconnue") for f in found)
    assert "Champ « ? » : texte non reconnu : « blabla » (attendu : clé=valeur)" in found


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("fr", "Champ « email » : adresse électronique invalide"),
        ("en", "Field 'email': invalid email address"),
    ],
)
def test_problems_in_both_languages(locale, expected):
    values, _ = parse_pairs("name=X profession=agent-ars territory=sud email=nope")
    with pytest.raises(FormProblems) as err:
        validate(values, NETWORK)
    assert render_problems(err.value.problems, locale) == expected
