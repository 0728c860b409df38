"""Scenarios 3 and 4: webhooks under load (accept mode, the run committed before the 202)
beside a bare Django view, and webhook → result (wait mode) beside `.delay().get()`."""

from __future__ import annotations

import time

import httpx

from runtime.benchmark import flows
from runtime.benchmark.harness import Stack
from runtime.benchmark.load import BODY, post_load
from runtime.benchmark.report import Row, median, percentile


def accept(stack: Stack, *, seconds: float, connections: int) -> list[Row]:
    flow = flows.publish(
        stack,
        "Benchmark: webhook accept",
        # The default configuration: no rate limit, so no Redis round trip per request.
        flows.chain({"type": "trigger.webhook", "config": {}}, flows.transforms(1)),
    )
    url = flows.hook_url(stack, flow)
    bare = post_load(f"{stack.url}/bench/accept/", connections=connections, seconds=seconds)
    ours = post_load(url, connections=connections, seconds=seconds)
    recorded = _drain(stack, flow)
    accepted = ours.requests - ours.failures
    # wrk stops counting at the deadline while up to one request per connection is still in
    # flight: those runs are recorded but not counted as accepted.
    if not accepted <= recorded <= accepted + connections:
        raise RuntimeError(f"{accepted} webhooks were accepted but {recorded} runs were recorded.")
    note = (
        f"{connections} connections for {ours.seconds:g} s with {ours.tool}; every "
        f"accepted request's run was recorded ({recorded}); {ours.failures} failed"
    )
    throughput = Row(
        "3. Webhook accept",
        "throughput",
        "req/s",
        ours.per_second,
        None,
        bare.per_second,
        "bare Django 202 view",
        target="≥ 1,000 req/s",
        note=note,
    )
    throughput.met = ours.per_second >= 1000
    latency = Row(
        "3. Webhook accept",
        "latency p50 (p99 in p95 column)",
        "ms",
        ours.p50_ms,
        ours.p99_ms,
        bare.p50_ms,
        "bare Django 202 view",
        target="p99 ≤ 50 ms",
    )
    latency.met = ours.p99_ms is not None and ours.p99_ms <= 50
    stretch = Row(
        "3. Webhook accept",
        "stretch",
        "req/s",
        ours.per_second,
        None,
        bare.per_second,
        "bare Django 202 view",
        target="≥ 2,500 req/s",
    )
    stretch.met = ours.per_second >= 2500
    return [throughput, latency, stretch]


def result(stack: Stack, *, requests: int) -> list[Row]:
    flow = flows.publish(
        stack,
        "Benchmark: webhook wait",
        flows.chain(
            {
                "type": "trigger.webhook",
                "config": {"response_mode": "wait"},
            },
            [{"type": "data.transform", "config": {"value": "{{ event.trigger.body.id }}"}}],
        ),
    )
    url = flows.hook_url(stack, flow)
    round_trips(url, 1)  # warm
    latencies = round_trips(url, requests)
    bare = [
        v * 1000 for v in stack.bench("baseline", {"name": "roundtrip", "size": requests})["result"]
    ]
    row = Row(
        "4. Webhook → result",
        f"{requests} requests, one after another",
        "ms",
        median(latencies),
        percentile(latencies, 0.99),
        median(bare),
        "bare Celery .delay().get()",
        target="p50 ≤ 25 ms",
        note="p95 column shows p99",
    )
    row.met = row.median is not None and row.median <= 25
    return [row]


def round_trips(url: str, requests: int) -> list[float]:
    """Post ``requests`` webhooks to a wait-mode flow answering the body's id, one after
    another; each one's milliseconds from request to the flow's result."""
    latencies = []
    with httpx.Client(timeout=60) as client:
        for _ in range(requests):
            started = time.perf_counter()
            response = client.post(url, content=BODY, headers={"Content-Type": "application/json"})
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or response.json() != 1001:
                raise RuntimeError(
                    f"Wait mode answered {response.status_code}: {response.text[:200]}"
                )
    return latencies


def _drain(stack: Stack, flow: int, timeout: float = 600) -> int:
    """Wait until every run the load started has finished; returns how many there are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = stack.bench("stats", {"flow": flow})
        if stats["unfinished"] == 0:
            return int(stats["runs"])
        time.sleep(0.5)
    raise RuntimeError("The webhook runs did not finish within 10 minutes.")
