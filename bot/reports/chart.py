"""The report's picture: what to draw (plain data, made in the bot, every word already in the
reader's language) and the drawing itself (matplotlib, run in a worker process: see
``bot.reports.painter``).

matplotlib is imported only inside ``draw``, so the bot's own process never loads it; the
worker sets its backend (Agg, no display) and its configuration and cache directory first.
The object API (``Figure`` with an Agg canvas) is used, not ``pyplot``: no global state."""

from __future__ import annotations

import contextlib
import io
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH, HEIGHT, DPI = 12.0, 8.5, 100  # inches, dots per inch: a 1200 × 850 picture
BAR = "#2f6f9f"
EMPTY = "#6b6b6b"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Bars:
    """One panel: bars with their labels, or a sentence when there are none."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    notes: tuple[str, ...] = ()  # written at the end of each bar ("2/3"); default: the value
    caption: str = ""  # a line under the title (the median time to a decision)
    empty: str = ""  # said instead of bars when there are none
    horizontal: bool = True
    top: float | None = None  # the axis' end (100 for percentages), else from the values


@dataclass(frozen=True)
class Chart:
    title: str
    subtitle: str
    panels: tuple[Bars, ...]  # drawn two by two


def size(png: bytes) -> tuple[int, int]:
    """A PNG's width and height, from its header."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def prepare_worker(config_dir: str) -> None:
    """In the worker, before matplotlib is imported (the worker imports this module only)."""
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["MPLCONFIGDIR"] = config_dir
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)  # the homeserver and the bot's loop first, on a small machine


def draw(chart: Chart) -> bytes:
    """The chart as a PNG (in the worker process)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(f"{chart.title}\n{chart.subtitle}", fontsize=15, fontweight="bold")
    rows = (len(chart.panels) + 1) // 2
    axes = figure.subplots(rows, 2, squeeze=False).flatten()
    for ax, panel in zip(axes, chart.panels, strict=False):
        _panel(ax, panel)
    for ax in axes[len(chart.panels) :]:
        ax.set_axis_off()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _panel(ax: Axes, panel: Bars) -> None:
    from matplotlib.ticker import MaxNLocator

    title = panel.title + (f"\n{panel.caption}" if panel.caption else "")
    ax.set_title(title, fontsize=12, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not panel.values:
        ax.set_axis_off()
        ax.text(0.5, 0.5, panel.empty, ha="center", va="center", color=EMPTY, fontsize=12,
                transform=ax.transAxes)  # fmt: skip
        return
    notes = panel.notes or tuple(_number(v) for v in panel.values)
    # Many bars (a large region's territories): smaller words, still all of them.
    small = 10 if len(panel.values) <= 12 else max(5, 10 - (len(panel.values) - 12) // 4)
    top = panel.top or max(max(panel.values), 1) * 1.15
    positions = list(range(len(panel.values)))
    if panel.horizontal:
        bars = ax.barh(positions, panel.values, color=BAR)
        ax.set_yticks(positions, panel.labels, fontsize=small)
        ax.invert_yaxis()  # the first one on top
        ax.set_xlim(0, top)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        bars = ax.bar(positions, panel.values, color=BAR)
        ax.set_xticks(positions, panel.labels, fontsize=small)
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.bar_label(bars, labels=list(notes), padding=3, fontsize=small)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
