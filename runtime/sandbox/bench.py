"""Per-execution latency, warm pool against cold start: ``python -m runtime.sandbox.bench``.

Prints medians (and the 90th percentile) of the wall time ``Sandbox.run`` takes for a
trivial handler, as the worker would see it. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from .api import Sandbox
from .config import SandboxConfig
from .types import Ending

SOURCES = {
    "python": "def handler(event, context):\n    return event['n'] + 1\n",
    "javascript": "export async function handler(event) { return event.n + 1; }",
}


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    result = run()
    elapsed = (time.perf_counter() - started) * 1000
    if getattr(result, "outcome", None) is not Ending.OK:
        raise SystemExit(f"benchmark execution failed: {result}")
    return elapsed


def _warm(sandbox: Sandbox, language: str, count: int, pause: float) -> list[float]:
    sandbox.run(language, SOURCES[language], {"n": 0}, {})  # start the pool
    times = []
    for n in range(count):
        time.sleep(pause)  # lets the Node pool refill in the background, as between steps
        times.append(_timed(partial(sandbox.run, language, SOURCES[language], {"n": n}, {})))
    return times


def _cold(config: SandboxConfig, language: str, count: int) -> list[float]:
    """Each execution on a sandbox started for it alone (what a pool saves)."""
    times = []
    for n in range(count):
        sandbox = Sandbox(replace(config, node_pool_size=0))
        try:
            times.append(_timed(partial(sandbox.run, language, SOURCES[language], {"n": n}, {})))
        finally:
            sandbox.close()
    return times


def _summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered):7.1f} ms   p90 {p90:7.1f} ms   (n={len(times)})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-bwrap", action="store_true", help="measure the fallback")
    args = parser.parse_args(argv)
    runner = Path(tempfile.mkdtemp(prefix="tributary-bench-"))
    runner.chmod(0o755)
    config = SandboxConfig(runner_dir=runner, bwrap="" if args.no_bwrap else "/usr/bin/bwrap")
    sandbox = Sandbox(config)
    out = sys.stdout
    out.write(f"bubblewrap: {bool(sandbox.bwrap)}  seccomp: {sandbox.use_seccomp}\n")
    try:
        for language in SOURCES:
            warm = _warm(sandbox, language, args.runs, 0.2 if language == "javascript" else 0)
            out.write(f"{language:10} warm pool  {_summary(warm)}\n")
            cold = _cold(config, language, max(args.runs // 3, 5))
            out.write(f"{language:10} cold start {_summary(cold)}\n")
    finally:
        sandbox.close()
        shutil.rmtree(runner, ignore_errors=True)


if __name__ == "__main__":
    main()
