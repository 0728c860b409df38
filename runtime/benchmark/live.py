"""Scenario 5: from a step change being committed to the websocket frame arriving, at 1
and at many connected browsers, beside a raw channel-layer group_send round trip."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from runtime.benchmark import flows
from runtime.benchmark.harness import PASSWORD, Stack
from runtime.benchmark.report import Row, median, percentile


def live_status(stack: Stack, *, clients: list[int], changes: int) -> list[Row]:
    flow = flows.publish(
        stack,
        "Benchmark: live status",
        flows.chain(
            {"type": "trigger.manual"}, [{"type": "flow.delay", "config": {"seconds": 3600}}]
        ),
    )
    started = stack.api().post(f"/api/flows/{flow}/runs/", json={"input": {}})
    run_id = int(started.json()["id"])
    cookie = _session_cookie(stack)
    bare = [
        v * 1000 for v in stack.bench("baseline", {"name": "group_send", "size": changes})["result"]
    ]
    rows = []
    try:
        for count in clients:
            latencies = asyncio.run(_measure(stack, run_id, cookie, count, changes))
            row = Row(
                "5. Live status",
                f"commit → frame, {count} client(s)",
                "ms",
                median(latencies),
                percentile(latencies, 0.95),
                median(bare),
                "raw group_send round trip",
                target="p50 ≤ 15 ms" if count >= 100 else "",
            )
            if count >= 100:
                row.met = row.median is not None and row.median <= 15
            rows.append(row)
    finally:
        stack.api().post(f"/api/runs/{run_id}/cancel/")
    return rows


def _session_cookie(stack: Stack) -> str:
    with httpx.Client(base_url=stack.url) as browser:
        page = browser.get("/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        browser.post(
            "/login/",
            data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        )
        return f"sessionid={browser.cookies['sessionid']}"


async def _measure(stack: Stack, run_id: int, cookie: str, count: int, changes: int) -> list[float]:
    url = stack.url.replace("http", "ws") + f"/ws/runs/{run_id}/"
    headers = {"Cookie": cookie, "Origin": stack.url}
    sockets = [await connect(url, additional_headers=headers, max_size=None) for _ in range(count)]
    try:
        snapshots = [json.loads(await socket.recv()) for socket in sockets]
        step_id = next(s["id"] for s in snapshots[0]["steps"] if s["node_id"] == "s0")
        arrivals: asyncio.Queue[float] = asyncio.Queue()
        readers = [asyncio.create_task(_read(socket, arrivals)) for socket in sockets]
        latencies = []
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(changes):
                response = await client.post(
                    f"{stack.url}/bench/touch/",
                    json={"step": step_id},
                    headers={"X-Bench-Key": stack.bench_key},
                )
                committed = float(response.json()["committed_at"])
                for _ in range(count):
                    arrived = await asyncio.wait_for(arrivals.get(), 30)
                    latencies.append((arrived - committed) * 1000)
        for reader in readers:
            reader.cancel()
        return latencies
    finally:
        for socket in sockets:
            await socket.close()


async def _read(socket: ClientConnection, arrivals: asyncio.Queue[float]) -> None:
    async for message in socket:
        received = time.time()
        data: dict[str, Any] = json.loads(message)
        if data.get("type") == "step.changed":
            arrivals.put_nowait(received)
