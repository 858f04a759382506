"""Charts as SVG drawn on the server: readable without JavaScript, with nothing loaded from elsewhere.

A chart is a picture of a few figures, so each comes out as one `<svg role="img">` whose
`aria-label` and `<title>` say what it shows; the page puts a table of the same figures beside
it for screen readers (and for anyone who wants the numbers). Every text is escaped, numbers are
formatted the same way on every run (tests compare the output), and nothing here knows about
Flask or kb's tables: the reading-path progress page draws a step chart, the insights dashboard
will draw bars and lines from the same parts.

The SVG is meant to sit inside an HTML page, whose parser gives it the SVG namespace: it carries
no `xmlns` (no URL at all). Colours and fonts come from kb.css (`.chart ...`); the presentation
attributes here only keep it legible where that stylesheet is missing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

X = date | int | float  # a point's position along the x axis: a day, or a number

# Room around the plot for the tick labels and the axis labels, in SVG units.
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 16, 52
MAX_TICKS = 5
MAX_BAR_LABEL = 14


@dataclass(frozen=True)
class Frame:
    """What a chart is about, and its size in SVG units (it scales to the page's width)."""

    title: str
    x_label: str
    y_label: str
    summary: str = ""  # the chart in a sentence, read out after the title ("3 of 5 done")
    width: int = 640
    height: int = 260

    @property
    def label(self) -> str:
        return f"{self.title}. {self.summary}" if self.summary else self.title


def step_chart(points: Sequence[tuple[X, float]], frame: Frame, *, y_max: float | None = None) -> Markup:
    """A running total: each value holds until the next point (how many are done, day by day)."""
    return line_chart(points, frame, y_max=y_max, steps=True)


def line_chart(
    points: Sequence[tuple[X, float]], frame: Frame, *, y_max: float | None = None, steps: bool = False
) -> Markup:
    """Values along x (days or numbers, in order), joined by straight lines or, with `steps`, stairs."""
    xs = [_position(x) for x, _ in points]
    low, high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    high = high if high > low else low + 1
    y_ticks = _ticks(max([y_max or 0, *(y for _, y in points)]))
    plot = _Plot(frame, y_ticks[-1])
    at = [(plot.x((x - low) / (high - low)), plot.y(y)) for x, (_, y) in zip(xs, points, strict=True)]
    parts = [*plot.y_axis(y_ticks), *plot.x_axis(_x_ticks(points, low, high))]
    if at:
        parts.append(
            f'<path class="chart-line" fill="none" stroke="currentColor" stroke-width="2" d="{_line(at, steps)}"/>'
        )
        parts += [f'<circle class="chart-dot" cx="{_n(x)}" cy="{_n(y)}" r="3"/>' for x, y in at]
    return plot.svg(parts)


def bar_chart(bars: Sequence[tuple[str, float]], frame: Frame, *, y_max: float | None = None) -> Markup:
    """One bar per label, in the order given, with its value above it."""
    y_ticks = _ticks(max([y_max or 0, *(v for _, v in bars)]))
    plot = _Plot(frame, y_ticks[-1])
    band = plot.width / max(len(bars), 1)
    parts = [*plot.y_axis(y_ticks)]
    for index, (name, value) in enumerate(bars):
        left, top = LEFT + band * (index + 0.15), plot.y(value)
        centre = LEFT + band * (index + 0.5)
        parts += [
            f'<rect class="chart-bar" x="{_n(left)}" y="{_n(top)}" width="{_n(band * 0.7)}" '
            f'height="{_n(plot.y(0) - top)}"><title>{escape(name)}: {_number(value)}</title></rect>',
            _text(centre, top - 4, _number(value), "middle", 'class="chart-value" '),
            _text(centre, plot.y(0) + 16, _short(name), "middle"),
        ]
    parts += [plot.baseline(), plot.x_title()]
    return plot.svg(parts)


class _Plot:
    """The frame's drawing area: maps values to SVG coordinates and draws the axes."""

    def __init__(self, frame: Frame, y_top: float):
        self.frame, self.y_top = frame, y_top
        self.width = frame.width - LEFT - RIGHT
        self.height = frame.height - TOP - BOTTOM

    def x(self, share: float) -> float:
        return LEFT + share * self.width

    def y(self, value: float) -> float:
        return TOP + self.height * (1 - value / self.y_top)

    def y_axis(self, ticks: list[float]) -> list[str]:
        parts = []
        for tick in ticks:
            y = _n(self.y(tick))
            parts.append(
                f'<line class="chart-grid" x1="{LEFT}" x2="{LEFT + self.width}" y1="{y}" y2="{y}" stroke="#d9dee7"/>'
            )
            parts.append(_text(LEFT - 6, self.y(tick) + 4, _number(tick), "end"))
        middle = _n(TOP + self.height / 2)
        parts.append(
            f'<text class="chart-axis-label" x="14" y="{middle}" text-anchor="middle" '
            f'transform="rotate(-90 14 {middle})">{escape(self.frame.y_label)}</text>'
        )
        return parts

    def x_axis(self, ticks: list[tuple[float, str]]) -> list[str]:
        parts = [self.baseline()]
        for share, text in ticks:
            anchor = "start" if share == 0 else "end" if share == 1 else "middle"
            parts.append(_text(self.x(share), self.y(0) + 16, text, anchor))
        parts.append(self.x_title())
        return parts

    def baseline(self) -> str:
        y = _n(self.y(0))
        return f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT + self.width}" y1="{y}" y2="{y}" stroke="#5b6575"/>'

    def x_title(self) -> str:
        x, y = LEFT + self.width / 2, self.frame.height - 8
        return _text(x, y, self.frame.x_label, "middle", 'class="chart-axis-label" ')

    def svg(self, parts: list[str]) -> Markup:
        f = self.frame
        label = escape(f.label)
        head = (
            f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {f.width} {f.height}" '
            f'width="{f.width}" height="{f.height}" font-size="12" fill="#5b6575">'
        )
        return Markup("\n".join([head, f"<title>{label}</title>", *parts, "</svg>"]))


