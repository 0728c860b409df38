"""Run a flow's tests against a version, in replay mode, and exit non-zero when one fails:
the gate a team puts in its own deploy pipeline."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from designer.models import Flow, FlowVersion
from runtime.replay import flowtests

EXIT_FAILED = 1
EXIT_UNFINISHED = 3


class Command(BaseCommand):
    help = (
        "Replay a flow's tests against a version (default: the latest saved) and report "
        "each case. Exit status: 0 all passed, 1 a test failed, 3 they did not finish."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        # --version names the flow's version here: it replaces Django's own --version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("flow", help="The flow's id or exact name.")
        parser.add_argument("--version", type=int, dest="number", help="Version number.")
        parser.add_argument(
            "--timeout", type=float, default=600, help="Seconds to wait for the replays."
        )

    def handle(self, *args: Any, flow: str, number: int | None, timeout: float, **_: Any) -> None:
        found = _flow(flow)
        versions = FlowVersion.objects.filter(flow=found)
        version = (
            versions.filter(number=number).first()
            if number is not None
            else versions.order_by("-number").first()
        )
        if version is None:
            raise CommandError(f"{found.name!r} has no version {number or ''}to test.".strip())
        if settings.EMBEDDED:
            # The embedded broker lives in this process: so must the worker.
            from runtime.engine.embedded import start_worker

            start_worker()
        if flowtests.tests_start(flow=found, version=version, user=None) is None:
            raise CommandError(f"{found.name!r} has no tests: save a run as a test first.")
        self.stdout.write(f"Testing {found.name!r} version {version.number}…")
        verdict = flowtests.verdict(version)
        deadline = time.monotonic() + timeout
        while verdict.state == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            verdict = flowtests.verdict(version)
        for case in verdict.cases:
            self.stdout.write(f"  {case.state.upper():7} {case.name}")
            for failure in case.failures:
                self.stdout.write(f"          {failure['node']}: {failure['message']}")
        passed = sum(case.state == "passed" for case in verdict.cases)
        self.stdout.write(f"{passed} of {len(verdict.cases)} passed.")
        if verdict.state == "running":
            self.stderr.write(f"The tests did not finish in {timeout:g} s: is a worker running?")
            raise SystemExit(EXIT_UNFINISHED)
        if verdict.state == "failed":
            raise SystemExit(EXIT_FAILED)


def _flow(given: str) -> Flow:
    flows = Flow.objects.filter(archived_at__isnull=True)
    found = flows.filter(pk=int(given)).first() if given.isdigit() else None
    found = found or flows.filter(name=given).first()
    if found is None:
        raise CommandError(f"There is no flow {given!r} (give its id or exact name).")
    return found
