"""Pure: respondents' tokens, and results only in aggregate.

A respondent is known to the store by a token, the HMAC-SHA256 of their user id under the
survey's secret: the same person always gets the same token while the survey is open (one
response each, which they may change), and the token says nothing of who they are. The secret
is erased at the close; from then on nobody can tell whose a token is, even with the store.

Results are counts: per option, per point of the scale, and text answers listed without
names, sorted so that their order says nothing. A breakdown by group (territory, profession)
never shows a group of fewer than ``min_group`` respondents on its own: those are merged into
"other", and "other", if still too small, takes in the smallest shown groups (else the totals,
minus what is shown, would tell a small group's answers)."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OTHER = "other"


def token(secret: str, user_id: str) -> str:
    """The respondent's opaque token in one survey."""
    return hmac.new(bytes.fromhex(secret), user_id.encode(), hashlib.sha256).hexdigest()


def merged_groups(sizes: Mapping[str, int], min_group: int) -> dict[str, str | None]:
    """Each group → the group it is shown as: itself when it has ``min_group`` respondents or
    more, else ``OTHER``. The totals are shown too, so what the shown groups leave out is
    known by subtraction: ``OTHER`` (all the small ones together, and those already called
    so) is therefore never left below ``min_group`` while it holds anyone. The smallest shown
    groups join it until it is big enough; if all of them together are not, or none is left
    to show beside it, the breakdown says nothing (None for every group: the totals are all
    there is)."""
    small = {g for g, n in sizes.items() if n < min_group or g == OTHER}
    other_size = sum(sizes[g] for g in small)
    shown = sorted((g for g in sizes if g not in small), key=lambda g: (sizes[g], g))
    while 0 < other_size < min_group and shown:
        joining = shown.pop(0)
        small.add(joining)
        other_size += sizes[joining]
    if 0 < other_size < min_group or not shown:  # nothing the totals do not say already
        return dict.fromkeys(sizes)
    return {g: (OTHER if g in small else g) for g in sizes}


def breakdown(pairs: Iterable[tuple[str, str]], min_group: int) -> dict[str, Counter[str]]:
    """(group, value) of each respondent → value counts per shown group (small groups merged
    into ``OTHER``, or left out)."""
    rows = list(pairs)
    shown = merged_groups(Counter(g for g, _ in rows), min_group)
    out: dict[str, Counter[str]] = {}
    for group, value in rows:
        where = shown[group]
        if where is not None:
            out.setdefault(where, Counter())[value] += 1
    return out


def completed(
    groups: Mapping[str, Counter[str]], counts: Counter[str], min_group: int
) -> dict[str, Counter[str]]:
    """A breakdown as shown beside its totals. What no shown group holds (the totals minus
    the groups: people without this dimension, a peer's groups it did not send) is known by
    subtraction, so it is ``OTHER``'s; ``OTHER`` then takes in the smallest groups until it
    has ``min_group`` people, or the breakdown shows nothing."""
    out = {g: Counter(c) for g, c in groups.items()}
    hidden = Counter(counts)
    for shown_counts in out.values():
        hidden.subtract(shown_counts)
    other = out.pop(OTHER, Counter()) + hidden  # + keeps the positive counts only
    by_size = sorted(out, key=lambda g: (sum(out[g].values()), g))
    while 0 < sum(other.values()) < min_group and by_size:
        other.update(out.pop(by_size.pop(0)))
    if 0 < sum(other.values()) < min_group or not out:  # "other" alone: the totals again
        return {}
    if other:
        out[OTHER] = other
    return out


def merge_counts(
    parts: Iterable[Mapping[str, Mapping[str, int]]],
) -> dict[str, Counter[str]]:
    """Breakdowns from several places (this region's, the peers'), group by group."""
    out: dict[str, Counter[str]] = {}
    for part in parts:
        for group, counts in part.items():
            out.setdefault(group, Counter()).update(counts)
    return out


@dataclass(frozen=True)
class QuestionResult:
    """One question's aggregate: how many answered, the counts by value (a choice's option
    number, a scale's point), the text answers (sorted), and the breakdowns by dimension."""

    answered: int
    counts: Counter[str]
    texts: tuple[str, ...]
    groups: dict[str, dict[str, Counter[str]]]  # dimension → shown group → counts

    @property
    def mean(self) -> float | None:
        total = sum(self.counts.values())
        if not total:
            return None
        return sum(int(v) * n for v, n in self.counts.items()) / total


def tally(
    kind: str,
    answers: Iterable[tuple[str, dict[str, str]]],
    min_group: int,
) -> QuestionResult:
    """``answers``: (value, {dimension: group}) of each respondent who answered."""
    rows = list(answers)
    if kind == "text":
        return QuestionResult(len(rows), Counter(), tuple(sorted(v for v, _ in rows)), {})
    dimensions = sorted({d for _, groups in rows for d in groups})
    counts = Counter(v for v, _ in rows)
    return QuestionResult(
        len(rows),
        counts,
        (),
        {
            d: completed(
                breakdown(((g[d], v) for v, g in rows if d in g), min_group), counts, min_group
            )
            for d in dimensions
        },
    )


def coarsened(groups: Iterable[str], min_group: int) -> dict[str, str]:
    """At the close: each group as it is kept in the store from then on (itself, or ``OTHER``
    when smaller than ``min_group``): a group of two is not written down."""
    shown = merged_groups(Counter(groups), min_group)
    return {g: (s if s == g else OTHER) for g, s in shown.items()}
