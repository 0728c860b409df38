"""The contract every trigger and step kind implements, and helpers for config schemas.

A kind is a class in its own module under ``runtime/triggers/`` or ``runtime/steps/`` and
one line in ``runtime/catalog.py``. Its ``config_schema`` is JSON Schema (2020-12) with a
few ``x-`` hints the designer uses to build the form:

- ``x-template: "text" | "html"``: a Jinja template over ``event`` (checked on save);
- ``x-template: "value"``: any JSON value whose strings are templates (data.transform);
- ``x-expression: true``: a Jinja expression, e.g. ``event.trigger.body.total > 100``;
- ``x-widget: "code"`` with ``x-language``; ``x-widget: "textarea" | "secret" | "node"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

from designer.graph import Graph, Node, Problem
from runtime.templating import expression_problem, template_problem


class Kind:
    type: ClassVar[str]
    category: ClassVar[Literal["trigger", "step"]]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    config_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False}
    handles: ClassVar[tuple[str, ...]] = ()

    def check(self, nodes: Sequence[Node], graph: Graph) -> Iterable[Problem]:
        for node in nodes:
            yield from _template_problems(self.config_schema, node.config, node.id, "config")
            yield from self.check_config(node, graph)

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        """Checks beyond the schema for one node; override in a kind."""
        return ()

    def describe(self) -> dict[str, Any]:
        """What the designer needs to draw the palette and build the config form."""
        return {
            "type": self.type,
            "category": self.category,
            "label": self.label,
            "description": self.description,
            "handles": list(self.handles),
            "config_schema": self.config_schema,
        }


class TriggerKind(Kind):
    category = "trigger"


class StepKind(Kind):
    category = "step"


def template(title: str, *, html: bool = False, multiline: bool = False, **extra: Any) -> dict:
    schema: dict[str, Any] = {
        "type": "string",
        "title": title,
        "x-template": "html" if html else "text",
    }
    if multiline:
        schema["x-widget"] = "textarea"
    return schema | extra


def expression(title: str, **extra: Any) -> dict:
    return {"type": "string", "title": title, "minLength": 1, "x-expression": True} | extra


def code(language: str, default: str) -> dict:
    return {
        "type": "string",
        "title": "Code",
        "minLength": 1,
        "maxLength": 256 * 1024,
        "x-widget": "code",
        "x-language": language,
        "default": default,
    }


def node_reference(title: str, **extra: Any) -> dict:
    return {"type": "string", "title": title, "x-widget": "node"} | extra


def references(node: Node, graph: Graph, field: str) -> Iterator[Problem]:
    """A config field naming another node must name one that exists."""
    target = node.config.get(field)
    if target and target not in graph.nodes:
        yield Problem(
            f"There is no node {target!r} in this flow.", node=node.id, field=f"config.{field}"
        )


def _template_problems(
    schema: Mapping[str, Any], value: Any, node_id: str, where: str
) -> Iterator[Problem]:
    """Walk the config beside its schema and compile every template and expression."""
    if schema.get("x-template") == "value":
        yield from _value_template_problems(value, node_id, where)
    elif isinstance(value, str):
        problem = None
        if schema.get("x-template"):
            problem = template_problem(value)
        elif schema.get("x-expression"):
            problem = expression_problem(value)
        if problem:
            yield Problem(problem, node=node_id, field=where)
    elif isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else {})
            yield from _template_problems(sub, item, node_id, f"{where}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _template_problems(schema["items"], item, node_id, f"{where}[{index}]")


def _value_template_problems(value: Any, node_id: str, where: str) -> Iterator[Problem]:
    if isinstance(value, str):
        problem = template_problem(value)
        if problem:
            yield Problem(problem, node=node_id, field=where)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _value_template_problems(item, node_id, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _value_template_problems(item, node_id, f"{where}[{index}]")
