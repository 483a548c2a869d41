"""Inline SVG drawings for the HTML report: line charts on [0, 1] axes and nothing else."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 320, 240, 36
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _xy(x: float, y: float) -> str:
    px = PAD + min(max(x, 0.0), 1.0) * (WIDTH - PAD - 8)
    py = HEIGHT - PAD - min(max(y, 0.0), 1.0) * (HEIGHT - PAD - 8)
    return f"{px:.1f},{py:.1f}"


def line_chart(title: str, series: list[dict[str, Any]], diagonal: bool = False) -> str:
    """One chart of ``series`` ({label, x, y, area_name, area} with x and y in [0, 1]) and a
    legend naming each with its area (AUC, AP, ...); ``diagonal`` draws y = x dashed.

    >>> line_chart("ROC", [{"label": "cat", "x": [0, 1], "y": [0, 1]}]).startswith("<figure")
    True
    """
    first = series[0] if series else {}
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<rect x="{PAD}" y="8" width="{WIDTH - PAD - 8}" height="{HEIGHT - PAD - 8}" '
        'fill="none" stroke="#ccc"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        x0, y0 = _xy(tick, 0).split(",")
        x1, y1 = _xy(0, tick).split(",")
        parts.append(
            f'<text x="{x0}" y="{HEIGHT - PAD + 14}" font-size="10" text-anchor="middle">{tick:g}</text>'
        )
        parts.append(
            f'<text x="{PAD - 4}" y="{float(y1) + 3:.1f}" font-size="10" text-anchor="end">{tick:g}</text>'
        )
    parts.append(
        f'<text x="{(WIDTH + PAD) / 2:.0f}" y="{HEIGHT - 6}" font-size="11" text-anchor="middle">'
        f"{escape(str(first.get('x_label', '')))}</text>"
    )
    parts.append(
        f'<text x="10" y="{(HEIGHT - PAD) / 2:.0f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 10 {(HEIGHT - PAD) / 2:.0f})">{escape(str(first.get("y_label", "")))}</text>'
    )
    if diagonal:
        parts.append(
            f'<polyline points="{_xy(0, 0)} {_xy(1, 1)}" fill="none" stroke="#999" stroke-dasharray="4 3"/>'
        )
    legend = []
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(_xy(x, y) for x, y in zip(s["x"], s["y"], strict=False))
        if points:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
            )
        area = s.get("area")
        area_text = f" {s.get('area_name', '')} {area:.3f}" if isinstance(area, float) else ""
        name = s.get("label") or ""
        legend.append(
            f'<li><span class="swatch" style="background:{colour}"></span>{escape(str(name))}{escape(area_text)}</li>'
        )
    parts.append("</svg>")
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{"".join(parts)}'
        f'<ul class="legend">{"".join(legend)}</ul></figure>'
    )
