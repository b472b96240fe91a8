"""Charts drawn on the server as inline SVG: nothing is loaded from anywhere, they print,
and they work without JavaScript. Colours come from classes styled in attest.css."""

import math
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 16, 14, 34
MAX_X_LABELS = 14


@dataclass(frozen=True)
class Point:
    label: str  # "v3"
    value: float
    selected: bool = False


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high == low:
        return [low]
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]


def _bounds(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def line_chart(
    points: list[Point], *, title: str, direction: str = "", chart_id: str = "chart"
) -> SafeString:
    """A line through every point, selected points drawn larger and labelled with their
    value. Every text is escaped; the figure carries a title and a description."""
    chart_id = "".join(c if c.isalnum() or c in "-_" else "-" for c in chart_id)
    values = [p.value for p in points if math.isfinite(p.value)]
    points = [p for p in points if math.isfinite(p.value)]
    better = f"{direction} is better" if direction else ""
    selected = [p.label for p in points if p.selected]
    desc = (
        f"{title} across {len(points)} versions"
        + (f"; {better}" if better else "")
        + (f"; compared: {', '.join(selected)}" if selected else "")
        + "."
    )
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'data-chart="{escape(title)}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    if not points:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="chart-empty">'
            "No values recorded</text></svg>"
        )
        return mark_safe("".join(parts))  # noqa: S308  (built from escaped text)
    low, high = _bounds(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(points) == 1 else i * plot_w / (len(points) - 1))

    def y(v: float) -> float:
        return TOP + plot_h - (v - low) / (high - low) * plot_h

    for tick in _ticks(min(values), max(values)):
        ty = y(tick)
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{ty:.1f}" y2="{ty:.1f}"/>'
            f'<text class="chart-axis" x="{LEFT - 6}" y="{ty + 4:.1f}" '
            f'text-anchor="end">{escape(_fmt(tick))}</text>'
        )
    step = max(1, math.ceil(len(points) / MAX_X_LABELS))
    for i, p in enumerate(points):
        if i % step == 0 or p.selected or i == len(points) - 1:
            parts.append(
                f'<text class="chart-axis{" chart-axis-selected" if p.selected else ""}" '
                f'x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
                f"{escape(p.label)}</text>"
            )
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points))
        parts.append(f'<polyline class="chart-line" points="{path}"/>')
    for i, p in enumerate(points):
        cls = "chart-point chart-point-selected" if p.selected else "chart-point"
        radius = 5 if p.selected else 3
        parts.append(
            f'<circle class="{cls}" cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="{radius}">'
            f"<title>{escape(p.label)}: {escape(_fmt(p.value))}</title></circle>"
        )
        if p.selected:
            parts.append(
                f'<text class="chart-value" x="{x(i):.1f}" y="{y(p.value) - 9:.1f}" '
                f'text-anchor="middle">{escape(_fmt(p.value))}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (built from escaped text)
