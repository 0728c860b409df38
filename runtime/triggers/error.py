"""trigger.error: the flow starts when another flow of the workspace fails (n8n's Error
Trigger). A flow names it in its settings (``settings.on_failure.flow``); when one of its
runs fails, runtime.engine.failures starts this flow's live version with the failure as
``event.trigger``::

    {"flow": {"id": 7, "name": "Orders"}, "version": 3,
     "run": {"id": 812, "url": "https://tributary.example/runs/812/"},
     "failed_step": {"id": "charge", "name": "Charge card", "kind": "http.request"},
     "error": "Charge card failed: HTTP 502", "failed_at": "2026-12-03T10:15:00+00:00"}

``failed_step`` is null when the run failed without a failed step. Nothing needs
activating: the failing flow's settings point here, not the other way round. This module
also holds the save-time check of ``settings.on_failure.flow``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from designer.graph import Graph, Node, Problem
from designer.models import Flow, FlowVersion
from runtime.engine import graphs
from runtime.engine.failures import ERROR_TRIGGER_KIND, Failure
from runtime.kinds.contract import TriggerKind
from runtime.kinds.samples import sample_fields, sample_time
from runtime.models import Run
from runtime.runs import AlreadyStarted, RunRefused, run_start

logger = logging.getLogger(__name__)

TYPE = "trigger.error"
FIELD = "settings.on_failure.flow"
KEYS = ("flow", "version", "run", "failed_step", "error", "failed_at")
SHAPE = (
    "A failure delivers flow {id, name}, version, run {id, url}, failed_step {id, name, "
    "kind}, error and failed_at."
)


class ErrorTrigger(TriggerKind):
    type = TYPE
    label = "When a flow fails"
    description = (
        "Start this flow when a run of another flow fails: choose this flow as the error flow "
        "in that flow's Flow tab. event.trigger holds the flow, run, failed step and error."
    )
    config_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    output_example = {
        "flow": {"id": 7, "name": "Orders"},
        "version": 3,
        "run": {"id": 812, "url": "https://tributary.example/runs/812/"},
        "failed_step": {"id": "charge", "name": "Charge card", "kind": "http.request"},
        "error": "Charge card failed: HTTP 502",
        "failed_at": "2026-12-03T10:15:00+00:00",
    }

    def test_input(self, node: Node, sample: Any, *, flow: Flow) -> Any:
        """The sample over the example failure: a test states only what it cares about."""
        given = sample_fields(sample, KEYS, SHAPE)
        made = {**self.output_example, "failed_at": timezone.now().isoformat(), **given}
        made["failed_at"] = sample_time(made["failed_at"], "failed_at")
        return made


def error_node(graph: Graph) -> Node | None:
    """The graph's trigger.error node: a flow without one cannot be an error flow."""
    return next((node for node in graph.nodes.values() if node.type == TYPE), None)


def catches_failures(version: FlowVersion | None) -> bool:
    """Whether ``version`` (a flow's live version) can be started as an error flow."""
    return version is not None and error_node(graphs.graph_of(version)) is not None


def on_failure_problems(
    graph: Graph, *, workspace_id: int, flow_id: int | None
) -> Iterator[Problem]:
    """Why the error flow ``graph``'s settings name cannot be started, naming the field."""
    on_failure = graph.settings.on_failure
    target_id = on_failure.flow if on_failure else None
    if target_id is not None:
        problem = error_flow_problem(target_id, workspace_id=workspace_id, flow_id=flow_id)
        if problem:
            yield Problem(problem, field=FIELD)


def error_flow_problem(target_id: int, *, workspace_id: int, flow_id: int | None) -> str | None:
    """Why flow ``target_id`` cannot be the error flow of flow ``flow_id`` (None: a flow
    being created) in the workspace, or None."""
    if target_id == flow_id:
        return "A flow cannot be its own error flow."
    target = (
        Flow.objects.filter(pk=target_id, workspace_id=workspace_id)
        .select_related("live_version")
        .first()
    )
    if target is None:
        return f"There is no flow #{target_id} in this workspace."
    if target.archived_at is not None:
        return f"{target.name} is archived; restore it first."
    if target.live_version is None:
        return f"{target.name} has no live version; publish it first."
    if not catches_failures(target.live_version):
        return (
            f"Version {target.live_version.number} of {target.name} has no "
            f"'{KIND.label}' trigger, so it cannot be an error flow."
        )
    return None


def error_flow_start(failure: Failure) -> Run | None:
    """Start the live version of ``failure``'s error flow with the failure as its input,
    once per failed run (the failed run's id is the idempotency key: a redelivered task
    finds the run it started). None when it cannot start; the reason is logged, since the
    flow was valid when saved but the error flow may have changed since."""
    failed = failure.run
    target_id = failure.on_failure.flow
    if not failure.starts_error_flow or target_id is None:
        return None
    problem = error_flow_problem(
        target_id, workspace_id=failed.flow.workspace_id, flow_id=failed.flow_id
    )
    target = None if problem else Flow.objects.select_related("live_version").get(pk=target_id)
    if target is None or target.live_version is None:
        logger.warning("Run #%s failed; its error flow was not started: %s", failed.pk, problem)
        return None
    node = error_node(graphs.graph_of(target.live_version))
    assert node is not None  # error_flow_problem checked it
    try:
        return run_start(
            flow=target,
            version=target.live_version,
            payload=failure.event,
            trigger_node=node.id,
            trigger_kind=ERROR_TRIGGER_KIND,
            origin=f"failure of {failed.flow.name} run #{failed.pk}",
            idempotency_key=f"failed-run-{failed.pk}",
        )
    except AlreadyStarted as exc:
        return exc.run
    except RunRefused as exc:  # e.g. the error flow's concurrency key fails on this input
        logger.warning("Run #%s failed; its error flow refused to start: %s", failed.pk, exc)
        return None


KIND = ErrorTrigger()
