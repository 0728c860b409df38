"""Platform events: ``emit("order.created", {...})`` starts a run of every live flow whose
event trigger matches the type (exactly or by wildcard) and whose filter holds."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from designer.models import Workspace
from runtime.models import Run
from runtime.services import RunRefused, check_payload, run_start
from runtime.triggers.events import EVENT_TYPE, condition_holds, subscriptions_for


def emit(
    event_type: str,
    payload: Any,
    *,
    workspaces: list[Workspace] | None = None,
    emitted_by: User | None = None,
) -> list[Run]:
    """Deliver an event; returns the runs started (none is fine: nobody listens).

    ``workspaces`` limits delivery to those workspaces' flows (the API passes the caller's);
    None delivers platform-wide (for Python callers inside Tributary).
    """
    if not re.match(EVENT_TYPE, event_type) or len(event_type) > 200:
        raise RunRefused("An event type is dot-separated words, e.g. order.created.", field="type")
    trigger_payload = {
        "type": event_type,
        "payload": payload,
        "emitted_at": timezone.now().isoformat(),
    }
    check_payload(trigger_payload)  # once, before any run starts
    subscriptions = subscriptions_for(event_type)
    if workspaces is not None:
        subscriptions = subscriptions.filter(flow__workspace__in=workspaces)
    runs = []
    for subscription in subscriptions.order_by("flow_id", "node_id"):
        flow = subscription.flow
        if flow.live_version is None or not condition_holds(subscription, trigger_payload):
            continue
        runs.append(
            run_start(
                flow=flow,
                version=flow.live_version,
                payload=trigger_payload,
                trigger_node=subscription.node_id,
                trigger_kind="event",
                origin=f"event {event_type}",
                started_by=emitted_by,
            )
        )
    return runs
