"""Scenario 11: a light flow's webhook → result (wait mode) while the compute queue is
saturated with code steps, beside the same figure idle. First with the stack's one worker
serving every queue, where a code step holds the slot the light flow's transform needs;
then with a pool per kind of work (a compute worker, and a light and io worker: README,
"Queues and worker pools"). The embedded default is one process with one pool (its
in-memory broker reaches no other worker): it runs the first half and reports the second
as n/a."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from runtime.benchmark import flows, harness
from runtime.benchmark.harness import Stack
from runtime.benchmark.report import Row, median, percentile
from runtime.benchmark.webhooks import round_trips

SCENARIO = "11. Light flow, compute saturated"
SLEEP_SECONDS = 1.0
SLEEPER = f"import time\n\ndef handler(event, context):\n    time.sleep({SLEEP_SECONDS})\n"
COMPUTE_POOL = 2  # processes; about one per core, as the README advises
LIGHT_POOL = 2
POLL_SECONDS = 0.25


def light_flow(stack: Stack, *, requests: int) -> list[Row]:
    """``requests`` round trips of a webhook → two transforms flow, idle and then with the
    compute queue kept full, per worker layout; the stack's worker is as it was after."""
    light = flows.publish(
        stack,
        "Benchmark: light flow",
        flows.chain(
            {
                "type": "trigger.webhook",
                "config": {
                    "response_mode": "wait",
                    "wait_timeout_seconds": 30,
                },
            },
            [
                {"type": "data.transform", "config": {"value": 1}},
                {"type": "data.transform", "config": {"value": "{{ event.trigger.body.id }}"}},
            ],
        ),
    )
    heavy = flows.publish(
        stack,
        "Benchmark: compute backlog",
        flows.chain({"type": "trigger.manual"}, flows.code_steps(1, SLEEPER)),
    )
    url = flows.hook_url(stack, light)
    unit = "threads" if stack.embedded else "processes"
    shared = f"one worker for every queue ({stack.worker_slots} {unit})"
    rows = [_measure(stack, url, heavy, requests=requests, slots=stack.worker_slots, what=shared)]
    if stack.embedded:
        reason = "n/a: the embedded default is one process with one pool (in-memory broker)"
        rows.append(Row(SCENARIO, "compute saturated, a pool per queue", "ms", None, note=reason))
    else:
        rows.append(_with_pools(stack, url, heavy, requests=requests))
    return rows


def _with_pools(stack: Stack, url: str, heavy: int, *, requests: int) -> Row:
    """Swap the stack's worker for a compute pool and a light and io pool, measure, and
    put the worker back. The new processes start while the old ones stop (a warm shutdown
    takes seconds); nothing is queued meanwhile, so none of them is caught working."""
    harness.start_worker(stack, "compute", concurrency=COMPUTE_POOL, queues=("compute",))
    harness.start_worker(stack, "light", concurrency=LIGHT_POOL, queues=("light", "io"))
    harness.stop_processes(stack, "worker")
    try:
        pools = f"compute pool ({COMPUTE_POOL} processes), light and io pool ({LIGHT_POOL})"
        row = _measure(stack, url, heavy, requests=requests, slots=COMPUTE_POOL, what=pools)
    finally:
        harness.start_worker(stack, "worker", concurrency=stack.worker_slots)
        harness.stop_processes(stack, "compute", "light")
    round_trips(url, 1)  # the next scenario starts with the worker up
    return row


def _measure(stack: Stack, url: str, heavy: int, *, requests: int, slots: int, what: str) -> Row:
    round_trips(url, 1)  # warm, and proof that a (new) worker serves the light queue
    idle = round_trips(url, requests)
    with _Backlog(stack, heavy, slots=slots) as backlog:
        busy = round_trips(url, requests)
    p95 = percentile(idle, 0.95) or 0.0
    least, most = min(backlog.waiting), max(backlog.waiting)
    note = (
        f"idle p95 {p95:.1f} ms; {slots} code steps of {SLEEP_SECONDS:g} s running and "
        f"{least if least == most else f'{least}–{most}'} waiting on the compute queue "
        "throughout"
    )
    return Row(
        SCENARIO,
        f"compute saturated, {what}",
        "ms",
        median(busy),
        percentile(busy, 0.95),
        median(idle),
        "idle, same workers",
        note=note,
    )


class _Backlog:
    """``with _Backlog(stack, flow, slots=n):`` keeps ``3 n`` runs of ``flow`` (one
    sleeping code step) unfinished, starting more as they finish, so ``n`` run and about
    twice as many wait on the compute queue; entered once they do. On leaving, what is
    left is cancelled and the queue drained, so the next measurement starts idle."""

    def __init__(self, stack: Stack, flow: int, *, slots: int):
        self.stack, self.flow, self.slots = stack, flow, slots
        self.waiting: list[int] = []  # the compute queue's length at each top-up
        self._error: httpx.HTTPError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_full, daemon=True)

    def __enter__(self) -> _Backlog:
        deadline = time.monotonic() + 60
        state = self._poll(3 * self.slots)
        while state["running"] < self.slots or not state["waiting"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"The compute backlog did not fill its {self.slots} slots.")
            time.sleep(POLL_SECONDS)
            state = self._poll(3 * self.slots)
        self.waiting.append(state["waiting"])
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._drain()
        if self._error is not None:
            raise RuntimeError(f"Keeping the compute backlog full failed: {self._error}")

    def _keep_full(self) -> None:
        try:
            while not self._stop.wait(POLL_SECONDS):
                self.waiting.append(self._poll(3 * self.slots)["waiting"])
        except httpx.HTTPError as exc:
            self._error = exc

    def _drain(self, timeout: float = 60) -> None:
        api = self.stack.api()
        for run in self._poll(0)["unfinished"]:
            api.post(f"/api/runs/{run}/cancel/")  # refused if it finished meanwhile: fine
        deadline = time.monotonic() + timeout
        while True:
            state = self._poll(0)
            if not state["unfinished"] and not state["waiting"]:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"The cancelled compute backlog did not drain: {state}")
            time.sleep(POLL_SECONDS)
        # A cancelled code step's sandbox is stopped at its step's next heartbeat, or its
        # sleep ends first: either way its slot is free after this.
        time.sleep(SLEEP_SECONDS)

    def _poll(self, depth: int) -> dict[str, Any]:
        return self.stack.bench("backlog", {"flow": self.flow, "depth": depth, "queue": "compute"})
