"""Bare Celery tasks for the baselines: what the same broker and worker do with no
Tributary in between."""

from __future__ import annotations

import time

from celery import shared_task
from django.core.cache import cache


@shared_task(name="bench.noop", ignore_result=True)
def noop() -> None:
    return None


@shared_task(name="bench.finish", ignore_result=True)
def finish(key: str) -> None:
    """The last link of a chain: records when it ran (the dispatcher measures to it)."""
    cache.set(key, time.time(), timeout=600)


@shared_task(name="bench.count", ignore_result=True)
def count(key: str) -> None:
    cache.incr(key)


@shared_task(name="bench.echo", ignore_result=False)
def echo(value: int) -> int:
    return value
