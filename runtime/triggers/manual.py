"""trigger.manual: a run started by hand from the designer or the API with a JSON payload."""

from runtime.kinds.contract import TriggerKind


class ManualTrigger(TriggerKind):
    type = "trigger.manual"
    label = "Manual run"
    description = "Start the flow by hand, from the designer or POST /api/flows/{id}/runs/."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sample": {
                "title": "Sample payload",
                "description": "Pre-filled when you start a run from the designer.",
                "x-widget": "json",
            },
        },
    }


KIND = ManualTrigger()
