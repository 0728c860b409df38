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
from runtime.engine import waits
from runtime.kinds.contract import SampleRefused, TriggerKind, expression
from runtime.kinds.samples import sample_fields, sample_time
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

    def test_input(self, node: Node, sample: Any, *, flow: Flow) -> Any:
        """The event the sample states (the trigger's own type when it names one), refused
        when a live event like it would not start this trigger: another type, or a filter
        that does not hold."""
        given = sample_fields(sample, EVENT_KEYS, EVENT_SHAPE)
        pattern = node.config["event_type"]
        event_type = str(given.get("type") or pattern)
        if not re.match(EVENT_TYPE, event_type) or pattern not in patterns_matching(event_type):
            raise SampleRefused(
                f"This trigger starts on {pattern} events; give type as one of those, "
                "e.g. order.created."
            )
        payload = event_payload(event_type, given.get("payload", {}))
        payload["emitted_at"] = sample_time(given.get("emitted_at"), "emitted_at")
        problem = filter_problem(node.config.get("filter", ""), payload)
        if problem:
            raise SampleRefused(f"A live event like this starts no run: {problem}")
        return payload


KIND = EventTrigger()
EVENT_KEYS = ("type", "payload", "emitted_at")
EVENT_SHAPE = "An event delivers {type, payload, emitted_at}."


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
    problem = filter_problem(subscription.condition, trigger_payload)
    if problem:
        logger.info("Event filter of %s did not match: %s", subscription.flow, problem)
    return problem is None


def filter_problem(condition: str, trigger_payload: dict[str, Any]) -> str | None:
    """Why the filter turns the event away, or None when it lets it through."""
    if not condition:
        return None
    try:
        if evaluate(condition, {"event": {"trigger": trigger_payload}}):
            return None
    except TemplateProblem as exc:
        return f"the filter {condition} cannot be evaluated: {exc}"
    return f"the filter {condition} is false."


def event_payload(event_type: str, payload: Any) -> dict[str, Any]:
    """What an event delivers as event.trigger."""
    return {"type": event_type, "payload": payload, "emitted_at": timezone.now().isoformat()}


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
    trigger_payload = event_payload(event_type, payload)
    # Once, before any run starts; problems are reported at their place in "payload".
    check_payload(trigger_payload, what="The event", field="payload")
    # Runs paused at a "wait for event" step take it too (and it is kept a while for those
    # that have not reached their wait yet).
    waits.event_arrived(
        event_type, trigger_payload, None if workspaces is None else [w.pk for w in workspaces]
    )
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
