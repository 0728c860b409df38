"""code.python: a Python function ``handler(event, context)`` run in the sandbox."""

import ast
from collections.abc import Iterable

from designer.graph import Graph, Node, Problem
from runtime.kinds.contract import StepContext, StepKind, StepOutput
from runtime.steps.code_support import code_schema, run_in_sandbox

STARTER = '''def handler(event, context):
    """event["trigger"] is the trigger's payload; event["steps"]["<id>"] an upstream output."""
    return {"ok": True}
'''


class PythonCode(StepKind):
    type = "code.python"
    effects = True
    label = "Python function"
    description = "Run handler(event, context) in a sandbox; what it returns is the output."
    config_schema = code_schema("python", STARTER)

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        problem = source_problem(node.config["source"])
        if problem:
            yield Problem(problem, node=node.id, field="config.source")

    def run(self, ctx: StepContext) -> StepOutput:
        return run_in_sandbox("python", ctx)


def source_problem(source: str) -> str | None:
    """Why ``source`` is not a usable handler module, or None. Parses; never executes."""
    try:
        tree = ast.parse(source, filename="<handler>", mode="exec")
    except SyntaxError as exc:
        return f"SyntaxError on line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"The code cannot be parsed: {exc.__class__.__name__}."
    functions = [s for s in tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
    if any(function.name == "handler" for function in functions):
        return None
    return "Define a top-level function handler(event, context)."


KIND = PythonCode()
