"""Webhook flows and their URLs on the real server, for the webhook tests."""

from __future__ import annotations

from typing import Any

import httpx

from designer.models import Flow
from runtime.models import Run
from runtime.triggers.webhook import kind as webhook
from tests.conftest import Team, Web
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish


def hook_flow(
    team: Team,
    hook_config: dict[str, Any] | None = None,
    value: Any = "{{ event.trigger.body.id }}",
) -> Flow:
    return publish(
        team,
        graph(
            node("order", "trigger.webhook", **(hook_config or {})),
            node("shape", "data.transform", value=value),
            edges=[edge("order", "shape")],
        ),
    )


def hook_url(web: Web, flow: Flow, node_id: str = "order") -> str:
    return f"{web.url}/hooks/{webhook.endpoint_for(flow, node_id).token}"


def refused(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert not Run.objects.exists()
    return response.json()
