"""HTTP load: wrk when it is installed (light enough not to steal the server's CPU), else
an asyncio client. Both keep a fixed number of connections busy for a duration."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BODY = '{"id": 1001, "email": "ada@example.com", "items": [{"name": "Mug", "quantity": 2}]}'
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Load:
    requests: int = 0
    failures: int = 0  # responses outside 2xx, and socket errors
    seconds: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    tool: str = ""
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def post_load(url: str, *, connections: int, seconds: float) -> Load:
    wrk = shutil.which("wrk")
    if wrk:
        return _wrk(wrk, url, connections, seconds)
    return asyncio.run(_python(url, connections, seconds))


def _wrk(wrk: str, url: str, connections: int, seconds: float) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f'wrk.method = "POST"\nwrk.body = [[{BODY}]]\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    try:
        output = subprocess.run(  # noqa: S603 - fixed argv, wrk found on PATH
            [
                wrk,
                "-t2",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink()
    load = Load(tool="wrk", seconds=max(1, round(seconds)))
    load.requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    load.failures = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in errors.groups()) if errors else 0
    )
    load.p50_ms = _latency(output, "50%")
    load.p99_ms = _latency(output, "99%")
    return load


def _latency(output: str, label: str) -> float | None:
    match = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    return float(match.group(1)) * UNITS[match.group(2)] if match else None


async def _python(url: str, connections: int, seconds: float) -> Load:
    load = Load(tool="python")
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await client.post(
                    url, content=BODY, headers={"Content-Type": "application/json"}
                )
                ok = 200 <= response.status_code < 300
            except httpx.HTTPError:
                ok = False
            load.latencies.append((time.perf_counter() - started) * 1000)
            load.requests += 1
            load.failures += 0 if ok else 1

    began = time.monotonic()
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    load.seconds = time.monotonic() - began
    ordered = sorted(load.latencies)
    if ordered:
        load.p50_ms = ordered[len(ordered) // 2]
        load.p99_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return load
