"""trigger.called: the flow starts when another flow calls it (a ``flow.call`` step).

Its config declares the input fields it expects. The caller's form is generated from them
and checked at save (runtime.steps.flow_call); the engine checks them again when it starts
the child run (runtime.engine.spawn), because the callee may have changed since. With no
declared fields any object is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from designer.graph import Graph, Node, Problem
from designer.models import Flow
from runtime.kinds.contract import SampleRefused, TriggerKind

TYPE = "trigger.called"
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "list": (list,),
}
EXAMPLES: dict[str, Any] = {"string": "", "number": 0, "boolean": False, "object": {}, "list": []}
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class CalledTrigger(TriggerKind):
    type = TYPE
    label = "When called by another flow"
    description = (
        "Start this flow from a 'Call a flow' step of another flow of the workspace, with the "
        "input fields declared here."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "fields": {
                "type": "array",
                "title": "Input fields",
                "maxItems": 100,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "type"],
                    "properties": {
                        "name": {"type": "string", "title": "Name", "pattern": NAME_PATTERN},
                        "type": {"title": "Type", "enum": list(FIELD_TYPES), "default": "string"},
                        "required": {"type": "boolean", "title": "Required", "default": False},
                        "description": {"type": "string", "title": "Description", "maxLength": 500},
                    },
                },
            },
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        seen: set[str] = set()
        for index, spec in enumerate(node.config.get("fields", [])):
            if spec["name"] in seen:
                yield Problem(
                    f"The input field {spec['name']!r} is declared twice.",
                    node=node.id,
                    field=f"config.fields[{index}].name",
                )
            seen.add(spec["name"])

    def test_input(self, node: Node, sample: Any, *, flow: Flow) -> Any:
        """The sample as a caller would pass it: declared fields only, of their types; a
        required field left out gets an empty value of its type (a caller always gives it)."""
        if sample is None:
            sample = {}
        if not isinstance(sample, dict):
            raise SampleRefused("A called flow's input is an object of its declared fields.")
        made = dict(sample)
        for spec in fields_of(node):
            if spec.get("required") and spec["name"] not in made:
                made[spec["name"]] = EXAMPLES[spec["type"]]
        problem = input_problem(fields_of(node), made)
        if problem:
            raise SampleRefused(problem)
        return made


def fields_of(node: Node) -> Sequence[Mapping[str, Any]]:
    return list(node.config.get("fields", []))


def called_node(graph: Graph) -> Node | None:
    """The graph's trigger.called node: a flow without one cannot be called."""
    return next((node for node in graph.nodes.values() if node.type == TYPE), None)


def input_problem(fields: Sequence[Mapping[str, Any]], payload: Any) -> str | None:
    """Why ``payload`` is not an input these declared fields accept, or None."""
    if not isinstance(payload, dict):
        return f"The input of a called flow is an object, not {type(payload).__name__}."
    if not fields:
        return None
    declared = {spec["name"]: spec for spec in fields}
    unknown = sorted(set(payload) - set(declared))
    if unknown:
        return (
            f"Unknown input field(s) {', '.join(map(repr, unknown))}; it takes {sorted(declared)}."
        )
    for name, spec in declared.items():
        if name not in payload:
            if spec.get("required"):
                return f"Required input field {name!r} is missing."
            continue
        if not _of_type(payload[name], spec["type"]):
            got = type(payload[name]).__name__
            return f"Input field {name!r} should be a {spec['type']}, not {got}."
    return None


def _of_type(value: Any, name: str) -> bool:
    if name == "number" and isinstance(value, bool):
        return False  # JSON true is not a number, although Python's bool is an int
    return isinstance(value, FIELD_TYPES[name])


KIND = CalledTrigger()
