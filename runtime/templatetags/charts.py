"""Small server-rendered charts (inline SVG) for run health: no chart library needed."""

from __future__ import annotations

from collections.abc import Sequence

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def bar_chart(
    values: Sequence[int],
    highlights: Sequence[int] | None = None,
    width: int = 240,
    height: int = 48,
    label: str = "",
) -> str:
    """Bars for ``values`` (e.g. runs per day), the ``highlights`` part (failures) in red."""
    peak = max(values, default=0) or 1
    step = width / max(len(values), 1)
    bars = []
    for index, value in enumerate(values):
        tall = value / peak * (height - 2)
        bad = (highlights[index] / peak * (height - 2)) if highlights else 0
        x = index * step
        bars.append(
            (
                f"{x:.1f}",
                f"{height - tall:.1f}",
                f"{max(step - 1, 1):.1f}",
                f"{tall:.1f}",
                "var(--ok)",
            )
        )
        if bad:
            bars.append(
                (
                    f"{x:.1f}",
                    f"{height - bad:.1f}",
                    f"{max(step - 1, 1):.1f}",
                    f"{bad:.1f}",
                    "var(--bad)",
                )
            )
    rects = format_html_join("", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>', bars)
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" '
        'role="img" aria-label="{}">{}</svg>',
        width,
        height,
        width,
        height,
        label,
        rects,
    )


@register.simple_tag
def sparkline(values: Sequence[int], width: int = 96, height: int = 24, label: str = "") -> str:
    peak = max(values, default=0) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 1 - v / peak * (height - 2):.1f}" for i, v in enumerate(values)
    )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" '
        'role="img" aria-label="{}"><polyline points="{}" fill="none" '
        'stroke="currentColor" stroke-width="1.5"/></svg>',
        width,
        height,
        width,
        height,
        label,
        points,
    )
