"""Delete finished runs older than the retention period, in batches."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from runtime.engine.retention import BATCH, prune_runs


class Command(BaseCommand):
    help = "Delete finished runs older than TRIBUTARY_RUN_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days (default "
            f"{settings.TRIBUTARY_RUN_RETENTION_DAYS}; 0 keeps all).",
        )
        parser.add_argument("--batch", type=int, default=BATCH, help="Runs per transaction.")

    def handle(self, *args: Any, days: int | None, batch: int, **options: Any) -> None:
        deleted = prune_runs(days=days, batch=batch)
        self.stdout.write(f"Deleted {deleted} run(s).")
