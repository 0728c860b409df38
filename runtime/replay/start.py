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
    from runtime.runs import run_start

    version = batch.version
    graph = graphs.graph_of(version)
    trigger: str | None = original.trigger_node
    if trigger not in graph.nodes or not graph.nodes[original.trigger_node].is_trigger:
        trigger = None  # renamed or replaced: the version's first trigger takes the input
    return run_start(
        flow=batch.flow,
        version=version,
        payload=original.input,
        trigger_node=trigger,
        trigger_kind=original.trigger_kind if trigger else None,
        started_by=user,
        origin=f"replay of #{original.pk}",
        is_test=True,
        replay=replay_spec(original, perform),
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
