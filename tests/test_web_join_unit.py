"""The join form's problems as the page shows them, without a server: each at its field (named
by the field's aria-describedby), and in a focused summary that links to the fields in the
form's order. The browser tests (tests/test_web_browser.py) check the same in Chromium."""

from __future__ import annotations

import re

from bot.vetting.form import DEFAULT_PROFESSIONS, FIELDS, LIMITS, FieldProblem
from bot.web.join import _render, shown

PROBLEMS = [
    FieldProblem("email", "vetting.form.email"),
    FieldProblem("rpps/adeli", "vetting.form.identifier_required", {"profession": "infirmier"}),
    FieldProblem("name", "vetting.form.missing"),
]


def test_each_problem_is_at_every_field_it_names_and_the_summary_follows_the_form():
    seen = shown(PROBLEMS, "en")
    assert [f for f, _ in seen.summary] == ["name", "rpps", "email"]
    assert seen.summary[0][1] == "Field 'name': required"
    required = "A professional identifier is required for infirmier"
    assert seen.at_field == {
        "name": ["Required"],
        "rpps": [required],
        "adeli": [required],
        "email": ["Invalid email address"],
    }


def test_the_refused_form_marks_its_fields_and_links_the_summary_to_them():
    seen = shown(PROBLEMS, "fr")
    page = _render(
        "join.html",
        "fr",
        400,
        title="Erreur : Demande d'adhésion au réseau",
        csrf="0" * 64,
        values=dict.fromkeys(FIELDS, ""),
        problems=seen.summary,
        errors=seen.at_field,
        professions=DEFAULT_PROFESSIONS,
        territories=[("vaucluse", "Vaucluse")],
        limits=LIMITS,
    ).text
    assert re.search(r'<div class="problems" role="alert" tabindex="-1" autofocus', page)
    assert re.findall(r'<li><a href="#(\w+)">', page) == ["name", "rpps", "email"]
    for name in FIELDS:
        control = re.search(rf'<(?:input|select) id="{name}"[^>]*>', page).group(0)
        if name in seen.at_field:
            assert f'aria-invalid="true" aria-describedby="{name}-error"' in control
            message = re.search(rf'<p class="error" id="{name}-error">(.*?)</p>', page).group(1)
            assert "Erreur :" in message and seen.at_field[name][0] in message.replace("&#39;", "'")
        else:
            assert "aria-invalid" not in control and "aria-describedby" not in control
    assert '<html lang="fr">' in page and "<main>" in page and " novalidate>" in page
