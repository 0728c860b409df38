"""Replay batches: picking the runs to replay, starting them in the background, and the
report — per replay the nodes that differ, for the batch the summary and the count of
differing replays per node (what the canvas colours)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from designer.models import Flow, FlowVersion
from runtime.engine import graphs
from runtime.engine.status import RUN_FINISHED, RunStatus
from runtime.models import ReplayBatch, Run, StepRun
from runtime.replay.diff import NodeDiff, Summary, compare
from runtime.runs import RunRefused

MAX_REPLAYS = 1000
STEP_FIELDS = ("run_id", "node_id", "status", "output", "input", "uses_secrets")


def replayable_runs(
    *,
    flow: Flow,
    run_ids: Sequence[int] = (),
    last: int | None = None,
    status: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    version: FlowVersion | None = None,
) -> QuerySet[Run]:
    """The flow's finished runs to replay: the ones named, or the ``last`` N (of the live
    version unless ``version`` is given), filtered by status and time. Replays and loop
    items are never replayed themselves; test runs only when named."""
    runs = Run.objects.filter(flow=flow, scope="", replay__isnull=True, status__in=RUN_FINISHED)
    if run_ids:
        return runs.filter(pk__in=list(run_ids)).order_by("-id")
    runs = runs.filter(is_test=False)
    target = version or flow.live_version
    if target is not None:
        runs = runs.filter(version=target)
    if status:
        runs = runs.filter(status=status)
    if since:
        runs = runs.filter(created_at__gte=since)
    if until:
        runs = runs.filter(created_at__lt=until)
    return runs.order_by("-id")[: min(last or MAX_REPLAYS, MAX_REPLAYS)]


def batch_start(
    *,
    flow: Flow,
    version: FlowVersion,
    runs: Sequence[Run],
    user: User | None,
    perform: Sequence[str] = (),
) -> ReplayBatch:
    """Create the batch and queue its replays (started by a worker, in the background)."""
    from runtime import tasks
    from runtime.replay import start

    if not runs:
        raise RunRefused("There is no finished run of this flow to replay.", field="runs")
    graph = graphs.graph_of(version)
    unknown = [node for node in perform if node not in graph.nodes]
    if unknown:
        raise RunRefused(
            f"Version {version.number} has no node {unknown[0]!r} to perform for real.",
            field="perform",
        )
    with transaction.atomic():
        batch = start.batch_create(
            flow=flow, version=version, total=len(runs), user=user, perform=perform
        )
        ids = [run.pk for run in runs]
        transaction.on_commit(lambda: tasks.replay_fill.delay(batch.pk, ids))
    return batch


def batch_fill(batch_id: int, run_ids: Sequence[int]) -> None:
    """Start the replays of ``run_ids`` not started yet (safe to run again)."""
    from runtime.replay import start

    batch = ReplayBatch.objects.select_related("flow", "version", "created_by").get(pk=batch_id)
    done = set(Run.objects.filter(replay_batch=batch).values_list("replay__of", flat=True))
    for original in Run.objects.filter(pk__in=list(run_ids)).order_by("id"):
        if original.pk not in done:
            start.replay_one(
                batch=batch, original=original, user=batch.created_by, perform=batch.perform
            )


def batch_report(batch: ReplayBatch, *, hide_values: bool = False) -> dict[str, Any]:
    """Progress, the summary, and each finished replay's differences. ``hide_values``
    leaves only the paths of outputs derived from secrets (their values are not shown)."""
    graph = graphs.graph_of(batch.version)
    names = {node_id: node.name or node_id for node_id, node in graph.nodes.items()}
    runs = list(
        Run.objects.filter(replay_batch=batch)
        .order_by("id")
        .values("id", "status", "replay", "error", "uses_secrets")
    )
    finished = [run for run in runs if run["status"] in RUN_FINISHED]
    steps = replay_steps([run["id"] for run in finished])
    summary = Summary(total=batch.total)
    replays = []
    for run in runs:
        entry: dict[str, Any] = {
            "run": run["id"],
            "original": (run["replay"] or {}).get("of"),
            "status": run["status"],
        }
        if run["status"] in RUN_FINISHED:
            diffs = compare((run["replay"] or {}).get("recorded", {}), steps.get(run["id"], {}))
            summary.add(diffs)
            entry["identical"] = not diffs
            entry["differences"] = [
                _shown(diff, hide_values, steps.get(run["id"], {})) for diff in diffs
            ]
            if run["status"] == RunStatus.FAILED:
                entry["error"] = run["error"]
        replays.append(entry)
    return {
        "id": batch.pk,
        "flow": batch.flow_id,
        "version": batch.version.number,
        "purpose": batch.purpose,
        "perform": batch.perform,
        "created_at": batch.created_at,
        "started": len(runs),
        "done": len(runs) == batch.total and len(finished) == batch.total,
        **summary.as_dict(names),
        "replays": replays,
    }


def replay_steps(run_ids: Sequence[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """{run id: {node id: its step's status, output, input, uses_secrets}}, one query."""
    steps: dict[int, dict[str, dict[str, Any]]] = {}
    for row in StepRun.objects.filter(run_id__in=list(run_ids)).values(*STEP_FIELDS):
        steps.setdefault(row["run_id"], {})[row["node_id"]] = row
    return steps


def _shown(diff: NodeDiff, hide_values: bool, steps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    data = diff.as_dict()
    if hide_values and steps.get(diff.node, {}).get("uses_secrets"):
        for aspect in ("output", "sent"):
            data[aspect] = [{"path": change["path"]} for change in data[aspect]]
    return data
