"""Scenario: a container-image step's cold start (the first run on a worker: fetch the blobs
from the database, unpack, run) and warm start (from the cache), beside a no-op
``code.python`` step and a plain bubblewrap run of the same root filesystem.

The image (a static busybox and a shell entrypoint) is built here with umoci and registered
through the API, as a user would upload it."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from runtime.benchmark import flows
from runtime.benchmark.harness import Stack
from runtime.benchmark.report import Row, median, percentile

ENTRYPOINT = "#!/bin/sh\ncat >/dev/null\necho '{\"ok\": true}'\n"
SCENARIO = "9. Container-image step"


def container_start(stack: Stack, *, repeats: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-image-") as work:
        archive = _build_archive(Path(work))
        digest = _register(stack, archive)
    image = flows.publish(
        stack,
        "Benchmark: container step",
        flows.chain(
            {"type": "trigger.manual"},
            [{"type": "code.container", "config": {"image": "bench-echo"}}],
        ),
    )
    cold = _step_ms(flows.run_once(stack, image))
    warm = [_step_ms(flows.run_once(stack, image)) for _ in range(repeats)]
    python = flows.publish(
        stack,
        "Benchmark: one code step",
        flows.chain({"type": "trigger.manual"}, flows.code_steps(1, flows.NOOP_PYTHON)),
    )
    flows.run_once(stack, python)  # start the sandbox pool
    code = [_step_ms(flows.run_once(stack, python)) for _ in range(repeats)]
    rootfs = Path(stack.env["TRIBUTARY_DATA_DIR"]) / "images" / digest.split(":", 1)[1] / "rootfs"
    plain = [_bwrap_ms(rootfs) for _ in range(repeats)]
    note = "step duration as recorded (fetch, unpack and sandbox included)"
    return [
        Row(SCENARIO, "cold: first run on a worker", "ms", cold, None, median(plain),
            "plain bwrap of the rootfs", note=note),
        Row(SCENARIO, "warm: from the worker's cache", "ms", median(warm), percentile(warm, 0.95),
            median(plain), "plain bwrap of the rootfs"),
        Row(SCENARIO, "no-op code.python step, same run", "ms", median(code),
            percentile(code, 0.95), median(warm), "warm container step"),
    ]  # fmt: skip


def _build_archive(work: Path) -> Path:
    root = work / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "app").mkdir()
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    for applet in ("sh", "cat", "echo"):
        (root / "bin" / applet).symlink_to("busybox")
    (root / "app" / "run").write_text(ENTRYPOINT)
    (root / "app" / "run").chmod(0o755)
    layout = f"{work / 'layout'}:bench"
    _tool("umoci", "init", "--layout", str(work / "layout"))
    _tool("umoci", "new", "--image", layout)
    _tool("umoci", "insert", "--image", layout, str(root), "/")
    _tool("umoci", "config", "--image", layout, "--config.entrypoint", "/app/run")
    archive = work / "image.tar"
    _tool("skopeo", "copy", "--quiet", f"oci:{layout}", f"oci-archive:{archive}")
    return archive


def _tool(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed while building the benchmark image: {done.stderr}")


def _register(stack: Stack, archive: Path) -> str:
    api = stack.api()
    workspace = api.get("/api/workspaces/").json()[0]["id"]
    with archive.open("rb") as handle:
        response = api.post(
            "/api/images/upload/",
            data={"workspace": str(workspace), "name": "bench-echo"},
            files={"archive": ("image.tar", handle, "application/x-tar")},
        )
    if response.status_code != 201:
        raise RuntimeError(f"Registering the benchmark image failed: {response.text}")
    return str(response.json()["digest"])


def _step_ms(run: dict[str, Any]) -> float:
    [step] = [step for step in run["steps"] if step["node_id"] != "start"]
    return float(step["duration_seconds"]) * 1000


def _bwrap_ms(rootfs: Path) -> float:
    """The same root, read-only under bubblewrap's namespaces, running the entrypoint."""
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
    argv += ["--ro-bind", str(rootfs), "/", "--proc", "/proc", "--dev", "/dev"]
    argv += ["--tmpfs", "/tmp", "--setenv", "PATH", "/bin", "--", "/app/run"]  # noqa: S108
    started = time.perf_counter()
    done = subprocess.run(argv, input=json.dumps({}).encode(), capture_output=True, check=False)  # noqa: S603
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"The plain bwrap run failed: {done.stderr.decode()}")
    return elapsed
