"""Measure Tributary beside bare Celery, Django and Channels baselines from the same run."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from runtime.benchmark import (
    foreach,
    harness,
    images,
    live,
    overhead,
    replays,
    starvation,
    throughput,
    webhooks,
)
from runtime.benchmark.report import Row, table, write_json

FULL = {
    "steps": 40,
    "repeats": 10,
    "fib_steps": 10,
    "seconds": 10,
    "connections": 16,
    "requests": 200,
    "clients": [1, 100],
    "changes": 50,
    "runs": 2000,
    "cron_minutes": 3,
    "items": 1000,
    "replays": 200,
    "saturated_requests": 100,
}
QUICK = FULL | {  # about a minute on 2 cores, stack start and stop included
    "repeats": 3,
    "fib_steps": 3,
    "seconds": 2,
    "requests": 30,
    "changes": 5,
    "runs": 200,
    "cron_minutes": 0,
    "items": 300,
    "replays": 50,
    "saturated_requests": 8,
}


class Command(BaseCommand):
    help = (
        "Start a Tributary stack of its own (a scratch database on the configured "
        "PostgreSQL and Redis, or --embedded), run the scenarios, print a table."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--embedded",
            action="store_true",
            help="Measure the embedded default (SQLite, one process).",
        )
        parser.add_argument("--quick", action="store_true", help="Small sizes: about a minute.")
        parser.add_argument("--json", dest="json_path", help="Also write the results here.")
        parser.add_argument("--workers", type=int, default=4, help="Celery worker processes.")
        parser.add_argument(
            "--web-processes", type=int, default=2, help="uvicorn processes (not in --embedded)."
        )
        for name, kind in (
            ("steps", int),
            ("repeats", int),
            ("fib-steps", int),
            ("seconds", float),
            ("connections", int),
            ("requests", int),
            ("changes", int),
            ("runs", int),
            ("cron-minutes", int),
            ("items", int),
            ("replays", int),
            ("saturated-requests", int),
        ):
            parser.add_argument(f"--{name}", type=kind, default=None)
        parser.add_argument(
            "--only",
            nargs="+",
            default=None,
            metavar="NAME",
            help="Run only the scenarios whose name contains one of these words "
            "(e.g. --only webhook).",
        )
        parser.add_argument(
            "--clients",
            type=int,
            nargs="+",
            default=None,
            help="Websocket client counts for the live-status scenario.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
        sizes = dict(QUICK if options["quick"] else FULL)
        for key in sizes:
            if options.get(key) is not None:
                sizes[key] = options[key]
        logs = Path(tempfile.mkdtemp(prefix="tributary-bench-logs-"))
        mode = "embedded" if options["embedded"] else "postgres+redis"
        self.stdout.write(f"Starting a {mode} stack (logs in {logs})…")
        try:
            stack = harness.start(
                embedded=options["embedded"],
                workers=options["workers"],
                web_processes=options["web_processes"],
                log_dir=logs,
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        try:
            rows = self._scenarios(stack, sizes, options["only"])
        except (RuntimeError, TimeoutError) as exc:
            raise CommandError(f"{exc} (logs in {logs})") from None
        finally:
            harness.stop(stack)
        self.stdout.write("\n" + table(rows) + "\n")
        if options["json_path"]:
            write_json(rows, Path(options["json_path"]), mode=mode, quick=options["quick"])
            self.stdout.write(f"Wrote {options['json_path']}")

    def _scenarios(
        self, stack: harness.Stack, sizes: dict[str, Any], only: list[str] | None
    ) -> list[Row]:
        idle = throughput.measure_memory(stack)
        busy: dict[str, float] = {}
        runners: dict[str, float] = {}
        steps: list[tuple[str, Any]] = [
            (
                "per-step overhead",
                lambda: overhead.per_step(stack, steps=sizes["steps"], repeats=sizes["repeats"]),
            ),
            (
                "for-each",
                lambda: foreach.per_item(
                    stack, items=sizes["items"], per_step=_median_of(rows, "1. Per-step overhead")
                ),
            ),
            (
                "code steps",
                lambda: self._sampled(
                    stack,
                    runners,
                    lambda: overhead.code_steps(
                        stack,
                        steps=sizes["steps"],
                        repeats=sizes["repeats"],
                        fib_steps=sizes["fib_steps"],
                    ),
                ),
            ),
            (
                "container image",
                lambda: images.container_start(stack, repeats=sizes["repeats"]),
            ),
            ("webhook → result", lambda: webhooks.result(stack, requests=sizes["requests"])),
            (
                "live status",
                lambda: live.live_status(stack, clients=sizes["clients"], changes=sizes["changes"]),
            ),
            (
                "webhook accept",
                lambda: webhooks.accept(
                    stack, seconds=sizes["seconds"], connections=sizes["connections"]
                ),
            ),
            ("replay", lambda: replays.replay(stack, runs=sizes["replays"])),
            ("throughput", lambda: throughput.throughput(stack, runs=sizes["runs"], memory=busy)),
            # Last but cron: it swaps the stack's worker for pools and back.
            (
                "light flow, compute saturated",
                lambda: starvation.light_flow(stack, requests=sizes["saturated_requests"]),
            ),
        ]
        if sizes["cron_minutes"]:
            steps.append(
                (
                    "cron",
                    lambda: throughput.cron_delay(
                        stack, flows_count=5, minutes=sizes["cron_minutes"]
                    ),
                )
            )
        rows: list[Row] = []
        for name, scenario in steps:
            if only and not any(word in name for word in only):
                continue
            began = time.monotonic()
            self.stdout.write(f"  {name}…", ending="")
            self.stdout.flush()
            rows += scenario()
            self.stdout.write(f" {time.monotonic() - began:.1f} s")
        return rows + throughput.memory_rows(idle, busy, runners)

    @staticmethod
    def _sampled(stack: harness.Stack, peaks: dict[str, float], scenario: Any) -> list[Row]:
        with throughput.Sampling(stack, peaks):
            return list(scenario())


def _median_of(rows: list[Row], scenario: str) -> float | None:
    """The first figure of ``scenario`` measured so far (None if it was not)."""
    return next((row.median for row in rows if row.scenario == scenario), None)
