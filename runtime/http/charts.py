"""Small server-rendered charts (inline SVG) for run health: no chart library needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

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


@register.simple_tag
def line_chart(
    *lines: Sequence[float | None],
    names: str,
    since: date,
    unit: str = "",
    width: int = 240,
    height: int = 48,
    label: str = "",
    peak: float | None = None,
) -> str:
    """One line per sequence in ``lines`` (a value per day from ``since``; None leaves a
    gap), named by the comma-separated ``names``, scaled to ``peak`` (default: the largest
    value). Every point has a tooltip such as "Dec 3 · p95: 1.25 s"."""
    series = list(zip(names.split(","), lines, strict=True))
    known = [v for _, values in series for v in values if v is not None]
    top = peak or max(known, default=0) or 1
    count = max((len(values) for _, values in series), default=1)
    # Inset by a point's radius and more, so the first and last days are not cut in half.
    inset = 4
    step = (width - 2 * inset) / max(count - 1, 1)
    parts = []
    for index, (name, values) in enumerate(series):
        points = [
            (inset + i * step, height - inset - v / top * (height - 2 * inset), i, v)
            for i, v in enumerate(values)
            if v is not None
        ]
        parts.append(_polylines(points, f"line-{index}"))
        parts.append(
            format_html_join(
                "",
                '<circle class="line-{}" cx="{}" cy="{}" r="2"><title>{} · {}: {}</title></circle>',
                (
                    (index, f"{x:.1f}", f"{y:.1f}", _day(since, i), name, _value(v, unit))
                    for x, y, i, v in points
                ),
            )
        )
    return format_html(
        '<svg class="chart line-chart" viewBox="0 0 {} {}" width="{}" height="{}" '
        'role="img" aria-label="{}">{}</svg>',
        width,
        height,
        width,
        height,
        label,
        format_html_join("", "{}", ((part,) for part in parts)),
    )


def _polylines(points: list[tuple[float, float, int, float]], css: str) -> str:
    """One polyline per run of consecutive days: a day without data breaks the line."""
    runs: list[list[tuple[float, float]]] = []
    last = -2
    for x, y, day, _ in points:
        if day != last + 1:
            runs.append([])
        runs[-1].append((x, y))
        last = day
    return format_html_join(
        "",
        '<polyline class="{}" points="{}" fill="none"/>',
        ((css, " ".join(f"{x:.1f},{y:.1f}" for x, y in run)) for run in runs if len(run) > 1),
    )


def _day(since: date, index: int) -> str:
    return (since + timedelta(days=index)).strftime("%b %-d")


def _value(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    return f"{value:.2f} {unit}".rstrip()
