"""Pure: a survey's results as a picture to draw (``bot.reports.chart``: one panel a choice
or scale question, counts over everyone, no group) and as a CSV (the counts, the breakdowns as
results show them, small groups merged or left out, and text answers without names)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from bot.exports import safe_cell
from bot.i18n import t
from bot.reports.chart import Bars, Chart
from bot.surveys.model import Question, shown_answer
from bot.surveys.tally import QuestionResult

MAX_PANELS = 8  # a picture people can read; the CSV has every question
BOM = "\ufeff"  # spreadsheets (Excel) then read the CSV as UTF-8


def values_of(question: Question) -> list[str]:
    if question.kind == "choice":
        return [str(i) for i in range(1, len(question.options) + 1)]
    if question.kind == "scale":
        return [str(i) for i in range(1, 6)]
    return []


def chart(
    title: str,
    subtitle: str,
    questions: list[Question],
    results: list[QuestionResult],
    locale: str,
) -> Chart:
    panels: list[Bars] = []
    for n, (question, result) in enumerate(zip(questions, results, strict=True), 1):
        if len(panels) == MAX_PANELS:
            break
        head = f"{n}. {_short(question.text)}"
        if question.kind == "text":
            panels.append(
                Bars(head, (), (), empty=t("survey.chart.texts", locale, n=result.answered))
            )
            continue
        values = values_of(question)
        panels.append(
            Bars(
                head,
                tuple(_short(shown_answer(question, v), 30) for v in values),
                tuple(float(result.counts.get(v, 0)) for v in values),
                caption=(
                    t("survey.results.mean", locale, mean=f"{result.mean:.1f}")
                    if question.kind == "scale" and result.mean is not None
                    else ""
                ),
                empty=t("survey.chart.none", locale),
                horizontal=question.kind == "choice",
            )
        )
    return Chart(title, subtitle, tuple(panels))


def csv_results(
    questions: list[Question],
    results: list[QuestionResult],
    group_label: Callable[[str, str], str],
    locale: str,
) -> str:
    """One row per count: question, breakdown, group, answer, count; a text answer is a row
    of its own (count 1), without a name in an anonymous survey."""
    out = io.StringIO()
    writer = csv.writer(out)

    def put(*cells: object) -> None:  # a text answer is shown as typed, never run as a formula
        writer.writerow([safe_cell(cell) for cell in cells])

    put(
        t("survey.csv.question", locale),
        t("survey.csv.breakdown", locale),
        t("survey.csv.group", locale),
        t("survey.csv.answer", locale),
        t("survey.csv.count", locale),
    )
    by = {
        "territory": t("survey.csv.by_territory", locale),
        "profession": t("survey.csv.by_profession", locale),
    }
    everyone = t("survey.csv.everyone", locale)
    for n, (question, result) in enumerate(zip(questions, results, strict=True), 1):
        label = f"{n}. {question.text}"
        if question.kind == "text":
            for text in result.texts:
                put(label, everyone, "", text, 1)
            continue
        values = values_of(question)
        for v in values:
            put(label, everyone, "", shown_answer(question, v), result.counts.get(v, 0))
        for dimension, groups in sorted(result.groups.items()):
            for group in sorted(groups):
                for v in values:
                    put(
                        label,
                        by.get(dimension, dimension),
                        group_label(dimension, group),
                        shown_answer(question, v),
                        groups[group].get(v, 0),
                    )
    return BOM + out.getvalue()


def _short(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
