"""What the report says, in the region's language: the picture's panels (``Chart``) and the
same figures as CSV rows. Territories by their names, professions by their labels; never a
person's name."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.dates import month_label
from bot.exports import csv_text
from bot.i18n import format_duration, t
from bot.reports.chart import Bars, Chart
from bot.reports.figures import ALL, Figures
from bot.territories.model import Network
from bot.vetting.form import DEFAULT_PROFESSIONS

HOUR = 3600.0


class Names:
    """Territories and professions as the reader knows them."""

    def __init__(self, network: Network, locale: str):
        self.network, self.locale = network, locale
        self.professions = {p.id: p.label(locale) for p in DEFAULT_PROFESSIONS}

    def territory(self, territory_id: str) -> str:
        if territory_id == "":
            return t("report.no_territory", self.locale)
        if territory_id == ALL:
            return t("report.everywhere", self.locale)
        found = self.network.find(territory_id)
        return found.name if found else territory_id

    def profession(self, profession_id: str) -> str:
        if profession_id == "":
            return t("report.no_profession", self.locale)
        return self.professions.get(profession_id, profession_id)

    def level(self, level: str) -> str:
        return {
            "info": t("report.level.info", self.locale),
            "warning": t("report.level.warning", self.locale),
            "critical": t("report.level.critical", self.locale),
        }.get(level, level)


def file_name(figures: Figures, extension: str, locale: str) -> str:
    """``rapport-2026-11.png``, ``report-2026-11.csv``."""
    return f"{t('report.file', locale)}-{figures.year}-{figures.month:02d}.{extension}"


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


def _shown(rate: float, locale: str) -> str:
    """``67 %`` in French, ``67%`` in English."""
    return f"{100 * rate:.0f}{'%' if locale == 'en' else ' %'}"


def chart(figures: Figures, names: Names) -> Chart:
    loc = names.locale
    territories, professions = figures.by_territory, figures.by_profession
    delay = figures.median_delay
    requests = Bars(
        t("report.requests", loc),
        (t("report.received", loc), t("report.approved", loc), t("report.rejected", loc)),
        (figures.received, figures.approved, figures.rejected),
        caption=(
            t("report.median_delay", loc, delay=format_duration(delay, loc))
            if delay is not None
            else t("report.no_decision", loc)
        ),
        horizontal=False,
    )
    alerts = Bars(
        t("report.alerts", loc),
        tuple(f"#{a.id} {names.territory(a.territory)}" for a in figures.alerts),
        tuple(_percent(a.rate) or 0.0 for a in figures.alerts),
        notes=tuple(
            f"{a.acknowledged}/{a.recipients}"
            + (f" ({_shown(a.rate, loc)})" if a.rate is not None else "")
            for a in figures.alerts
        ),
        caption=(
            t(
                "report.alerts_total",
                loc,
                acknowledged=figures.acknowledged,
                recipients=figures.recipients,
            )
            if figures.alerts
            else ""
        ),
        empty=t("report.no_alerts", loc),
        top=100.0,
    )
    return Chart(
        t("report.title", loc, month=month_label(figures.year, figures.month, loc)),
        t(
            "report.subtitle",
            loc,
            members=figures.members,
            received=figures.received,
            alerts=len(figures.alerts),
        ),
        (
            Bars(
                t("report.members_by_territory", loc),
                tuple(names.territory(tid) for tid, _ in territories),
                tuple(n for _, n in territories),
                empty=t("report.no_members", loc),
            ),
            Bars(
                t("report.members_by_profession", loc),
                tuple(names.profession(p) for p, _ in professions),
                tuple(n for _, n in professions),
                empty=t("report.no_members", loc),
            ),
            requests,
            alerts,
        ),
    )


def csv_report(figures: Figures, names: Names, tz: ZoneInfo) -> str:
    """The same figures, one per row: section, item, value (an empty value: none to give)."""
    loc = names.locale
    section, item, value = (
        t("report.csv.section", loc),
        t("report.csv.item", loc),
        t("report.csv.value", loc),
    )
    rows: list[tuple[str, str, object]] = [
        (t("report.csv.month", loc), month_label(figures.year, figures.month, loc),
         f"{figures.year}-{figures.month:02d}"),
        (t("report.csv.members", loc), t("report.csv.total", loc), figures.members),
    ]  # fmt: skip
    by_territory = t("report.members_by_territory", loc)
    rows += [(by_territory, names.territory(tid), n) for tid, n in figures.by_territory]
    by_profession = t("report.members_by_profession", loc)
    rows += [(by_profession, names.profession(p), n) for p, n in figures.by_profession]
    requests = t("report.csv.requests", loc)
    delay = figures.median_delay
    rows += [
        (requests, t("report.received", loc), figures.received),
        (requests, t("report.approved", loc), figures.approved),
        (requests, t("report.rejected", loc), figures.rejected),
        (requests, t("report.csv.median_hours", loc),
         "" if delay is None else round(delay / HOUR, 1)),
    ]  # fmt: skip
    alerts = t("report.csv.alerts", loc)
    rate = _percent(figures.ack_rate)
    rows += [
        (alerts, t("report.csv.sent", loc), len(figures.alerts)),
        (alerts, t("report.csv.recipients", loc), figures.recipients),
        (alerts, t("report.csv.acknowledged", loc), figures.acknowledged),
        (alerts, t("report.csv.rate", loc), "" if rate is None else rate),
    ]
    for a in figures.alerts:
        one = t("report.csv.alert", loc, id=a.id)
        day = dt.datetime.fromtimestamp(a.created, tz).date().isoformat()
        rate = _percent(a.rate)
        rows += [
            (one, t("report.csv.territory", loc), names.territory(a.territory)),
            (one, t("report.csv.level", loc), names.level(a.level)),
            (one, t("report.csv.date", loc), day),
            (one, t("report.csv.recipients", loc), a.recipients),
            (one, t("report.csv.acknowledged", loc), a.acknowledged),
            (one, t("report.csv.rate", loc), "" if rate is None else rate),
        ]
    return csv_text([section, item, value], ({section: s, item: i, value: v} for s, i, v in rows))
