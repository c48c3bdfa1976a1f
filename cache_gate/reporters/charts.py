"""SVG charts for the HTML report: small, dependency-free and deterministic.

Three kinds: lines over a numeric x (a trend, a curve), stacked vertical bars (causes
over time, a histogram) and stacked horizontal bars (a breakdown). Each chart is one
`<svg role="img">` with a `<title>` and a `<desc>`; each mark carries its datum, the
exact value of the JSON report, in `data-` attributes (`data-series`, `data-x`,
`data-value`) and a `<title>` of its own (the tooltip, and its accessible name). Colours
are CSS classes (`s0`... for series, `level`, `marker`): the page's style gives them
for the light and the dark scheme. Every text from the input is escaped here.

Why hand-written: the report must open offline with no script at all, and the charts
need their data in attributes a test can read back; a plotting library would add a
dependency of several MB for three shapes of SVG.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 16, 40
# Labels along the x axis at most; the others stay in the marks' titles and the table.
X_TICKS = 10
Y_TICKS = 4
# Series colours (the style defines s0..s8); more series reuse them in turn.
PALETTE = 9

Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One line or one layer of bars: `key` is its `data-series` (a JSON name)."""

    key: str
    label: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Level:
    """A horizontal line across the chart (a target), at `value` on the y axis."""

    value: float
    label: str


@dataclass(frozen=True)
class Marker:
    """A vertical line at `at` in x units (a configured or recommended value; for bars,
    a position between bars: 1.0 is the edge between the first and the second); `value`
    is what it marks, as the JSON report has it (its `data-value`)."""

    at: float
    label: str
    key: str
    value: object = None


def percent(value: float) -> str:
    return f"{value:.0%}"


def number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def scale(largest: float) -> tuple[float, float]:
    """(top, step) of an axis from 0 that holds `largest`: a step of 1, 2 or 5 times a
    power of ten, about Y_TICKS of them (0 to 1 in one step for nothing to show: 0, or
    less than a billionth, which no chart here has)."""
    if not 1e-9 < largest < math.inf:
        return 1.0, 1.0
    rough = largest / Y_TICKS
    exponent = math.floor(math.log10(rough))
    mantissa = next(m for m in (1, 2, 5, 10) if float(f"{m}e{exponent}") >= rough)
    step = float(f"{mantissa}e{exponent}")  # the float nearest the round decimal
    top = step * math.ceil(largest / step)
    while top < largest:  # a rounding short of it
        top += step
    return top, step


def datum(value: object) -> str:
    """A value as the JSON report writes it, for a `data-` attribute."""
    return escape(json.dumps(value), quote=True)


def _open(chart_id: str, kind: str, title: str, description: str) -> list[str]:
    ident = escape(chart_id, quote=True)
    return [f'<svg class="chart {kind}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-labelledby="{ident}-title {ident}-desc" data-chart="{ident}" '
            f'xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{ident}-title">{escape(title)}</title>',
            f'<desc id="{ident}-desc">{escape(description)}</desc>']


def _ticks(top: float, step: float) -> list[float]:
    return [step * i for i in range(round(top / step) + 1)]


def _y_axis(top: float, step: float, y_format: Format) -> list[str]:
    parts = []
    for value in _ticks(top, step):
        y = _y(value, top)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(y_format(value))}</text>')
    return parts


def _y(value: float, top: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return HEIGHT - BOTTOM - inner * max(0.0, min(value, top)) / top


def _x_labels(positions: Sequence[float], labels: Sequence[str]) -> list[str]:
    step = max(1, math.ceil(len(labels) / X_TICKS))
    return [f'<text class="tick" x="{positions[i]:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
            for i in range(0, len(labels), step)]


def _level(level: Level, top: float) -> list[str]:
    y = _y(level.value, top)
    return [f'<line class="level" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
            f'y2="{y:.1f}" data-level="{datum(level.value)}"><title>{escape(level.label)}'
            f'</title></line>',
            f'<text class="level-label" x="{WIDTH - RIGHT - 4}" y="{y - 4:.1f}" '
            f'text-anchor="end">{escape(level.label)}</text>']


def _marker(x: float, marker: Marker, row: int) -> list[str]:
    return [f'<line class="marker {escape(marker.key, quote=True)}" x1="{x:.1f}" '
            f'x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            f'data-marker="{escape(marker.key, quote=True)}" data-value="{datum(marker.value)}">'
            f'<title>{escape(marker.label)}</title></line>',
            f'<text class="marker-label" x="{x + 4:.1f}" y="{TOP + 12 + 14 * row}">'
            f'{escape(marker.label)}</text>']


def lines(chart_id: str, title: str, description: str, xs: Sequence[float],
          x_labels: Sequence[str], series: Sequence[Series], *, y_top: float | None = None,
          y_format: Format = percent, levels: Sequence[Level] = (),
          markers: Sequence[Marker] = (), x_data: Sequence[object] | None = None) -> str:
    """Lines over a numeric x; a value of None breaks its line. `x_data[i]` is point
    i's `data-x` (default: its label)."""
    keys = list(x_data) if x_data is not None else list(x_labels)
    low, high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if y_top is None:
        y_top, step = scale(max((v for line in series for v in line.values if v is not None),
                                default=0))
    else:
        step = y_top / Y_TICKS

    def x_of(value: float) -> float:
        if high == low:
            return (LEFT + WIDTH - RIGHT) / 2
        return LEFT + (WIDTH - LEFT - RIGHT) * (value - low) / (high - low)

    parts = _open(chart_id, "lines", title, description) + _y_axis(y_top, step, y_format)
    parts += _x_labels([x_of(x) for x in xs], x_labels)
    for level in levels:
        parts += _level(level, y_top)
    for row, marker in enumerate(markers):
        parts += _marker(x_of(min(max(marker.at, low), high)), marker, row)
    for index, line in enumerate(series):
        colour = f"s{index % PALETTE}"
        runs: list[list[str]] = [[]]
        for x, value in zip(xs, line.values, strict=True):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x_of(x):.1f},{_y(value, y_top):.1f}")
        parts += [f'<polyline class="line {colour}" points="{" ".join(run)}"/>'
                  for run in runs if len(run) > 1]
        for x, label, key, value in zip(xs, x_labels, keys, line.values, strict=True):
            if value is None:
                continue
            parts.append(f'<circle class="point {colour}" cx="{x_of(x):.1f}" '
                         f'cy="{_y(value, y_top):.1f}" r="3" '
                         f'data-series="{escape(line.key, quote=True)}" '
                         f'data-x="{datum(key)}" data-value="{datum(value)}">'
                         f'<title>{escape(f"{line.label}, {label}: {y_format(value)}")}'
                         f'</title></circle>')
    parts.append("</svg>")
    return "\n".join(parts)


