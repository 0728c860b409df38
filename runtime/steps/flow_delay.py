"""flow.delay: wait for a while, or until a time, without holding a worker."""

from runtime.kinds import StepKind, template

MAX_DELAY_SECONDS = 366 * 24 * 3600


class Delay(StepKind):
    type = "flow.delay"
    label = "Delay"
    description = "Wait a number of seconds, or until a time taken from the event."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "seconds": {
                "type": "number",
                "title": "Seconds",
                "minimum": 0,
                "maximum": MAX_DELAY_SECONDS,
            },
            "until": template(
                "Until",
                maxLength=500,
                description="An ISO 8601 time, e.g. {{ event.trigger.body.send_at }}",
            ),
        },
        "oneOf": [{"required": ["seconds"]}, {"required": ["until"]}],
        "x-message": "Set either seconds or until (one of them, not both).",
    }


KIND = Delay()
