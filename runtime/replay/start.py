"""Starting replays: each is a run of the chosen version with the original's trigger input
and, in its ``replay`` spec, what every step of the original recorded (the stand-ins for the
steps a replay does not perform: runtime.replay.simulate)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User

from designer.models import Flow, FlowVersion
from runtime.engine import graphs
from runtime.kinds.idempotency import idempotency_key
from runtime.models import ReplayBatch, Run, StepRun
from runtime.replay.simulate import without_key

RECORDED_FIELDS = ("node_id", "status", "output", "input", "handle", "error")


def recorded_of(run: Run) -> dict[str, dict[str, Any]]:
    """What each step of ``run`` recorded, its idempotency key replaced by a placeholder."""
    recorded = {}
    for row in StepRun.objects.filter(run=run).values(*RECORDED_FIELDS):
        node_id = row.pop("node_id")
        key = idempotency_key(run_id=run.pk, created_at=run.created_at, node_id=node_id)
        row["input"] = without_key(row["input"], key)
        row["handle"] = row["handle"] or None
        recorded[node_id] = row
    return recorded


def replay_spec(original: Run, perform: Sequence[str]) -> dict[str, Any]:
    return {"of": original.pk, "recorded": recorded_of(original), "perform": list(perform)}


def replay_one(
    *, batch: ReplayBatch, original: Run, user: User | None, perform: Sequence[str] = ()
) -> Run:
    """Start the replay of ``original`` against the batch's version."""
    return replay_start(
        batch=batch,
        payload=original.input,
        trigger_node=original.trigger_node,
        trigger_kind=original.trigger_kind,
        origin=f"replay of #{original.pk}",
        spec=replay_spec(original, perform),
        user=user,
    )


def replay_start(
    *,
    batch: ReplayBatch,
    payload: Any,
    trigger_node: str,
    origin: str,
    spec: dict[str, Any],
    user: User | None,
    trigger_kind: str | None = None,
) -> Run:
    """Start one replay run of the batch's version with ``payload`` as its trigger input."""
    from runtime.runs import run_start

    graph = graphs.graph_of(batch.version)
    trigger: str | None = trigger_node
    if trigger_node not in graph.nodes or not graph.nodes[trigger_node].is_trigger:
        trigger = None  # renamed or replaced: the version's first trigger takes the input
    return run_start(
        flow=batch.flow,
        version=batch.version,
        payload=payload,
        trigger_node=trigger,
        trigger_kind=trigger_kind if trigger else None,
        started_by=user,
        origin=origin,
        is_test=True,
        replay=spec,
        replay_batch=batch,
    )


def batch_create(
    *,
    flow: Flow,
    version: FlowVersion,
    total: int,
    user: User | None,
    perform: Sequence[str] = (),
    purpose: str = ReplayBatch.Purpose.REPLAY,
) -> ReplayBatch:
    return ReplayBatch.objects.create(
        flow=flow,
        version=version,
        purpose=purpose,
        perform=list(perform),
        total=total,
        created_by=user,
    )
