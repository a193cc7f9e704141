"""Inline SVG charts for the close report, drawn in Python: no JavaScript, nothing fetched.

A close report is archived and opened years later, offline, possibly printed; a chart
library loaded from the network or a script that draws at view time would make it depend
on things outside the file.  Each chart is one ``<svg>`` element with a ``<title>`` and a
``<desc>`` (screen readers, and the tooltip of each bar or point says its figure).

Pixel positions are geometry and may be floats; every number *printed* (bar values, axis
ticks) is text the caller formatted from ``Decimal``, or a tick computed in ``Decimal``.
Every piece of text from data is escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

WIDTH = 680
FONT = 12
LABEL_WIDTH = 210  # room for the longest rule code at FONT
VALUE_WIDTH = 120  # room for the value printed right of a bar
ROW = 24
BAR = 15
AXIS = "#5f6b76"
GRID = "#dde3e8"
INK = "#1f2a33"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length (non-negative) and the text printed beside it."""

    label: str
    value: Decimal | int
    text: str


@dataclass(frozen=True)
class Series:
    """One layer of a stacked bar chart, or one line: its legend name and colour."""

    name: str
    color: str


@dataclass(frozen=True)
class Stack:
    """One stacked bar: a value per series (non-negative) and the total printed beside it."""

    label: str
    values: tuple[Decimal | int, ...]
    text: str


@dataclass(frozen=True)
class Point:
    """One point of a line chart: its x label, its value and the text of its tooltip."""

    label: str
    value: Decimal | int
    text: str


def esc(text: object) -> str:
    """Text or attribute value safe inside SVG and HTML."""
    return html.escape(str(text), quote=True)


def _svg(chart_id: str, title: str, desc: str, height: float, body: list[str],
         width: int = WIDTH) -> str:
    return (f'<svg class="chart" id="{esc(chart_id)}" viewBox="0 0 {width} {height:.0f}" '
            f'width="{width}" height="{height:.0f}" role="img" '
            f'aria-labelledby="{esc(chart_id)}-title {esc(chart_id)}-desc" '
            f'font-size="{FONT}" fill="{INK}">'
            f'<title id="{esc(chart_id)}-title">{esc(title)}</title>'
            f'<desc id="{esc(chart_id)}-desc">{esc(desc)}</desc>'
            + "".join(body) + "</svg>")


def _empty(chart_id: str, title: str, message: str, width: int = WIDTH) -> str:
    return _svg(chart_id, title, message, 48, [
        f'<text x="{width / 2:.1f}" y="28" text-anchor="middle" fill="{AXIS}">'
        f'{esc(message)}</text>'], width)


def _clip(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, color: str = "#2f6690",
              empty: str = "Nothing to show", width: int = WIDTH,
              label_width: int = LABEL_WIDTH) -> str:
    """Horizontal bars, one row each, longest bar = largest value, value printed at its end."""
    if not bars:
        return _empty(chart_id, title, empty, width)
    top = max((Decimal(b.value) for b in bars), default=Decimal(0))
    span = width - label_width - VALUE_WIDTH
    body: list[str] = []
    for i, bar in enumerate(bars):
        y = 8 + i * ROW
        length = float(Decimal(bar.value) / top) * span if top > 0 else 0.0
        body.append(
            f'<g><title>{esc(bar.label)}: {esc(bar.text)}</title>'
            f'<text x="{label_width - 8}" y="{y + BAR - 3}" text-anchor="end">'
            f'{esc(_clip(bar.label))}</text>'
            f'<rect x="{label_width}" y="{y}" width="{max(length, 0.0):.1f}" height="{BAR}" '
            f'fill="{color}" rx="2"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + BAR - 3}">{esc(bar.text)}'
            f'</text></g>')
    height = 8 + len(bars) * ROW + 4
    body.insert(0, f'<line x1="{label_width}" y1="4" x2="{label_width}" y2="{height - 4}" '
                   f'stroke="{AXIS}"/>')
    desc = "; ".join(f"{b.label}: {b.text}" for b in bars)
    return _svg(chart_id, title, desc, height, body, width)


