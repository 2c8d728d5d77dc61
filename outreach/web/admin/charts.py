"""Small charts as inline SVG, drawn on the server: no JavaScript, readable by screen
readers (a title and a description that states the numbers), printable.

Each chart takes labelled values; None is a gap (no data that day), not a zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 36
BAR = "#0b5cad"
LINE = "#b3261e"
GRID = "#d5dbe1"
TEXT = "#5a6570"


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
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{TEXT}">{tick:g}{suffix}</text>'
        )
    return parts


def _labels(labels: Sequence[str], step: float) -> list[str]:
    # At most about 12 labels, so they never overlap at tablet width.
    every = max(1, round(len(labels) / 12))
    return [
        f'<text x="{LEFT + step * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
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
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{BAR}">'
            f"<title>{escape(label)}: {v:g}{suffix}</title></circle>"
        )
    body += _labels(labels, step)
    return _frame(title, _describe(labels, values, suffix), body)
