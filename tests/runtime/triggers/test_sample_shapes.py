"""Every trigger kind's test input has the keys of the output it declares (the designer
completes templates from that declaration): a test sample is never shaped otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from designer.graph import Node
from runtime.kinds.catalog import CATALOG
from runtime.kinds.contract import TriggerKind
from tests.conftest import Team
from tests.factories import flow

CONFIGS: dict[str, dict[str, Any]] = {
    "trigger.webhook": {},
    "trigger.cron": {"expression": "0 9 * * *"},
    "trigger.event": {"event_type": "order.created"},
    "trigger.dbchange": {"table": "public.orders"},
    "trigger.queue": {"connection": "bus", "source": "orders"},
    "trigger.error": {},
}


def test_every_trigger_kind_but_manual_and_called_is_covered_here() -> None:
    # Their input is whatever the starter gives (called: its declared fields, tested in
    # tests/runtime/triggers/test_called.py).
    triggers = {name for name, kind in CATALOG.items() if isinstance(kind, TriggerKind)}
    assert triggers - {"trigger.manual", "trigger.called"} == set(CONFIGS)


@pytest.mark.django_db
@pytest.mark.parametrize("kind_name", sorted(CONFIGS))
def test_an_empty_sample_becomes_the_declared_shape(team: Team, kind_name: str) -> None:
    kind = CATALOG[kind_name]
    assert isinstance(kind, TriggerKind)
    node = Node(id="start", type=kind_name, name="Start", config=CONFIGS[kind_name])
    made = kind.test_input(node, {}, flow=flow(team.editor, team.workspace))
    assert set(made) == set(kind.output_example)
    if isinstance(made.get("metadata"), dict):
        assert set(made["metadata"]) == set(kind.output_example["metadata"])