def bars(chart_id: str, title: str, description: str, x_labels: Sequence[str],
         layers: Sequence[Series], *, y_format: Format = number,
         markers: Sequence[Marker] = (), x_data: Sequence[object] | None = None) -> str:
    """Stacked vertical bars, one a label, the layers bottom up; a layer's None or 0
    draws nothing there."""
    keys = list(x_data) if x_data is not None else list(x_labels)
    totals = [sum(layer.values[i] or 0 for layer in layers) for i in range(len(x_labels))]
    top, step = scale(max(totals, default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(x_labels))
    width = max(1.0, slot * 0.8)
    parts = _open(chart_id, "bars", title, description) + _y_axis(top, step, y_format)
    parts += _x_labels([LEFT + slot * (i + 0.5) for i in range(len(x_labels))], x_labels)
    for i, (label, key) in enumerate(zip(x_labels, keys, strict=True)):
        base = 0.0
        for index, layer in enumerate(layers):
            value = layer.values[i]
            if not value:
                continue
            y0, y1 = _y(base, top), _y(base + value, top)
            base += value
            parts.append(f'<rect class="bar s{index % PALETTE}" '
                         f'x="{LEFT + slot * i + (slot - width) / 2:.1f}" y="{y1:.1f}" '
                         f'width="{width:.1f}" height="{max(0.5, y0 - y1):.1f}" '
                         f'data-series="{escape(layer.key, quote=True)}" '
                         f'data-x="{datum(key)}" data-value="{datum(value)}">'
                         f'<title>{escape(f"{label}, {layer.label}: {y_format(value)}")}'
                         f'</title></rect>')
    for row, marker in enumerate(markers):
        parts += _marker(LEFT + slot * marker.at, marker, row)
    parts.append("</svg>")
    return "\n".join(parts)


def hbars(chart_id: str, title: str, description: str, y_labels: Sequence[str],
          layers: Sequence[Series], *, x_top: float | None = None,
          x_format: Format = number, levels: Sequence[Level] = ()) -> str:
    """Stacked horizontal bars, one a label, top down; `levels` are vertical lines
    (a target) at their value on the x axis."""
    totals = [sum(layer.values[i] or 0 for layer in layers) for i in range(len(y_labels))]
    if x_top is None:
        top, step = scale(max(totals, default=0))
    else:
        top, step = x_top, x_top / Y_TICKS
    left = 190
    inner = WIDTH - left - RIGHT
    row = (HEIGHT - TOP - BOTTOM) / max(1, len(y_labels))
    height = max(1.0, min(row * 0.7, 24))

    def x_of(value: float) -> float:
        return left + inner * max(0.0, min(value, top)) / top

    parts = _open(chart_id, "hbars", title, description)
    for tick in _ticks(top, step):
        parts.append(f'<line class="grid" x1="{x_of(tick):.1f}" x2="{x_of(tick):.1f}" '
                     f'y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
        parts.append(f'<text class="tick" x="{x_of(tick):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(x_format(tick))}</text>')
    for i, label in enumerate(y_labels):
        middle = TOP + row * (i + 0.5)
        shown = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text class="tick" x="{left - 6}" y="{middle + 4:.1f}" '
                     f'text-anchor="end">{escape(shown)}</text>')
        base = 0.0
        for index, layer in enumerate(layers):
            value = layer.values[i]
            if not value:
                continue
            parts.append(f'<rect class="bar s{index % PALETTE}" x="{x_of(base):.1f}" '
                         f'y="{middle - height / 2:.1f}" '
                         f'width="{max(0.5, x_of(base + value) - x_of(base)):.1f}" '
                         f'height="{height:.1f}" '
                         f'data-series="{escape(layer.key, quote=True)}" '
                         f'data-x="{datum(label)}" data-value="{datum(value)}">'
                         f'<title>{escape(f"{label}, {layer.label}: {x_format(value)}")}'
                         f'</title></rect>')
            base += value
    for level in levels:
        x = x_of(level.value)
        parts.append(f'<line class="level" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" '
                     f'y2="{HEIGHT - BOTTOM}" data-level="{datum(level.value)}">'
                     f'<title>{escape(level.label)}</title></line>')
    parts.append("</svg>")
    return "\n".join(parts)
