"""logic.branch: follow the ``true`` or the ``false`` edges; the other side is skipped."""

from runtime.kinds import StepKind, expression


class Branch(StepKind):
    type = "logic.branch"
    label = "Branch"
    description = "Route the run down the true or false path by a condition."
    handles = ("true", "false")
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["condition"],
        "properties": {
            "condition": expression(
                "Condition",
                maxLength=4000,
                examples=["event.trigger.body.total > 100"],
            ),
        },
    }


KIND = Branch()
