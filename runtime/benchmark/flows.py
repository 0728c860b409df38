"""Build, publish and run benchmark flows through the public API, like any client."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

from runtime.benchmark.harness import Stack

NOOP_PYTHON = "def handler(event, context):\n    return None\n"
FIB_PYTHON = (
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n"
    "def handler(event, context):\n    return fib(27)\n"
)


def chain(trigger: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    nodes = [{"id": "start", **trigger}] + [{"id": f"s{i}", **step} for i, step in enumerate(steps)]
    ids = [node["id"] for node in nodes]
    return {
        "nodes": nodes,
        "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)],
    }


def transforms(count: int) -> list[dict[str, Any]]:
    return [{"type": "data.transform", "config": {"value": i}} for i in range(count)]


def code_steps(count: int, source: str, timeout: float = 60) -> list[dict[str, Any]]:
    return [
        {
            "type": "code.python",
            "config": {"source": source},
            "settings": {"timeout_seconds": timeout},
        }
        for _ in range(count)
    ]


def publish(stack: Stack, name: str, graph: dict[str, Any]) -> int:
    api = stack.api()
    created = api.post("/api/flows/", json={"name": name, "graph": graph})
    if created.status_code != 201:
        raise RuntimeError(f"Creating {name} failed: {created.text}")
    flow_id = int(created.json()["id"])
    published = api.post(f"/api/flows/{flow_id}/publish/", json={"version": 1})
    published.raise_for_status()
    return flow_id


def run_once(
    stack: Stack, flow_id: int, payload: Any = None, timeout: float = 300
) -> dict[str, Any]:
    """Start a run through the API, wait for it to finish and return it."""
    api = stack.api()
    response = api.post(f"/api/flows/{flow_id}/runs/", json={"input": payload or {}})
    response.raise_for_status()
    return wait_for_run(stack, int(response.json()["id"]), timeout=timeout)


def wait_for_run(stack: Stack, run_id: int, timeout: float = 300) -> dict[str, Any]:
    api = stack.api()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = dict(api.get(f"/api/runs/{run_id}/").json())
        if run["status"] in {"succeeded", "failed", "cancelled"}:
            if run["status"] != "succeeded":
                raise RuntimeError(f"Benchmark run #{run_id} {run['status']}: {run['error']}")
            return run
        # The figures come from the run's own timestamps, so polling slowly costs nothing in
        # accuracy and keeps the API's work from competing with the worker being measured.
        time.sleep(0.1)
    raise RuntimeError(f"Benchmark run #{run_id} did not finish in {timeout:.0f} s.")


def seconds(run: dict[str, Any]) -> float:
    """Created to finished, by the server's clock (what the engine spent, no HTTP)."""
    return _ts(run["finished_at"]) - _ts(run["created_at"])


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def hook_url(stack: Stack, flow_id: int) -> str:
    triggers = stack.api().get(f"/api/flows/{flow_id}/triggers/").json()
    return str(next(t["url"] for t in triggers if t.get("url")))
