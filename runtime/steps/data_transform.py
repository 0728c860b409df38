"""data.transform: build a JSON value from templates over the event."""

from runtime.kinds.contract import StepContext, StepKind, StepOutput


class Transform(StepKind):
    type = "data.transform"
    queue = "light"
    inline = True
    label = "Transform"
    description = (
        "Build a JSON value. Strings are templates; a string that is only {{ expression }} "
        "keeps the expression's type (a number stays a number, a list a list)."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["value"],
        "properties": {
            "value": {"title": "Value", "x-widget": "json", "x-template": "value"},
        },
    }

    def run(self, ctx: StepContext) -> StepOutput:
        return StepOutput(ctx.render_value(ctx.config["value"]))


KIND = Transform()
