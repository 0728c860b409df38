"""The baselines, run inside a benchmark server process (so they use its broker, worker,
cache and channel layer: Redis, or the in-memory ones of the embedded default)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

from celery import chain
from channels.layers import get_channel_layer
from django.core.cache import cache

from runtime.benchmark.tasks import count, echo, finish, noop

FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"


def celery_chain(links: int) -> float:
    """Seconds for a chain of ``links`` no-op tasks, from dispatch to the last one run."""
    key = f"bench-chain-{uuid.uuid4()}"
    started = time.time()
    chain(*(noop.si() for _ in range(links - 1)), finish.si(key)).apply_async()
    return _wait_for(key) - started


def celery_roundtrips(count_: int) -> list[float]:
    """Seconds of ``echo.delay(i).get()``, one after another."""
    timings = []
    for index in range(count_):
        started = time.perf_counter()
        # Not inside a task, but the embedded worker shares this process and Celery cannot
        # tell: allow the blocking get explicitly.
        # interval: a polling result backend (the embedded one) would otherwise look 0.5 s
        # slow; Redis's pushes the result and ignores it.
        echo.delay(index).get(timeout=30, interval=0.001, disable_sync_subtasks=False)
        timings.append(time.perf_counter() - started)
    return timings


def celery_drain(tasks: int) -> float:
    """Seconds for the worker to run ``tasks`` no-op tasks queued at once."""
    key = f"bench-count-{uuid.uuid4()}"
    cache.set(key, 0, timeout=600)
    started = time.time()
    for _ in range(tasks):
        count.delay(key)
    deadline = time.time() + 600
    while int(cache.get(key) or 0) < tasks:
        if time.time() > deadline:
            raise TimeoutError("The worker did not drain the baseline tasks in 10 minutes.")
        time.sleep(0.005)
    return time.time() - started


def fib_subprocess(n: int) -> float:
    """Seconds for a plain Python subprocess to compute fib(n): the code step's baseline."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-S", "-c", f"{FIB}fib({n})"], check=True)  # noqa: S603 - fixed argv
    return time.perf_counter() - started


async def group_send_roundtrips(count_: int) -> list[float]:
    """Seconds from group_send to receive on the channel layer, with nothing else."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("bench-baseline", channel)
    timings = []
    try:
        for _ in range(count_):
            started = time.perf_counter()
            await layer.group_send("bench-baseline", {"type": "bench.ping"})
            await layer.receive(channel)
            timings.append(time.perf_counter() - started)
    finally:
        await layer.group_discard("bench-baseline", channel)
    return timings


def _wait_for(key: str, timeout: float = 120) -> float:
    deadline = time.time() + timeout
    while (value := cache.get(key)) is None:
        if time.time() > deadline:
            raise TimeoutError("The baseline chain did not finish.")
        time.sleep(0.001)
    return float(value)
