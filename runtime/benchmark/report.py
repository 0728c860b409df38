"""Benchmark results: one row per figure, each beside its baseline from the same run and
its target, printed as a table and written as JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Row:
    scenario: str
    metric: str
    unit: str
    median: float | None
    p95: float | None = None
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None  # None: no target, or not measured
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.median is None or not self.baseline:
            return None
        return self.median / self.baseline


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def table(rows: list[Row]) -> str:
    header = ["Scenario", "Metric", "Median", "p95", "Baseline", "Ratio", "Target", ""]
    lines = [header]
    for row in rows:
        lines.append(
            [
                row.scenario,
                row.metric,
                _fmt(row.median, row.unit),
                _fmt(row.p95, row.unit),
                f"{_fmt(row.baseline, row.unit)} {row.baseline_name}".strip()
                if row.baseline is not None
                else "",
                f"{row.ratio:.2f}×" if row.ratio is not None else "",
                row.target,
                {True: "met", False: "MISSED", None: ""}[row.met],
            ]
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    rendered = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"* {row.scenario} / {row.metric}: {row.note}" for row in rows if row.note]
    return "\n".join(rendered + (["", *notes] if notes else []))


def write_json(rows: list[Row], path: Path, *, mode: str, quick: bool) -> None:
    data: dict[str, Any] = {
        "tributary_benchmark": 1,
        "mode": mode,
        "quick": quick,
        "at": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": [asdict(row) | {"ratio": row.ratio} for row in rows],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "req/s" or unit == "steps/s":
        return f"{value:,.0f} {unit}"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:.3g} {unit}"