def stacked_bar_chart(chart_id: str, title: str, series: Sequence[Series],
                      stacks: Sequence[Stack], *, empty: str = "Nothing to show",
                      width: int = WIDTH, label_width: int = LABEL_WIDTH) -> str:
    """Horizontal stacked bars with a legend: how each row's total splits across series."""
    if not stacks:
        return _empty(chart_id, title, empty, width)
    totals = [sum((Decimal(v) for v in s.values), Decimal(0)) for s in stacks]
    top = max(totals, default=Decimal(0))
    span = width - label_width - VALUE_WIDTH
    body: list[str] = []
    x = float(label_width)
    for item in series:  # legend on one line above the bars
        body.append(f'<rect x="{x:.1f}" y="4" width="11" height="11" fill="{item.color}" '
                    f'rx="2"/><text x="{x + 15:.1f}" y="14">{esc(item.name)}</text>')
        x += 15 + 6.8 * len(item.name) + 16
    offset = 26
    for i, stack in enumerate(stacks):
        y = offset + i * ROW
        body.append(f'<text x="{label_width - 8}" y="{y + BAR - 3}" text-anchor="end">'
                    f'{esc(_clip(stack.label))}</text>')
        start = float(label_width)
        for item, value in zip(series, stack.values, strict=True):
            if top <= 0 or Decimal(value) <= 0:
                continue
            length = float(Decimal(value) / top) * span
            body.append(f'<rect x="{start:.1f}" y="{y}" width="{length:.1f}" height="{BAR}" '
                        f'fill="{item.color}"><title>{esc(stack.label)}, {esc(item.name)}: '
                        f'{esc(value)}</title></rect>')
            start += length
        body.append(f'<text x="{start + 6:.1f}" y="{y + BAR - 3}">{esc(stack.text)}</text>')
    height = offset + len(stacks) * ROW + 4
    body.insert(0, f'<line x1="{label_width}" y1="{offset - 4}" x2="{label_width}" '
                   f'y2="{height - 4}" stroke="{AXIS}"/>')
    desc = "; ".join(
        f"{s.label}: " + ", ".join(f"{v} {item.name}" for item, v in
                                   zip(series, s.values, strict=True)) for s in stacks)
    return _svg(chart_id, title, desc, height, body, width)


def nice_ticks(maximum: Decimal, *, whole: bool = False, count: int = 4) -> list[Decimal]:
    """Axis ticks from 0 to at least ``maximum`` in steps of 1, 2 or 5 times a power of ten.

    Computed in ``Decimal`` so the printed tick values are exact; ``whole`` keeps steps at 1
    or more (counts of exceptions have no fractions).
    """
    if maximum <= 0:
        return [Decimal(0), Decimal(1)]
    raw = maximum / count
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(base * m for m in (1, 2, 5, 10) if base * m >= raw)
    if whole:
        step = max(step, Decimal(1))
    steps = int((maximum / step).to_integral_value(rounding=ROUND_CEILING))
    return [step * i for i in range(steps + 1)]


def tick_text(value: Decimal) -> str:
    """A tick value with thousands separators and no trailing zeros (``2,500``, ``0.5``)."""
    text = f"{value.normalize():,f}"
    return "0" if text in ("-0", "0") else text


def line_chart(chart_id: str, title: str, points: Sequence[Point], *, color: str = "#2f6690",
               whole: bool = False, unit: str = "", max_labels: int = 6,
               empty: str = "No runs recorded yet", width: int = WIDTH) -> str:
    """A line over evenly spaced points (runs), y from 0; one point draws a single marker.

    ``unit`` is printed above the y axis (e.g. the reporting currency).
    """
    if not points:
        return _empty(chart_id, title, empty, width)
    left, right, top_pad, bottom = 70.0, 24.0, 30.0, 36.0
    height = 230.0
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    ticks = nice_ticks(max(Decimal(p.value) for p in points), whole=whole)
    y_max = ticks[-1]

    def y_of(value: Decimal | int) -> float:
        return top_pad + plot_h - float(Decimal(value) / y_max) * plot_h

    def x_of(i: int) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + plot_w * i / (len(points) - 1)

    body: list[str] = []
    if unit:
        body.append(f'<text x="{left:.1f}" y="12" text-anchor="middle" fill="{AXIS}">'
                    f'{esc(unit)}</text>')
    for tick in ticks:
        y = y_of(tick)
        body.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" '
                    f'y2="{y:.1f}" stroke="{GRID}"/>'
                    f'<text x="{left - 8:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                    f'fill="{AXIS}">{esc(tick_text(tick))}</text>')
    body.append(f'<line x1="{left:.1f}" y1="{top_pad + plot_h:.1f}" x2="{width - right:.1f}" '
                f'y2="{top_pad + plot_h:.1f}" stroke="{AXIS}"/>')
    for i in _labelled(len(points), max_labels):
        body.append(f'<text x="{x_of(i):.1f}" y="{height - bottom + 18:.1f}" '
                    f'text-anchor="middle" fill="{AXIS}">{esc(points[i].label)}</text>')
    coords = [(x_of(i), y_of(p.value)) for i, p in enumerate(points)]
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                    f'stroke-width="2" stroke-linejoin="round"/>')
    for (x, y), point in zip(coords, points, strict=True):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                    f'<title>{esc(point.label)}: {esc(point.text)}</title></circle>')
    last_x, last_y = coords[-1]
    anchor = "end" if len(coords) > 1 else "middle"
    body.append(f'<text x="{last_x:.1f}" y="{last_y - 9:.1f}" text-anchor="{anchor}" '
                f'font-weight="600">{esc(points[-1].text)}</text>')
    desc = "; ".join(f"{p.label}: {p.text}" for p in points)
    return _svg(chart_id, title, desc, height, body, width)


def _labelled(count: int, most: int) -> list[int]:
    """Indexes of the x labels to print: evenly spaced, the last point always included."""
    every = max(1, -(-count // most))  # ceil
    indexes = list(range(0, count, every))
    if indexes[-1] != count - 1:  # move the last label to the last point: never crowded
        if len(indexes) == 1:
            indexes.append(count - 1)
        else:
            indexes[-1] = count - 1
    return indexes
