"""trigger.event: start on a platform event (POST /api/events/ or runtime.events.emit)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from designer.graph import Node
from designer.models import Flow
from runtime.kinds import TriggerKind, expression
from runtime.models import EventSubscription
from runtime.templating import TemplateProblem, evaluate

logger = logging.getLogger(__name__)
EVENT_PATTERN = r"^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$"
EVENT_TYPE = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"


class EventTrigger(TriggerKind):
    type = "trigger.event"
    label = "Platform event"
    description = "Start the flow when an event such as order.created is emitted."
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
