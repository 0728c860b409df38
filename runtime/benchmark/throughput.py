"""Scenarios 6, 7 and 8: many runs queued at once (completed steps per second) beside the
same worker draining bare tasks; cron fire delay; resident memory of every process."""

from __future__ import annotations

import threading
import time

from runtime.benchmark import flows
from runtime.benchmark.harness import Stack, rss_megabytes
from runtime.benchmark.report import Row, median, percentile

STEPS = 3


def throughput(stack: Stack, *, runs: int, memory: dict[str, float]) -> list[Row]:
    flow = flows.publish(
        stack,
        "Benchmark: throughput",
        flows.chain({"type": "trigger.manual"}, flows.transforms(STEPS)),
    )
    sampler = _Sampler(stack, memory)
    sampler.start()
    try:
        stack.bench("start-runs", {"flow": flow, "n": runs})
        stats = _finished(stack, flow, runs)
    finally:
        sampler.stop()
    if stats["succeeded"] != runs:
        raise RuntimeError(f"{stats['succeeded']} of {runs} throughput runs succeeded.")
    ours = runs * STEPS / (stats["last_finished"] - stats["first_created"])
    bare = runs * STEPS / stack.bench("baseline", {"name": "drain", "size": runs * STEPS})["result"]
    row = Row(
        "6. Throughput",
        f"{runs} runs × {STEPS} steps queued at once",
        "steps/s",
        ours,
        None,
        bare,
        "bare Celery, same worker",
        target="≥ 300 steps/s and ≥ 0.6× bare",
    )
    row.met = ours >= 300 and (row.ratio or 0) >= 0.6
    return [row]


def _finished(stack: Stack, flow: int, runs: int, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = stack.bench("stats", {"flow": flow})
        if stats["runs"] >= runs and stats["unfinished"] == 0:
            return stats
        time.sleep(0.25)
    raise RuntimeError(f"{runs} runs did not finish within {timeout:.0f} s.")


def cron_delay(stack: Stack, *, flows_count: int, minutes: int) -> list[Row]:
    ids = [
        flows.publish(
            stack,
            f"Benchmark: cron {i}",
            flows.chain(
                {"type": "trigger.cron", "config": {"expression": "* * * * *"}}, flows.transforms(1)
            ),
        )
        for i in range(flows_count)
    ]
    time.sleep(minutes * 60 + 5)
    delays = [d * 1000 for flow in ids for d in stack.bench("stats", {"flow": flow})["cron_delays"]]
    row = Row(
        "7. Scheduler",
        f"cron fire delay, {len(delays)} fires over {minutes} min",
        "ms",
        median(delays),
        percentile(delays, 0.99),
        target="p99 ≤ 1 s",
        note="p95 column shows p99",
    )
    p99 = percentile(delays, 0.99)
    row.met = p99 is not None and p99 <= 1000
    return [row]


def memory_rows(
    idle: dict[str, float], busy: dict[str, float], runners: dict[str, float]
) -> list[Row]:
    """Idle and peak RSS per process group. Scenario 6 runs no code, so the code-step
    runners' peak is taken while scenario 2 runs them."""
    rows = []
    for name in sorted(idle):
        runner = name == "runner"
        rows.append(
            Row(
                "8. Memory",
                f"{name} RSS, idle (busy in p95 column)",
                "MiB",
                idle.get(name),
                (runners if runner else busy).get(name),
                note="busy: while scenario 2 runs code steps" if runner else "",
            )
        )
    return rows


class Sampling:
    """``with Sampling(stack, peaks):`` keeps each group's highest RSS in ``peaks``."""

    def __init__(self, stack: Stack, peaks: dict[str, float]):
        self.sampler = _Sampler(stack, peaks)

    def __enter__(self) -> None:
        self.sampler.start()

    def __exit__(self, *exc: object) -> None:
        self.sampler.stop()


def measure_memory(stack: Stack) -> dict[str, float]:
    return {name: rss_megabytes(pids) for name, pids in stack.pids().items()}


class _Sampler:
    """Keeps the highest RSS of each process group while a scenario runs."""

    def __init__(self, stack: Stack, peaks: dict[str, float]):
        self.stack, self.peaks = stack, peaks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for name, value in measure_memory(self.stack).items():
                self.peaks[name] = max(self.peaks.get(name, 0.0), value)
