"""Pure: the month's figures from what the store counted. Members by territory and by
profession, join requests received and decided with the median time to a decision, alerts
sent and how many of their recipients acknowledged them (the recipients as `!alert status`
counts them: the members whose home territory the alert covered)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.store.reports import Decided, MemberCount, SentAlert
from bot.territories.model import Network

ALL = "all"  # an alert to every territory of the region


@dataclass(frozen=True)
class AlertFigure:
    id: int
    territory: str
    level: str
    created: float
    recipients: int
    acknowledged: int

    @property
    def rate(self) -> float | None:
        """The share of its recipients who acknowledged it (None: it had none)."""
        return self.acknowledged / self.recipients if self.recipients else None


@dataclass(frozen=True)
class Figures:
    year: int
    month: int
    # (territory id, members): the config's order, then territories it no longer declares,
    # then '' (replacements, who have no territory of their own).
    by_territory: tuple[tuple[str, int], ...]
    # (profession id, members): the most numerous first; '' (members who came without a
    # request) last.
    by_profession: tuple[tuple[str, int], ...]
    received: int
    approved: int
    rejected: int
    median_delay: float | None  # seconds; None when nothing was decided
    alerts: tuple[AlertFigure, ...]

    @property
    def members(self) -> int:
        return sum(n for _, n in self.by_territory)

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def recipients(self) -> int:
        return sum(a.recipients for a in self.alerts)

    @property
    def acknowledged(self) -> int:
        return sum(a.acknowledged for a in self.alerts)

    @property
    def ack_rate(self) -> float | None:
        """Acknowledgements over recipients, all the month's alerts together."""
        return self.acknowledged / self.recipients if self.recipients else None


def median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


def scope(network: Network, territory: str) -> set[str]:
    """The territories an alert reached: all of them, or one and those below it (one the
    config no longer declares: itself only)."""
    if territory == ALL:
        return {t.id for t, _ in network.walk()}
    return {t.id for t in network.subtree(territory)} or {territory}


def figures(
    year: int,
    month: int,
    *,
    members: list[MemberCount],
    received: int,
    decided: list[Decided],
    alerts: list[SentAlert],
    acks: dict[int, dict[str, int]],
    network: Network,
) -> Figures:
    territories: Counter[str] = Counter()
    professions: Counter[str] = Counter()
    for row in members:
        territories[row.territory] += row.count
        professions[row.profession] += row.count
    declared = [t.id for t, _ in network.walk()]
    order = {tid: i for i, tid in enumerate(declared)}
    by_territory = sorted(
        territories.items(),
        key=lambda item: (item[0] == "", order.get(item[0], len(order)), item[0]),
    )
    by_profession = sorted(professions.items(), key=lambda item: (item[0] == "", -item[1], item[0]))
    alert_figures = []
    for alert in alerts:
        reached = scope(network, alert.territory)
        alert_figures.append(
            AlertFigure(
                alert.id,
                alert.territory,
                alert.level,
                alert.created,
                recipients=sum(n for tid, n in territories.items() if tid and tid in reached),
                acknowledged=sum(
                    n for tid, n in acks.get(alert.id, {}).items() if tid and tid in reached
                ),
            )
        )
    return Figures(
        year,
        month,
        by_territory=tuple(by_territory),
        by_profession=tuple(by_profession),
        received=received,
        approved=sum(1 for d in decided if d.status == "approved"),
        rejected=sum(1 for d in decided if d.status == "rejected"),
        median_delay=median(d.delay for d in decided),
        alerts=tuple(alert_figures),
    )
