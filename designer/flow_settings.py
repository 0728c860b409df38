"""Flow-level settings: what applies to every run of a version rather than to one node.

A graph may carry them under its top-level ``"settings"``::

    {"nodes": [...], "edges": [...],
     "settings": {"concurrency": {"limit": 1, "key": "{{ event.trigger.body.customer_id }}"}}}

``concurrency.limit`` caps how many runs of the flow are live (pending or running) at once;
``concurrency.key``, a template over the run's ``event``, makes that cap per rendered key
(one run at a time per customer). Like everything in a version, they are immutable: a run
keeps the settings of the version it started on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from designer.schema_errors import schema_errors

MAX_CONCURRENCY = 1000
MAX_KEY_TEMPLATE = 500

FLOW_SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "concurrency": {
            "type": "object",
            "additionalProperties": False,
            "required": ["limit"],
            "properties": {
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_CONCURRENCY,
                    "title": "Concurrent runs",
                },
                "key": {"type": "string", "maxLength": MAX_KEY_TEMPLATE, "title": "Per key"},
            },
        },
    },
}
_VALIDATOR = Draft202012Validator(FLOW_SETTINGS_SCHEMA)

# Why a template does not compile, or None (the runtime's templating supplies it: this
# package does not import the runtime).
TemplateCheck = Callable[[str], str | None]


@dataclass(frozen=True)
class Concurrency:
    limit: int
    key: str = ""  # a template; "" means one limit for the whole flow


@dataclass(frozen=True)
class FlowSettings:
    concurrency: Concurrency | None = None

    def as_json(self) -> dict[str, Any]:
        if self.concurrency is None:
            return {}
        concurrency: dict[str, Any] = {"limit": self.concurrency.limit}
        if self.concurrency.key:
            concurrency["key"] = self.concurrency.key
        return {"concurrency": concurrency}


def parse_flow_settings(
    raw: Any, template_check: TemplateCheck | None
) -> tuple[FlowSettings, list[tuple[str, str]]]:
    """The settings and the problems found, each as (dotted field, message)."""
    if raw in (None, {}):
        return FlowSettings(), []
    problems = list(schema_errors(_VALIDATOR, raw, "settings"))
    if problems:
        return FlowSettings(), problems
    settings = load_flow_settings(raw)
    key = settings.concurrency.key if settings.concurrency else ""
    if key and template_check is not None:
        problem = template_check(key)
        if problem:
            problems.append(("settings.concurrency.key", problem))
    return settings, problems


def load_flow_settings(raw: Mapping[str, Any] | None) -> FlowSettings:
    """The settings of a stored (already validated) graph; keys no longer known are ignored."""
    concurrency = (raw or {}).get("concurrency")
    if not concurrency:
        return FlowSettings()
    return FlowSettings(Concurrency(limit=concurrency["limit"], key=concurrency.get("key", "")))
