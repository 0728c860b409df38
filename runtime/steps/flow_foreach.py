"""flow.foreach: run the steps drawn inside it once per item of a list.

The node is a container (designer.graph_groups): body steps name it as their ``parent``.
In the enclosing run it is one step; each item's pass through the body is a child run
scoped to this node (runtime.engine.items). The kind renders the list, asks for the
first window of items (its concurrency) and, once woken, turns the item runs' outcomes
into the list of their outputs in item order, or fails at the first failed item.
"""

from __future__ import annotations

from typing import Any

from runtime.engine.status import RUN_FINISHED, RunStatus
from runtime.kinds.contract import (
    ChildSpec,
    StepContext,
    StepError,
    StepKind,
    StepOutput,
    WaitForChildren,
    template,
)
from runtime.kinds.taint import plain

MAX_CONCURRENCY = 100
MAX_ITEMS = 10_000


class ForEach(StepKind):
    type = "flow.foreach"
    queue = "light"
    label = "For each"
    starts_children = True
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
        items = plain(ctx.render_value(ctx.config["items"]))
        if not isinstance(items, list):
            raise StepError(
                f"For each '{ctx.node.name}': items must be a list, got {_type_name(items)}",
                retryable=False,
            )
        if len(items) > MAX_ITEMS:
            raise StepError(
                f"For each '{ctx.node.name}': {len(items):,} items; the limit is {MAX_ITEMS:,}.",
                retryable=False,
            )
        # Stored as the step's input: the engine reads each next item from it.
        ctx.input = {"items": items}
        if not items:
            return StepOutput([])
        if not ctx.children:
            window = min(ctx.config.get("concurrency", 10), len(items))
            specs = [
                ChildSpec(
                    flow_id=ctx.info["flow_id"], input=items[i], item_index=i, scope=ctx.node.id
                )
                for i in range(window)
            ]
            raise WaitForChildren(specs, total=len(items))
        return StepOutput(self._results(ctx, len(items)))

    def _results(self, ctx: StepContext, total: int) -> list[Any]:
        """Each item's result in item order, or the loop's error (its first failed item,
        with ``on_item_failure: fail``; the item runs' own errors say why)."""
        continue_on = ctx.config.get("on_item_failure", "fail") == "continue"
        results: list[Any] = []
        for child in ctx.children:
            if child.status == RunStatus.SUCCEEDED:
                results.append(child.output)
            elif child.status in RUN_FINISHED and continue_on:
                results.append({"error": child.error, "index": child.item_index})
            elif child.status in RUN_FINISHED:
                raise StepError(
                    f"For each '{ctx.node.name}': item {child.item_index} {child.status}: "
                    f"{child.error}",
                    detail=f"Item run: /runs/{child.run_id}/",
                )
        if len(results) != total:
            # Only a lost item (which the engine's counters rule out) gets here.
            raise StepError(f"For each '{ctx.node.name}': {len(results)} of {total} items ran.")
        return results


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


KIND = ForEach()
