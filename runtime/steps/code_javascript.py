"""code.javascript: an exported ``handler(event, context)`` (async allowed) run on Node."""

import json
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from designer.graph import Graph, Node, Problem
from runtime.kinds.contract import StepContext, StepKind, StepOutput
from runtime.steps.code_support import code_schema, run_in_sandbox

STARTER = """export async function handler(event, context) {
  // event.trigger is the trigger's payload; event.steps["<id>"] an upstream output.
  return { ok: true };
}
"""
SYNTAX_CHECK = Path(__file__).with_name("js_syntax_check.mjs")


class JavaScriptCode(StepKind):
    type = "code.javascript"
    effects = True
    label = "JavaScript function"
    description = "Run an exported handler(event, context) on Node in a sandbox."
    config_schema = code_schema("javascript", STARTER)

    def check(self, nodes: Sequence[Node], graph: Graph) -> Iterable[Problem]:
        yield from super().check(nodes, graph)
        # One Node process checks every JavaScript node of the graph.
        for node, problem in zip(
            nodes, syntax_problems([n.config["source"] for n in nodes]), strict=True
        ):
            if problem is None and "handler" not in node.config["source"]:
                problem = "Export a function: export async function handler(event, context)."
            if problem:
                yield Problem(problem, node=node.id, field="config.source")

    def run(self, ctx: StepContext) -> StepOutput:
        return run_in_sandbox("javascript", ctx)


def syntax_problems(sources: list[str]) -> list[str | None]:
    """For each ES module source, its SyntaxError message or None. Compiles, never runs."""
    if not sources:
        return []
    node = shutil.which("node")
    if node is None:
        return ["JavaScript cannot be checked: Node.js is not installed on the server."] * len(
            sources
        )
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv; the sources go through stdin
            [node, "--experimental-vm-modules", "--no-warnings", str(SYNTAX_CHECK)],
            input=json.dumps(sources),
            capture_output=True,
            text=True,
            timeout=20,
            env={},
            check=True,
        )
        results = json.loads(completed.stdout)
    except (subprocess.SubprocessError, ValueError, OSError) as exc:
        return [f"JavaScript could not be checked ({exc.__class__.__name__})."] * len(sources)
    return [str(result) if result is not None else None for result in results]


KIND = JavaScriptCode()
