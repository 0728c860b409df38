"""The chaos test's flow, created inside its private database by
``manage.py shell -c "from tests.runtime.engine.chaos.seed import seed; seed(URL)"``: the
test process itself never connects Django to that database."""

from __future__ import annotations

import json
from typing import Any

from designer.services import flow_create, flow_publish
from runtime.triggers.webhook.kind import endpoint_for
from tests import factories
from tests.factories import edge, graph, node

DELAY_SECONDS = 0.3


def order_flow(ledger_url: str) -> dict[str, Any]:
    """webhook → data.transform → flow.delay → http.request POST to the ledger →
    data.transform: the run's output is the ledger's receipt."""
    return graph(
        node(
            "order",
            "trigger.webhook",
            idempotency_header="Idempotency-Key",
            rate_limit_per_minute=100_000,
        ),
        node("shape", "data.transform", value={"order": "{{ event.trigger.body.order }}"}),
        node("wait", "flow.delay", seconds=DELAY_SECONDS),
        node(
            "pay",
            "http.request",
            method="POST",
            url=f"{ledger_url}/pay",
            body='{"order": {{ event.steps.shape.order }}}',
        ),
        node("receipt", "data.transform", value="{{ event.steps.pay.body.receipt }}"),
        edges=[
            edge("order", "shape"),
            edge("shape", "wait"),
            edge("wait", "pay"),
            edge("pay", "receipt"),
        ],
    )


def seed(ledger_url: str) -> None:
    """Create the owner, workspace and published flow; print the webhook's token."""
    owner = factories.user("chaos")
    space = factories.workspace("Chaos", admin=owner)
    flow = flow_create(user=owner, workspace=space, name="Orders", graph=order_flow(ledger_url))
    flow_publish(flow=flow, user=owner, number=1)
    print(json.dumps({"token": endpoint_for(flow, "order").token}))  # noqa: T201 - to the test
