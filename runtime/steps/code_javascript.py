"""code.javascript: an exported ``handler(event, context)`` (async allowed) run on Node."""

import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from designer.graph import Graph, Node, Problem
from runtime.kinds.contract import StepContext, StepKind, StepOutput
from runtime.steps.code_support import TRIGGER_DATA, CodeProblem, code_schema, run_in_sandbox

STARTER = """export async function handler(event, context) {
  // event.trigger is what the trigger delivered (after a webhook, the request: the posted
  // data is event.trigger.body); event.steps["<id>"] is an upstream step's output.
  return { ok: true };
}
"""


def _starter(what: str, key: str | None, name: str) -> str:
    read = f"event.trigger.{key}" if key else "event.trigger"
    return (
        "export async function handler(event, context) {\n"
        f"  // event.trigger is {what}.\n"
        '  // event.steps["<id>"] is an upstream step\'s output.\n'
        f"  const {name} = {read};\n"
        f"  return {{ ok: true, {name} }};\n"
        "}\n"
    )


STARTERS = {kind: _starter(*data) for kind, data in TRIGGER_DATA.items()}
SYNTAX_CHECK = Path(__file__).with_name("js_syntax_check.mjs")


class JavaScriptCode(StepKind):
    type = "code.javascript"
    queue = "compute"
    effects = True
    label = "JavaScript function"
    description = "Run an exported handler(event, context) on Node in a sandbox."
    config_schema = code_schema("javascript", STARTER, STARTERS)

    def check(self, nodes: Sequence[Node], graph: Graph) -> Iterable[Problem]:
        yield from super().check(nodes, graph)
        # One Node process checks every JavaScript node of the graph.
        for node, problem in zip(
            nodes, syntax_problems([n.config["source"] for n in nodes]), strict=True
        ):
            if problem is None and "handler" not in node.config["source"]:
                problem = NO_HANDLER
            if problem:
                yield Problem(problem, node=node.id, field="config.source")

    def run(self, ctx: StepContext) -> StepOutput:
        return run_in_sandbox("javascript", ctx)


def syntax_problems(sources: list[str]) -> list[str | None]:
    """For each ES module source, why it does not compile (saying where) or None.

    One Node process compiles them all; only a source that fails is compiled again on its
    own by code_problems, which is what learns the line and column (Node keeps them out of
    the SyntaxError a script can catch)."""
    if not sources:
        return []
    node = shutil.which("node")
    if node is None:
        return [NO_NODE] * len(sources)
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
    return [
        None if result is None else _located(source, str(result))
        for source, result in zip(sources, results, strict=True)
    ]


def code_problems(source: str) -> list[CodeProblem]:
    """What keeps ``source`` (an ES module) from running, with where. ``node --check``
    compiles it without running anything: a fresh process, no environment, no network
    use, a short timeout. It reports the spot as the source line with a caret under it."""
    node = shutil.which("node")
    if node is None:
        return [CodeProblem(1, 1, NO_NODE)]
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv; the source goes through stdin
            [node, "--no-warnings", "--input-type=module", "--check"],
            input=source,
            capture_output=True,
            text=True,
            timeout=10,
            env={},
            check=False,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return [CodeProblem(1, 1, f"JavaScript could not be checked ({exc.__class__.__name__}).")]
    if completed.returncode == 0:
        return [] if "handler" in source else [CodeProblem(1, 1, NO_HANDLER)]
    return [_caret_problem(completed.stderr)]


def _caret_problem(stderr: str) -> CodeProblem:
    """Read Node's report: "[stdin]:LINE", the line, a caret line, then "SyntaxError: ..."."""
    lines = stderr.splitlines()
    where = re.match(r"^\[stdin\]:(\d+)$", lines[0]) if lines else None
    line = int(where.group(1)) if where else 1
    caret = lines[2] if where and len(lines) > 2 else ""
    # At the end of the input Node prints no caret, only the spaces leading to it.
    column = caret.index("^") + 1 if "^" in caret else len(caret) + 1
    error = next((text for text in lines if re.match(r"^[A-Za-z]*Error: ", text)), "")
    name, _, message = error.partition(": ")
    if not message:
        return CodeProblem(1, 1, "JavaScript could not be checked (no error report).")
    return CodeProblem(line, column, message, name)


def _located(source: str, message: str) -> str:
    problems = code_problems(source)
    return str(problems[0]) if problems and problems[0].error else message


NO_HANDLER = "Export a function: export async function handler(event, context)."
NO_NODE = "JavaScript cannot be checked: Node.js is not installed on the server."

KIND = JavaScriptCode()
