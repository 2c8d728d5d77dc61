"""Small charts as inline SVG, drawn on the server: no JavaScript, readable by screen
readers (a title and a description that states the numbers), printable.

Each chart takes labelled values; None is a gap (no data that day), not a zero. The title
is shown above each chart by the page (a heading or a figcaption); the SVG carries it for
screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 22, 36
BAR = "#0b5cad"
LINE = "#b3261e"
BASELINE = "#1e6b35"
GRID = "#d5dbe1"
TEXT = "#3d4650"  # 9:1 on white: axis labels stay readable once the chart is scaled down
INK = "#1d2329"
FONT = 13  # in viewBox units; the chart is drawn 640 wide and shown at 600 to 760 px
VALUES_UP_TO = 16  # bars or points; more and their value labels would collide


def _frame(title: str, description: str, body: list[str]) -> Markup:
    # Safe: every text in `body` went through escape() above.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
        + "".join(body)
        + "</svg>"
    )


def _axis(top: float, ticks: Sequence[float], suffix: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for tick in ticks:
        y = TOP + plot_h * (1 - tick / top) if top else TOP + plot_h
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="{FONT}" text-anchor="end" '
            f'fill="{TEXT}">{tick:g}{suffix}</text>'
        )
    return parts


def _labels(labels: Sequence[str], step: float) -> list[str]:
    # At most about 12 labels, so they never overlap at tablet width.
    every = max(1, round(len(labels) / 12))
    return [
        f'<text x="{LEFT + step * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 18}" font-size="{FONT}" '
        f'text-anchor="middle" fill="{TEXT}">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def _describe(labels: Sequence[str], values: Sequence[float | None], suffix: str) -> str:
    shown = [
        f"{lab}: {v:g}{suffix}" for lab, v in zip(labels, values, strict=True) if v is not None
    ]
    return "; ".join(shown) if shown else "no data in this period"


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    top: float | None = None,
    suffix: str = "",
) -> Markup:
    """Bars from zero; `top` fixes the scale (100 for percentages)."""
    present = [v for v in values if v is not None]
    # Counts get a whole-number scale with an even top, so the middle line is whole too.
    scale = top if top is not None else float(max(2, math.ceil(max([*present, 1.0]) / 2) * 2))
    step = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    plot_h = HEIGHT - TOP - BOTTOM
    body = _axis(scale, [0, scale / 2, scale], suffix)
    for i, value in enumerate(values):
        if value is None:
            continue
        h = plot_h * min(value, scale) / scale if scale else 0
        x = LEFT + step * i + step * 0.15
        body.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{BAR}"><title>{escape(labels[i])}: {value:g}{suffix}'
            "</title></rect>"
        )
        if len(values) <= VALUES_UP_TO:
            body.append(_value(LEFT + step * (i + 0.5), TOP + plot_h - h, f"{value:g}{suffix}"))
    body += _labels(labels, step)
    return _frame(title, _describe(labels, values, suffix), body)


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    top: float,
    suffix: str = "",
    threshold: float | None = None,
) -> Markup:
    """Points joined where consecutive; a dashed line marks `threshold` (e.g. pain 7)."""
    step = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    plot_h = HEIGHT - TOP - BOTTOM
    body = _axis(top, [0, top / 2, top], suffix)
    if threshold is not None:
        y = TOP + plot_h * (1 - threshold / top)
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{LINE}" stroke-dasharray="4 4" opacity="0.6"/>'
        )
    points = [
        (LEFT + step * (i + 0.5), TOP + plot_h * (1 - min(v, top) / top), labels[i], v)
        for i, v in enumerate(values)
        if v is not None
    ]
    run: list[str] = []
    previous = -2
    for i, v in enumerate(values):
        if v is None:
            continue
        x, y = LEFT + step * (i + 0.5), TOP + plot_h * (1 - min(v, top) / top)
        run.append(f"{'L' if previous == i - 1 else 'M'}{x:.1f},{y:.1f}")
        previous = i
    if run:
        body.append(f'<path d="{" ".join(run)}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    for x, y, label, v in points:
        body.append(_point(x, y, f"{escape(label)}: {v:g}{suffix}"))
        if len(points) <= VALUES_UP_TO:
            body.append(_value(x, y, f"{v:g}{suffix}"))
    body += _labels(labels, step)
    return _frame(title, _describe(labels, values, suffix), body)


def _value(x: float, y: float, text: str) -> str:
    """A bar's or a point's number, just above it."""
    return (
        f'<text x="{x:.1f}" y="{y - 7:.1f}" font-size="{FONT}" font-weight="600" '
        f'text-anchor="middle" fill="{INK}">{escape(text)}</text>'
    )


def _point(x: float, y: float, title: str) -> str:
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{BAR}" stroke="#fff" stroke-width="1.5">'
        f"<title>{title}</title></circle>"
    )


def dated_line_chart(
    title: str,
    first: date,
    last: date,
    values: Mapping[date, float | None],
    top: float,
    threshold: float | None = None,
    baseline: float | None = None,
) -> Markup:
    """Values on a time axis from `first` to `last`, one step a day, so the gaps between
    answers show as gaps. A day in `values` with None (asked, no value) breaks the line; a
    day not in it at all (not asked) is drawn across. `threshold` is a dashed red line (pain
    7 escalates), `baseline` the patient's usual level as a green line."""
    days = (last - first).days + 1
    step = (WIDTH - LEFT - RIGHT) / max(days, 1)
    plot_h = HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - min(value, top) / top)

    body = _axis(top, [0, top / 2, top], "")
    for level, colour, dash, name in (
        (threshold, LINE, ' stroke-dasharray="5 4"', "escalates at"),
        (baseline, BASELINE, "", "baseline"),
    ):
        if level is None:
            continue
        y = y_of(level)
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="2"{dash}><title>{name} {level:g}</title></line>'
            f'<text x="{WIDTH - RIGHT - 4}" y="{y - 5:.1f}" font-size="{FONT}" text-anchor="end" '
            f'fill="{colour}">{name} {level:g}</text>'
        )
    inside = sorted(day for day in values if first <= day <= last)
    points = [(day, v) for day in inside if (v := values[day]) is not None]
    run: list[str] = []
    joined = False
    for day in inside:
        value = values[day]
        if value is None:
            joined = False
            continue
        x = LEFT + step * ((day - first).days + 0.5)
        run.append(f"{'L' if joined else 'M'}{x:.1f},{y_of(value):.1f}")
        joined = True
    if run:
        body.append(f'<path d="{" ".join(run)}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    for day, value in points:
        x, y = LEFT + step * ((day - first).days + 0.5), y_of(value)
        body.append(_point(x, y, f"{day:%d %b}: {value:g}"))
        if len(points) <= VALUES_UP_TO:
            body.append(_value(x, y, f"{value:g}"))
    body += _week_labels(first, days, step)
    description = "; ".join(f"{day:%d %b}: {value:g}" for day, value in points)
    return _frame(title, description or "no data in this period", body)


def _week_labels(first: date, days: int, step: float) -> list[str]:
    """A date under each Monday (or every other one over 12 weeks), with a tick."""
    mondays = [
        first + timedelta(days=i) for i in range(days) if (first + timedelta(i)).weekday() == 0
    ]
    every = max(1, math.ceil(len(mondays) / 12))
    parts = []
    for monday in mondays[::every]:
        x = LEFT + step * ((monday - first).days + 0.5)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM + 4}" '
            f'stroke="{TEXT}"/><text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" font-size="{FONT}" '
            f'text-anchor="middle" fill="{TEXT}">{monday:%d %b}</text>'
        )
    return parts
