"""Flows that call flows, for the sub-flow tests (runtime.engine.children, flow.call)."""

from __future__ import annotations

import itertools
from typing import Any

from designer.models import Flow
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish

NAME_FIELD = {"name": "name", "type": "string", "required": True}


def callee(*steps: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A flow started 'When called by another flow': called → steps[0] → steps[1] ..."""
    ids = ["called", *(step["id"] for step in steps)]
    return graph(
        node("called", "trigger.called", fields=[NAME_FIELD] if fields is None else fields),
        *steps,
        edges=[edge(a, b) for a, b in itertools.pairwise(ids)],
    )


def greeter(team: Team, name: str = "Greeter", greeting: str = "hi") -> Flow:
    return publish(
        team,
        callee(
            node(
                "greet",
                "data.transform",
                value={"greeting": f"{greeting} {{{{ event.trigger.name }}}}"},
            )
        ),
        name=name,
    )


def call(node_id: str, flow: Flow, **config: Any) -> dict[str, Any]:
    """A flow.call node calling ``flow`` (input defaults to {"name": "Ada"})."""
    return node(node_id, "flow.call", flow=flow.pk, **({"input": {"name": "Ada"}} | config))
