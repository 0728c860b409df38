"""trigger.event: start on a platform event (POST /api/events/ or runtime.events.emit)."""

from runtime.kinds import TriggerKind, expression

EVENT_PATTERN = r"^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$"


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
                description="Optional condition on the event, e.g. event.trigger.payload.total "
                "> 100",
            ),
        },
    }


KIND = EventTrigger()
