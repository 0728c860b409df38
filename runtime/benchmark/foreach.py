"""Scenario 1b: what one for-each item costs — a child run with one no-op step, started
by the engine as a sibling finishes — beside scenario 1's per-step overhead."""

from __future__ import annotations

from runtime.benchmark import flows
from runtime.benchmark.harness import Stack
from runtime.benchmark.report import Row

CONCURRENCY = 20


def per_item(stack: Stack, *, items: int, per_step: float | None) -> list[Row]:
    """Run a loop over ``items`` items (concurrency 20, one no-op body step) and report its
    wall time per item, created to finished, against ``per_step`` (ms, scenario 1)."""
    graph = {
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "loop",
                "type": "flow.foreach",
                "config": {"items": "{{ event.trigger.items }}", "concurrency": CONCURRENCY},
            },
            {"id": "noop", "type": "data.transform", "config": {"value": 1}, "parent": "loop"},
        ],
        "edges": [{"source": "start", "target": "loop"}],
    }
    flow = flows.publish(stack, "Benchmark: for-each", graph)
    flows.run_once(stack, flow, {"items": list(range(CONCURRENCY))})  # warm the workers
    run = flows.run_once(stack, flow, {"items": list(range(items))}, timeout=1800)
    ours = flows.seconds(run) / items * 1000
    row = Row(
        "1b. For-each per item",
        f"{items:,} items, {CONCURRENCY} at once, one no-op body step, per item",
        "ms",
        ours,
        None,
        per_step,
        "scenario 1 per step",
        target="≤ 1.5× per step",
    )
    row.met = row.ratio is not None and row.ratio <= 1.5
    return [row]
