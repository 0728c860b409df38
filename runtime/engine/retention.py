"""Delete finished runs older than the retention period, in small batches: each batch is a
short transaction over at most BATCH runs (and their steps), so pruning a backlog never
holds locks that stall running flows."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from runtime.engine.status import RUN_FINISHED
from runtime.models import Run, StepRun

logger = logging.getLogger(__name__)
BATCH = 1000


def prune_runs(
    *,
    days: int | None = None,
    batch: int = BATCH,
    max_batches: int | None = None,
    pause: float = 0.05,
) -> int:
    """Delete finished runs created more than ``days`` days ago (the setting by default;
    0 keeps everything). Returns how many runs were deleted."""
    days = settings.TRIBUTARY_RUN_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        ids = list(
            Run.objects.filter(created_at__lt=cutoff, status__in=RUN_FINISHED)
            .order_by("id")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        with transaction.atomic():
            StepRun.objects.filter(run_id__in=ids).delete()
            Run.objects.filter(pk__in=ids).only("pk").delete()
        deleted += len(ids)
        batches += 1
        time.sleep(pause)  # let other transactions in between batches
    if deleted:
        logger.info("Pruned %d runs older than %d days", deleted, days)
    return deleted


def prune_some() -> int:
    """The scheduler's hourly pass: a bounded amount of work, the rest next time."""
    return prune_runs(max_batches=20)
