"""code.python: a Python function ``handler(event, context)`` run in the sandbox."""

import ast
from collections.abc import Iterable

from designer.graph import Graph, Node, Problem
from runtime.kinds.contract import StepContext, StepKind, StepOutput
from runtime.steps.code_support import CodeProblem, code_schema, run_in_sandbox

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
