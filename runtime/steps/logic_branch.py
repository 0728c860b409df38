"""logic.branch: follow the ``true`` or the ``false`` edges; the other side is skipped."""

from runtime.kinds.contract import StepContext, StepKind, StepOutput, expression


class Branch(StepKind):
    type = "logic.branch"
    queue = "light"
    inline = True
    label = "Branch"
    description = "Route the run down the true or false path by a condition."
    handles = ("true", "false")
    output_example = {"result": True}
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

    def run(self, ctx: StepContext) -> StepOutput:
        ctx.input = {"condition": ctx.config["condition"]}
        result = bool(ctx.evaluate(ctx.config["condition"]))
        return StepOutput({"result": result}, handle="true" if result else "false")


KIND = Branch()
