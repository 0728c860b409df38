"""flow.foreach: run the steps drawn inside it once per item of a list.

The node is a container (designer.graph_groups): body steps name it as their ``parent``.
In the enclosing run it is one step; each item's pass through the body is meant to be a
child run scoped to this node (``runtime.engine.planner.scope_graph``), which is not wired
yet: until it is, ``run()`` fails with a message saying so, and nothing is half done.
"""

from __future__ import annotations

from runtime.kinds.contract import StepContext, StepError, StepKind, StepOutput, template

MAX_CONCURRENCY = 100


class ForEach(StepKind):
    type = "flow.foreach"
    label = "For each"
    description = (
        "Run the steps inside it once per item of a list; downstream steps get the list of "
        "the body's results, in item order. Inside, templates see item, index and event."
    )
    # One entry per item: what the body's last step produced for it.
    output_example = [{"result": "of item 0"}, {"result": "of item 1"}]
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["items"],
        "properties": {
            "items": template(
                "Items",
                minLength=1,
                maxLength=2000,
                description="A list, e.g. {{ event.trigger.body.items }}",
            ),
            "concurrency": {
                "type": "integer",
                "title": "Items at once",
                "minimum": 1,
                "maximum": MAX_CONCURRENCY,
                "default": 10,
            },
            "on_item_failure": {
                "type": "string",
                "title": "When an item fails",
                "enum": ["fail", "continue"],
                "default": "fail",
                "description": "fail: the loop fails. continue: the item's error is its result.",
            },
        },
    }

    def run(self, ctx: StepContext) -> StepOutput:
        # Execution belongs to the engine's child runs, wired by a later change.
        raise StepError("For-each execution is not wired yet.", retryable=False)


KIND = ForEach()