def _ticks(top: float) -> list[float]:
    """Round values from 0 to at least `top`: 0, 1, 2 ... or 0, 5, 10 ... at most MAX_TICKS steps."""
    top = top if top > 0 else 1
    raw = top / MAX_TICKS
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1) if top >= 1 else step  # counts are whole: no tick at 0.5 person
    count = math.ceil(top / step - 1e-9)
    return [round(step * i, 6) for i in range(count + 1)]


def _x_ticks(points: Sequence[tuple[X, float]], low: float, high: float) -> list[tuple[float, str]]:
    """Up to MAX_TICKS labelled positions from the first x to the last, evenly spread (whole days for days)."""
    if not points:
        return []
    is_day, span, last = isinstance(points[0][0], date), high - low, max(_position(x) for x, _ in points)
    count = min(MAX_TICKS, int(last - low) + 1) if is_day else MAX_TICKS
    spread = [low + (last - low) * i / max(count - 1, 1) for i in range(count)]
    values = dict.fromkeys(float(round(v)) if is_day else round(v, 6) for v in spread)
    return [((v - low) / span, date.fromordinal(int(v)).isoformat() if is_day else _number(v)) for v in values]


def _text(x: float, y: float, text: str, anchor: str, extra: str = "") -> str:
    return f'<text {extra}x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">{escape(text)}</text>'


def _position(x: X) -> float:
    return float(x.toordinal()) if isinstance(x, date) else float(x)


def _line(at: list[tuple[float, float]], steps: bool) -> str:
    path = [f"M{_n(at[0][0])},{_n(at[0][1])}"]
    for x, y in at[1:]:
        path.append(f"H{_n(x)}V{_n(y)}" if steps else f"L{_n(x)},{_n(y)}")
    return " ".join(path)


def _n(value: float) -> str:
    """A coordinate: one decimal, no "-0.0", the same text on every machine."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _short(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip()
    return name if len(name) <= MAX_BAR_LABEL else name[: MAX_BAR_LABEL - 1] + "…"
