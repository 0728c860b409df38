"""A test run's input: what its trigger would deliver live, so a test that passes with a
sample passes live with the same request, message or event."""

from __future__ import annotations

from typing import Any

from designer.models import Flow, FlowVersion
from runtime.engine import graphs
from runtime.kinds.catalog import CATALOG
from runtime.kinds.contract import SampleRefused, TriggerKind
from runtime.runs import RunRefused, first_trigger


def test_run_input(
    *, flow: Flow, version: FlowVersion, trigger_node: str | None, sample: Any
) -> tuple[str, str, Any]:
    """(trigger node, trigger kind, event.trigger) for a test run of ``version`` started
    from ``trigger_node`` (the first trigger when None) with ``sample``. RunRefused
    (field "input") says why no live firing could deliver the sample."""
    node_id = trigger_node or first_trigger(flow, version)
    node = graphs.graph_of(version).nodes.get(node_id)
    kind = CATALOG.get(node.type) if node is not None else None
    if node is None or not isinstance(kind, TriggerKind):
        raise RunRefused(
            f"{node_id!r} is not a trigger of version {version.number}.", field="trigger"
        )
    try:
        payload = kind.test_input(node, sample, flow=flow)
    except SampleRefused as exc:
        raise RunRefused(str(exc), field="input") from None
    return node.id, node.type.removeprefix("trigger."), payload
