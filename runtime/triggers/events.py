"""trigger.event: start on a platform event — `POST /api/events/` or `emit()` below, which
starts a run of every live flow whose event trigger matches the type (exactly or by
wildcard) and whose filter holds."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from designer.graph import Node
from designer.models import Flow, Workspace
from runtime.kinds.contract import TriggerKind, expression
from runtime.kinds.templating import TemplateProblem, evaluate
from runtime.models import EventSubscription, Run
from runtime.runs import RunRefused, check_payload, run_start

logger = logging.getLogger(__name__)
EVENT_PATTERN = r"^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$"
EVENT_TYPE = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"


class EventTrigger(TriggerKind):
    type = "trigger.event"
    label = "Platform event"
    description = "Start the flow when an event such as order.created is emitted."
    output_example = {
        "type": "order.created",
        "payload": {},
        "emitted_at": "2026-01-01T09:00:00+00:00",
    }
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["event_type"],
        "properties": {
            "event_type": {
                "type": "string",
                "title": "Event type",
                "maxLength": 200,
                "pattern": EVENT_PATTERN,
                "description": "Exact (order.created) or a wildcard (order.*, *).",
            },
            "filter": expression(
                "Only when",
                description="Optional condition on the event, e.g. "
                "event.trigger.payload.total > 100",
            ),
        },
    }

    def activate(self, flow: Flow, nodes: Sequence[Node]) -> None:
        EventSubscription.objects.filter(flow=flow).delete()
        EventSubscription.objects.bulk_create(
            EventSubscription(
                flow=flow,
                node_id=node.id,
                pattern=node.config["event_type"],
                condition=node.config.get("filter", ""),
            )
            for node in nodes
        )


KIND = EventTrigger()


def patterns_matching(event_type: str) -> list[str]:
    """Every subscription pattern that matches ``event_type``: itself, *, and each prefix
    wildcard (order.created.eu → order.*, order.created.*)."""
    parts = event_type.split(".")
    return [event_type, "*", *(".".join(parts[:i]) + ".*" for i in range(1, len(parts)))]


def subscriptions_for(event_type: str) -> QuerySet[EventSubscription]:
    return EventSubscription.objects.filter(
        pattern__in=patterns_matching(event_type),
        flow__archived_at__isnull=True,
        flow__live_version__isnull=False,
    ).select_related("flow__live_version", "flow__workspace")


def condition_holds(subscription: EventSubscription, trigger_payload: dict[str, Any]) -> bool:
    """Whether the subscription's filter accepts the event; a filter that cannot be
    evaluated (say, a missing field) does not match."""
    if not subscription.condition:
        return True
    try:
        return bool(evaluate(subscription.condition, {"event": {"trigger": trigger_payload}}))
    except TemplateProblem as exc:
        logger.info("Event filter of %s did not match: %s", subscription.flow, exc)
        return False


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
