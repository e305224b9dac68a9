"""Small SVG charts, drawn here as text: stacked bars, horizontal bars, lines, a Gantt.

Why our own and not a charting library: the report must be one file that
opens with no network and no server, and these four shapes are a few dozen
lines each. A vendored JavaScript library would add hundreds of kilobytes to
every report, need scripts enabled to show anything, and be code we did not
write to keep up to date. Static SVG also prints, and tests can count its
elements. Every label goes through :func:`html.escape`: model names and
feature names come from logs anyone can write.

Each chart is an ``<svg class="chart" data-chart="NAME">``; each mark
(a bar, a point, a span) has ``class="mark"`` and a ``<title>`` tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Final

from .._money import money

__all__ = ["PALETTE", "Span", "gantt", "hbars", "line_chart", "stacked_bars"]

#: Colours for series, in order (distinguishable, and readable on white).
PALETTE: Final = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
_FONT: Final = 'font-family="system-ui, sans-serif" font-size="11"'


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _open(name: str, width: int, height: int, label: str) -> list[str]:
    return [
        f'<svg class="chart" data-chart="{escape(name)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" {_FONT}>'
    ]


def _empty(name: str, label: str) -> str:
    parts = _open(name, 400, 40, label)
    parts.append('<text x="8" y="24" fill="#666">No data in this window.</text></svg>')
    return "".join(parts)


def _nice_top(value: float) -> float:
    """Round a maximum up to 1, 2 or 5 times a power of ten, for a readable axis."""
    if value <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(value))
    return next(f * base for f in (1, 2, 5, 10) if f * base >= value)


def stacked_bars(
    name: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    unit: str = "$",
    width: int = 760,
    height: int = 260,
) -> str:
    """Return bars per category (x), stacked by series; a legend under the chart."""
    label = f"{name}: {len(categories)} bars, {len(series)} series"
    totals = [sum(values[i] for _, values in series) for i in range(len(categories))]
    if not categories or not any(totals):
        return _empty(name, label)
    left, right, top, bottom = 56, 12, 10, 40
    legend_rows = (len(series) + 3) // 4
    parts = _open(name, width, height + 18 * legend_rows, label)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_top(max(totals))
    parts += _y_axis(left, top, plot_w, plot_h, peak, unit)
    slot = plot_w / len(categories)
    bar = max(2.0, slot * 0.7)
    for i, category in enumerate(categories):
        x = left + i * slot + (slot - bar) / 2
        base = float(top + plot_h)
        for s, (series_name, values) in enumerate(series):
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * value / peak
            base -= h
            parts.append(
                f'<rect class="mark" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{_colour(s)}"><title>{escape(category)} · '
                f"{escape(series_name)}: {_amount(value, unit)}</title></rect>"
            )
        if len(categories) <= 16 or i % max(1, len(categories) // 12) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                f'fill="#333">{escape(_short_day(category))}</text>'
            )
    parts += _legend([n for n, _ in series], left, height + 4, width)
    parts.append("</svg>")
    return "".join(parts)


def hbars(
    name: str, rows: Sequence[tuple[str, float]], *, unit: str = "$", width: int = 760
) -> str:
    """Return one horizontal bar per row, longest first as given, with the value at its end."""
    label = f"{name}: {len(rows)} bars"
    if not rows or not any(value > 0 for _, value in rows):
        return _empty(name, label)
    row_h, left, right = 22, 220, 90
    height = row_h * len(rows) + 8
    parts = _open(name, width, height, label)
    peak = max(value for _, value in rows)
    for i, (row_name, value) in enumerate(rows):
        y = 4 + i * row_h
        w = (width - left - right) * value / peak if peak else 0
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" fill="#333">'
            f"{escape(_clip(row_name, 34))}</text>"
            f'<rect class="mark" x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" '
            f'height="{row_h - 6}" '
            f'fill="{_colour(i)}"><title>{escape(row_name)}: {_amount(value, unit)}</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + 15}" fill="#333">{_amount(value, unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    name: str,
    categories: Sequence[str],
    values: Sequence[float | None],
    *,
    unit: str,
    top_value: float | None = None,
    width: int = 760,
    height: int = 200,
) -> str:
    """Return a line through the known values (gaps where None), a point per value."""
    label = f"{name}: {sum(v is not None for v in values)} points"
    known = [v for v in values if v is not None]
    if not categories or not known:
        return _empty(name, label)
    left, right, top, bottom = 56, 12, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = top_value if top_value is not None else _nice_top(max(known))
    parts = _open(name, width, height, label)
    parts += _y_axis(left, top, plot_w, plot_h, peak, unit)
    slot = plot_w / len(categories)
    points: list[tuple[float, float, str, float]] = []
    for i, (category, value) in enumerate(zip(categories, values, strict=True)):
        if value is None:
            continue
        x = left + i * slot + slot / 2
        y = top + plot_h - plot_h * (value / peak if peak else 0)
        points.append((x, y, category, value))
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{_colour(0)}" stroke-width="2"/>'
        )
    for x, y, category, value in points:
        parts.append(
            f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_colour(0)}">'
            f"<title>{escape(category)}: {_amount(value, unit)}</title></circle>"
        )
    for i, category in enumerate(categories):
        if len(categories) <= 16 or i % max(1, len(categories) // 12) == 0:
            parts.append(
                f'<text x="{left + i * slot + slot / 2:.1f}" y="{top + plot_h + 14}" '
                f'text-anchor="middle" fill="#333">{escape(_short_day(category))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Span:
    """One bar of a Gantt chart: a lane, a label, a start and an end."""

    lane: str
    label: str
    start: datetime
    end: datetime
    detail: str = ""


def gantt(name: str, spans: Sequence[Span], *, width: int = 760) -> str:
    """Return one lane per distinct ``lane`` (in first-seen order), spans placed in time."""
    label = f"{name}: {len(spans)} spans"
    if not spans:
        return _empty(name, label)
    lanes = list(dict.fromkeys(span.lane for span in spans))
    labels = list(dict.fromkeys(span.label for span in spans))
    begin = min(span.start for span in spans)
    finish = max(span.end for span in spans)
    total = max((finish - begin).total_seconds(), 1.0)
    row_h, left, right, top = 24, 140, 12, 18
    legend_rows = (len(labels) + 3) // 4
    height = top + row_h * len(lanes) + 10 + 18 * legend_rows
    parts = _open(name, width, height, label)
    plot_w = width - left - right
    parts.append(
        f'<text x="{left}" y="12" fill="#666">{escape(begin.strftime("%Y-%m-%d %H:%M"))}</text>'
        f'<text x="{width - right}" y="12" text-anchor="end" fill="#666">'
        f"{escape(finish.strftime('%Y-%m-%d %H:%M'))} UTC</text>"
    )
    for i, lane in enumerate(lanes):
        y = top + i * row_h
        parts.append(
            f'<text x="{left - 6}" y="{y + 16}" text-anchor="end" fill="#333">'
            f"{escape(_clip(lane, 20))}</text>"
            f'<line x1="{left}" x2="{width - right}" y1="{y + row_h - 1}" y2="{y + row_h - 1}" '
            'stroke="#eee"/>'
        )
    for span in spans:
        y = top + lanes.index(span.lane) * row_h
        x = left + plot_w * (span.start - begin).total_seconds() / total
        w = max(plot_w * (span.end - span.start).total_seconds() / total, 2.0)
        colour = _colour(labels.index(span.label))
        tip = f"{span.lane} · {span.label}" + (f": {span.detail}" if span.detail else "")
        parts.append(
            f'<rect class="mark" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'rx="2" fill="{colour}"><title>{escape(tip)}</title></rect>'
        )
    parts += _legend(labels, left, top + row_h * len(lanes) + 6, width)
    parts.append("</svg>")
    return "".join(parts)


def _y_axis(left: int, top: int, plot_w: int, plot_h: int, peak: float, unit: str) -> list[str]:
    parts = []
    for step in range(5):
        value = peak * step / 4
        y = top + plot_h - plot_h * step / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666">'
            f"{_amount(value, unit)}</text>"
        )
    return parts


def _legend(names: Sequence[str], left: int, y: int, width: int) -> list[str]:
    parts = []
    column = (width - left) / 4
    for i, legend_name in enumerate(names):
        x = left + (i % 4) * column
        row_y = y + 18 * (i // 4)
        parts.append(
            f'<g class="legend"><rect x="{x:.1f}" y="{row_y + 4}" width="10" height="10" '
            f'fill="{_colour(i)}"/><text x="{x + 14:.1f}" y="{row_y + 13}" fill="#333">'
            f"{escape(_clip(legend_name, 28))}</text></g>"
        )
    return parts


def _amount(value: float, unit: str) -> str:
    if unit == "$":
        return money(Decimal(repr(value)))  # the tables' rule: a bar reads as its row does
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "s":
        return f"{value:,.0f} s"
    return f"{value:,.2f}{unit}"


def _short_day(category: str) -> str:
    """``2025-11-03`` → ``11-03`` (the year is in the title); anything else as it is."""
    return category[5:] if len(category) == 10 and category[4] == "-" else category


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
