"""code.container: run a registered container image with the step's input on stdin.

The image's entrypoint gets the event as JSON on stdin; what it writes to stdout is the
output (JSON when it parses, text otherwise); stderr lines are the step's logs, live; a
non-zero exit status fails the step. It runs read-only under the code steps' sandbox
(runtime.sandbox.container), from this worker's cache (runtime.images.cache).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from designer.graph import Graph, Node, Problem
from runtime.images import cache, pinning
from runtime.kinds.contract import StepContext, StepError, StepKind, StepOutput, template
from runtime.models import ContainerImage
from runtime.sandbox import Limits
from runtime.sandbox.container import (
    DEFAULT_PATH,
    ContainerResult,
    ContainerSpec,
    Outcome,
    run_container,
)
from runtime.sandbox.launch import SANDBOX_UID
from runtime.sandbox.types import SandboxError
from runtime.tracing import spans

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"
RESERVED_ENV = re.compile(r"^TRIBUTARY_")
MAX_ARGS = 64


class ContainerFunction(StepKind):
    type = pinning.STEP_TYPE
    queue = "compute"
    effects = True
    label = "Container image"
    description = (
        "Run a registered image: the event is JSON on stdin, stdout is the output, stderr "
        "the logs, the exit status decides."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["image"],
        "properties": {
            "image": {
                "type": "string",
                "title": "Image",
                "pattern": "^[a-z0-9][a-z0-9._-]{0,99}$",
                "x-widget": "image",
                "description": "A name registered on the Images page.",
            },
            "digest": {
                "type": "string",
                "title": "Digest",
                "pattern": "^sha256:[0-9a-f]{64}$",
                "readOnly": True,
                "description": "Recorded when the version is saved: this version always runs it.",
            },
            "args": {
                "type": "array",
                "title": "Arguments",
                "maxItems": MAX_ARGS,
                "items": template("Argument", maxLength=4096),
                "description": "Replace the image's CMD (after its ENTRYPOINT); templates.",
            },
            "env": {
                "type": "object",
                "title": "Environment",
                "x-widget": "keyvalue",
                "propertyNames": {"pattern": ENV_NAME},
                "additionalProperties": template("Value", maxLength=8192),
                "description": "Templates; {{ secrets.NAME }} is allowed and redacted.",
            },
            "effects": {
                "type": "boolean",
                "title": "Acts on the outside world",
                "default": False,
                "description": "A replay does not run an image that does: it reuses what "
                "the replayed run recorded.",
            },
            "memory_mb": {
                "type": "integer",
                "title": "Memory (MB)",
                "minimum": 32,
                "maximum": 8192,
                "default": 512,
            },
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        for name in node.config.get("env", {}):
            if RESERVED_ENV.match(name):
                yield Problem(
                    f"{name}: names starting with TRIBUTARY_ are set by Tributary.",
                    node=node.id,
                    field=f"config.env.{name}",
                )

    def check_in_workspace(
        self, nodes: Sequence[Node], graph: Graph, *, workspace_id: int, flow_id: int | None
    ) -> Iterable[Problem]:
        return pinning.image_problems(nodes, workspace_id)

    def rehearse(self, ctx: StepContext) -> bool:
        if not ctx.config.get("effects", False):
            return False  # offline and read-only: it runs for real in a replay
        image = _image(ctx)
        ctx.input = {"image": f"{image.name}@{image.digest}", "stdin": ctx.event_data()}
        return True

    def run(self, ctx: StepContext) -> StepOutput:
        image = _image(ctx)
        event = ctx.event_data()
        ctx.input = {"image": f"{image.name}@{image.digest}", "stdin": event}
        spec_env = _environment(ctx, image)
        argv = _argv(ctx, image)
        timeout = max(0.1, min(ctx.node.settings.timeout_seconds, ctx.remaining()))
        limits = Limits(
            timeout_seconds=timeout,
            cpu_seconds=max(1, int(timeout) + 1),
            memory_mb=int(ctx.config.get("memory_mb", 512)),
        )
        stdin = json.dumps(event, ensure_ascii=False, allow_nan=False).encode()
        attributes = {"tributary.container.image": f"{image.name}@{image.digest}"}
        with spans.child_span("container.execute", "internal", attributes) as span:
            try:
                with cache.rootfs(image.digest, image.blobs) as root:
                    user = _user_id(root, str(image.config.get("user", "")))
                    spec = ContainerSpec(
                        rootfs=root,
                        argv=argv,
                        env=spec_env,
                        working_dir=_working_dir(root, image.config.get("working_dir", "")),
                        uid=user,
                        gid=user,
                    )
                    result = run_container(
                        spec, stdin, limits, on_log=ctx.on_log, cancelled=ctx.cancelled
                    )
            except cache.ImageUnavailable as exc:
                raise StepError(f"Image {image.name!r}: {exc}", retryable=False) from exc
            except SandboxError as exc:
                raise StepError(str(exc), retryable=False) from exc
            span.set("tributary.container.outcome", str(result.outcome))
        ctx.logs.extend(result.logs.splitlines())
        if result.ok:
            return StepOutput(result.output)
        raise _failure(result, limits, ctx.node.settings.timeout_seconds)


def _image(ctx: StepContext) -> ContainerImage:
    digest = ctx.config.get("digest")
    name = ctx.config.get("image")
    if not digest:
        raise StepError(
            f"This version has no digest recorded for image {name!r}: save the flow again.",
            retryable=False,
        )
    # One query: the image of this digest in the workspace of the run's flow.
    image = (
        ContainerImage.objects.filter(
            workspace__flows=ctx.info["flow_id"],
            digest=digest,
            status=ContainerImage.Status.READY,
        )
        .order_by("-created_at")
        .first()
    )
    if image is None:
        raise StepError(
            f"The image {name!r} ({digest}) is no longer registered in this workspace.",
            retryable=False,
        )
    return image


def _argv(ctx: StepContext, image: ContainerImage) -> list[str]:
    entrypoint = list(image.config.get("entrypoint") or [])
    args = ctx.config.get("args")
    command = [ctx.render(arg) for arg in args] if args else list(image.config.get("cmd") or [])
    argv = entrypoint + command
    if not argv:
        raise StepError(f"The image {image.name!r} has no entrypoint or command.", retryable=False)
    return argv


def _environment(ctx: StepContext, image: ContainerImage) -> dict[str, str]:
    env: dict[str, str] = {"PATH": DEFAULT_PATH, "HOME": "/tmp"}  # noqa: S108 - the sandbox's
    for entry in image.config.get("env") or []:
        name, sep, value = str(entry).partition("=")
        if sep and name:
            env[name] = value
    for name, value in (ctx.config.get("env") or {}).items():
        env[name] = ctx.render(value)
    info: Mapping[str, Any] = ctx.info
    env |= {
        "TRIBUTARY_RUN_ID": str(info["run_id"]),
        "TRIBUTARY_NODE_ID": str(info["node_id"]),
        "TRIBUTARY_ATTEMPT": str(info["attempt"]),
        "TRIBUTARY_IDEMPOTENCY_KEY": ctx.idempotency_key,
    }
    return env


def _working_dir(root: Path, working_dir: str) -> str:
    path = "/" + working_dir.strip("/")
    return path if (root / path.lstrip("/")).is_dir() else "/"


def _user_id(root: Path, user: str) -> int:
    """The image's USER as a uid inside the sandbox; root (or none) runs as 65534: the
    sandbox never has a root user, mapped or not."""
    name = user.partition(":")[0]
    if name.isdigit():
        uid = int(name)
        return uid if uid > 0 else SANDBOX_UID
    if not name or name == "root":
        return SANDBOX_UID
    passwd = root / "etc" / "passwd"
    try:
        for line in passwd.read_text(errors="replace").splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
                return int(fields[2]) or SANDBOX_UID
    except OSError:
        pass
    return SANDBOX_UID


def _failure(result: ContainerResult, limits: Limits, timeout: float) -> StepError:
    message = result.error or str(result.outcome)
    match result.outcome:
        case Outcome.FAILED:
            return StepError(message, detail=_tail(result.logs))
        case Outcome.TIMEOUT:
            return StepError(
                f"Timed out after {timeout:g} s (the step's timeout); the image was stopped.",
                timeout=True,
            )
        case Outcome.CANCELLED:
            return StepError(message, retryable=False)
        case Outcome.OOM:
            return StepError(message, detail=_tail(result.logs), retryable=False)
        case _:
            return StepError(message, detail=_tail(result.logs), retryable=False)


def _tail(logs: str, lines: int = 20) -> str:
    return "\n".join(logs.splitlines()[-lines:])


KIND = ContainerFunction()
