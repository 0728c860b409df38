"""The benchmark measures; it asserts nothing about speed. What is tested is that it really
ran everything it reports: every run completed with the right output, every accepted
webhook recorded its run, every baseline returned (the command fails otherwise)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.processes import ROOT

TINY = [
    "--quick",
    "--steps",
    "3",
    "--repeats",
    "1",
    "--fib-steps",
    "1",
    "--seconds",
    "1",
    "--requests",
    "3",
    "--clients",
    "1",
    "2",
    "--changes",
    "2",
    "--runs",
    "6",
    "--items",
    "4",
    "--replays",
    "3",
    "--saturated-requests",
    "3",
    "--workers",
    "2",
    "--web-processes",
    "1",
]
SATURATED = "11. Light flow, compute saturated"
SCENARIOS = {
    "1. Per-step overhead",
    "1b. For-each per item",
    "2. Code-step overhead",
    "3. Webhook accept",
    "4. Webhook → result",
    "5. Live status",
    "6. Throughput",
    "8. Memory",
    "9. Container-image step",
    "10. Replay",
    SATURATED,
}


@pytest.mark.parametrize("mode", ["postgres+redis", "embedded"])
def test_a_tiny_benchmark_runs_every_scenario_for_real(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "bench.json"
    env = dict(os.environ) | {"DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL}
    extra = ["--embedded"] if mode == "embedded" else []
    done = subprocess.run(
        [sys.executable, "manage.py", "benchmark", *TINY, *extra, "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["mode"] == mode
    rows = report["rows"]
    assert {row["scenario"] for row in rows} == SCENARIOS
    # Scenario 11 swaps the worker for pools; the embedded default has one pool, and says so.
    not_applicable = [row for row in rows if row["note"].startswith("n/a")]
    assert [row["scenario"] for row in not_applicable] == (
        [SATURATED] if mode == "embedded" else []
    )
    assert len([row for row in rows if row["scenario"] == SATURATED]) == 2  # one, then pools
    measured = [row for row in rows if row["scenario"] != "8. Memory" and row not in not_applicable]
    assert all(row["median"] is not None and row["median"] > 0 for row in measured), rows
    with_baseline = [row for row in measured if row["baseline_name"]]
    assert all(row["baseline"] and row["ratio"] for row in with_baseline), rows
    assert "Scenario" in done.stdout and "Baseline" in done.stdout


def _database_url() -> str:
    db = settings.DATABASES["default"]
    # The benchmark makes (and drops) a scratch database next to the configured one.
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
