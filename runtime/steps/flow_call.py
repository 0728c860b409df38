"""flow.call: start another flow of the workspace (its live version or a pinned one) with an
input built from templates, and wait for its run (or fire and forget).

The child run is started by the engine (runtime.engine.children): this kind asks for it
with WaitForChildren and, once it finished, turns its outcome into the step's output:
``{"run_id": <child run id>, "output": <the child run's output>}``, or
``{"run_id": ...}`` at once without waiting. A child that failed or was cancelled fails the
step with the child's error; the step's retries apply, each starting a new child run.
Save-time checks (the callee, its declared inputs, call cycles) are in flow_call_checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from designer.graph import Graph, Node, Problem
from runtime.engine.status import RunStatus
from runtime.kinds.contract import (
    ChildSpec,
    StepContext,
    StepError,
    StepKind,
    StepOutput,
    WaitForChildren,
)
from runtime.steps import flow_call_checks

TYPE = "flow.call"


class FlowCall(StepKind):
    type = TYPE
    queue = "light"
    label = "Call a flow"
    description = (
        "Run another flow of this workspace (one that starts 'When called by another flow') "
        "with an input, and use its result."
    )
    starts_children = True
    output_example = {"run_id": 1234, "output": {}}
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["flow"],
        "properties": {
            "flow": {
                "type": "integer",
                "minimum": 1,
                "title": "Flow to call",
                "x-widget": "flow",
                "description": "A flow of this workspace that is called by other flows.",
            },
            "version": {
                "type": "integer",
                "minimum": 1,
                "title": "Version",
                "description": "Pin a version number; leave empty to call the live version.",
            },
            "input": {
                "type": "object",
                "title": "Input",
                "x-template": "value",
                # One template per field the callee declares (rows of any names when it
                # declares none): static/src/canvas/FlowCall.jsx.
                "x-widget": "flow-input",
                "additionalProperties": {"x-template": "text"},
                "description": "A value (or template) for each input field the flow declares.",
            },
            "wait": {
                "type": "boolean",
                "title": "Wait for its result",
                "default": True,
                "description": "Off: start it and go on at once; the output is its run id.",
            },
        },
    }

    def check_in_workspace(
        self, nodes: Sequence[Node], graph: Graph, *, workspace_id: int, flow_id: int | None
    ) -> Iterable[Problem]:
        return flow_call_checks.problems(nodes, graph, workspace_id=workspace_id, flow_id=flow_id)

    def rehearse(self, ctx: StepContext) -> bool:
        """A replay starts no run of the other flow (its effects would be real)."""
        self._payload(ctx)
        return True

    def run(self, ctx: StepContext) -> StepOutput:
        wait = ctx.config.get("wait", True)
        payload = self._payload(ctx)
        if not ctx.children:
            spec = ChildSpec(
                flow_id=ctx.config["flow"], version=ctx.config.get("version"), input=payload
            )
            raise WaitForChildren([spec], wait=wait)
        child = ctx.children[-1]
        if not wait:
            return StepOutput({"run_id": child.run_id})
        if child.status != RunStatus.SUCCEEDED:
            raise StepError(
                f"The called flow's run #{child.run_id} {child.status}: {child.error}",
                detail=f"Child run: /runs/{child.run_id}/",
            )
        return StepOutput({"run_id": child.run_id, "output": child.output})

    def _payload(self, ctx: StepContext) -> Any:
        payload = ctx.render_value(ctx.config.get("input", {}))
        ctx.input = {"flow": ctx.config["flow"], "version": ctx.config.get("version")}
        ctx.input["input"] = payload
        return payload


KIND = FlowCall()
