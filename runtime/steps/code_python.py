"""code.python: a Python function ``handler(event, context)`` run in the sandbox."""

import ast
from collections.abc import Iterable

from designer.graph import Graph, Node, Problem
from runtime.kinds.contract import StepContext, StepKind, StepOutput
from runtime.steps.code_support import TRIGGER_DATA, CodeProblem, code_schema, run_in_sandbox

STARTER = """def handler(event, context):
    # event["trigger"] is what the trigger delivered (after a webhook, the request: the
    # posted data is event["trigger"]["body"]); event["steps"]["<id>"] an upstream output.
    return {"ok": True}
"""


def _starter(what: str, key: str | None, name: str) -> str:
    read = f'event["trigger"]["{key}"]' if key else 'event["trigger"]'
    return (
        "def handler(event, context):\n"
        f'    # event["trigger"] is {what}.\n'
        '    # event["steps"]["<id>"] is an upstream step\'s output.\n'
        f"    {name} = {read}\n"
        f'    return {{"ok": True, "{name}": {name}}}\n'
    )


STARTERS = {kind: _starter(*data) for kind, data in TRIGGER_DATA.items()}


class PythonCode(StepKind):
    type = "code.python"
    queue = "compute"
    effects = True
    label = "Python function"
    description = "Run handler(event, context) in a sandbox; what it returns is the output."
    config_schema = code_schema("python", STARTER, STARTERS)

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        problem = source_problem(node.config["source"])
        if problem:
            yield Problem(problem, node=node.id, field="config.source")

    def run(self, ctx: StepContext) -> StepOutput:
        return run_in_sandbox("python", ctx)


def source_problem(source: str) -> str | None:
    """Why ``source`` is not a usable handler module, or None. Compiles; never executes."""
    problems = code_problems(source)
    return str(problems[0]) if problems else None


def code_problems(source: str) -> list[CodeProblem]:
    """What keeps ``source`` from running, with where. Compiling after parsing also catches
    what the parser lets through ('return' outside a function, a bad nonlocal); constant
    folding is bounded by CPython, and nothing runs."""
    try:
        tree = ast.parse(source, filename="<handler>", mode="exec")
        compile(tree, "<handler>", "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors too
        line = max(1, exc.lineno or 1)
        return [CodeProblem(line, max(1, exc.offset or 1), exc.msg, type(exc).__name__)]
    except (ValueError, RecursionError, MemoryError) as exc:
        # ValueError: a NUL character; RecursionError/MemoryError: absurd nesting.
        return [CodeProblem(1, 1, f"The code cannot be parsed: {exc.__class__.__name__}.")]
    functions = [s for s in tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
    if any(function.name == "handler" for function in functions):
        return []
    return [CodeProblem(1, 1, "Define a top-level function handler(event, context).")]


KIND = PythonCode()
