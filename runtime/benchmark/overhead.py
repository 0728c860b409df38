"""Scenarios 1 and 2: what a step costs beyond its work, beside a chain of bare Celery
tasks on the same broker and worker, and a code step beside a plain subprocess."""

from __future__ import annotations

from runtime.benchmark import flows
from runtime.benchmark.harness import Stack
from runtime.benchmark.report import Row, median, percentile


def per_step(stack: Stack, *, steps: int, repeats: int) -> list[Row]:
    flow = flows.publish(
        stack,
        "Benchmark: sequential transforms",
        flows.chain({"type": "trigger.manual"}, flows.transforms(steps)),
    )
    flows.run_once(stack, flow)  # warm the worker's caches: measure steady state
    ours = [flows.seconds(flows.run_once(stack, flow)) / steps * 1000 for _ in range(repeats)]
    bare = [
        stack.bench("baseline", {"name": "chain", "size": steps})["result"] / steps * 1000
        for _ in range(repeats)
    ]
    row = Row(
        "1. Per-step overhead",
        f"{steps} sequential no-op steps, per step",
        "ms",
        median(ours),
        percentile(ours, 0.95),
        median(bare),
        "bare Celery chain",
        target="≤ 10 ms and ≤ 2× bare",
    )
    row.met = row.median is not None and row.median <= 10 and (row.ratio or 0) <= 2
    stretch = Row(
        "1. Per-step overhead",
        "stretch",
        "ms",
        row.median,
        row.p95,
        row.baseline,
        row.baseline_name,
        target="≤ 1.5× bare",
    )
    stretch.met = (row.ratio or 99) <= 1.5
    return [row, stretch]


def code_steps(stack: Stack, *, steps: int, repeats: int, fib_steps: int) -> list[Row]:
    noop = flows.publish(
        stack,
        "Benchmark: sequential code steps",
        flows.chain({"type": "trigger.manual"}, flows.code_steps(steps, flows.NOOP_PYTHON)),
    )
    flows.run_once(stack, noop)  # start the sandbox pools
    ours = [flows.seconds(flows.run_once(stack, noop)) / steps * 1000 for _ in range(repeats)]
    bare = [
        stack.bench("baseline", {"name": "chain", "size": steps})["result"] / steps * 1000
        for _ in range(repeats)
    ]
    overhead = Row(
        "2. Code-step overhead",
        f"{steps} no-op code.python steps, per step",
        "ms",
        median(ours),
        percentile(ours, 0.95),
        median(bare),
        "bare Celery chain",
        target="≤ 15 ms",
    )
    overhead.met = overhead.median is not None and overhead.median <= 15
    fib = flows.publish(
        stack,
        "Benchmark: fib(27) code steps",
        flows.chain({"type": "trigger.manual"}, flows.code_steps(fib_steps, flows.FIB_PYTHON, 120)),
    )
    per_fib = flows.seconds(flows.run_once(stack, fib, timeout=900)) / fib_steps * 1000
    plain = [
        value * 1000
        for value in stack.bench("baseline", {"name": "fib", "size": 3, "n": 27})["result"]
    ]
    compute = Row(
        "2. Code-step overhead",
        f"{fib_steps} steps computing fib(27), per step",
        "ms",
        per_fib,
        None,
        median(plain),
        "plain python3 subprocess",
        note="the difference is the sandbox's cost on real work",
    )
    return [overhead, compute]
