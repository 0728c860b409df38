"""Flow-level settings: what applies to every run of a version rather than to one node.

A graph may carry them under its top-level ``"settings"``::

    {"nodes": [...], "edges": [...],
     "settings": {"concurrency": {"limit": 1, "key": "{{ event.trigger.body.customer_id }}"}}}

``concurrency.limit`` caps how many runs of the flow are live (pending or running) at once;
``concurrency.key``, a template over the run's ``event``, makes that cap per rendered key
(one run at a time per customer). Like everything in a version, they are immutable: a run
keeps the settings of the version it started on.

``on_failure`` says what happens when a run of the flow fails::

    "settings": {"on_failure": {"flow": 12,
                                "alert": {"emails": ["ops@example.com"], "quiet_minutes": 15}}}

``flow`` is an error flow of the same workspace (its live version starts "When a flow
fails", runtime.triggers.error); ``alert`` emails the addresses, at most once per
``quiet_minutes`` per flow. What a flow id may name is checked against the workspace when
the version is saved (runtime.services.graph_check_workspace); this module checks the shape.

``queue`` sends every step of the flow's runs to that worker queue (``"reports"``) instead
of its kind's; whether the operator declared it is checked when the version is saved too
(runtime.engine.queues).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from jsonschema import Draft202012Validator

from designer.schema_errors import schema_errors

MAX_CONCURRENCY = 1000
MAX_KEY_TEMPLATE = 500
MAX_ALERT_EMAILS = 20
DEFAULT_QUIET_MINUTES = 15
MAX_QUIET_MINUTES = 7 * 24 * 60
# A Celery queue's name, as TRIBUTARY_QUEUES declares them (config.env.QUEUE_NAME).
QUEUE_PATTERN = "^[a-z0-9][a-z0-9_-]{0,39}$"

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
        "queue": {
            "type": "string",
            "pattern": QUEUE_PATTERN,
            "title": "Queue",
            "description": "The worker queue every step of the flow runs on (e.g. reports).",
        },
        "on_failure": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "flow": {"type": "integer", "minimum": 1, "title": "Error flow"},
                "alert": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["emails"],
                    "properties": {
                        "emails": {
                            "type": "array",
                            "title": "Alert emails",
                            "minItems": 1,
                            "maxItems": MAX_ALERT_EMAILS,
                            "items": {"type": "string", "maxLength": 254},
                        },
                        "quiet_minutes": {
                            "type": "integer",
                            "title": "Quiet period (minutes)",
                            "minimum": 1,
                            "maximum": MAX_QUIET_MINUTES,
                            "default": DEFAULT_QUIET_MINUTES,
                        },
                    },
                },
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
class Alert:
    emails: tuple[str, ...]
    quiet_minutes: int = DEFAULT_QUIET_MINUTES


@dataclass(frozen=True)
class OnFailure:
    flow: int | None = None  # the error flow's id; None: no error flow
    alert: Alert | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.flow is not None:
            data["flow"] = self.flow
        if self.alert is not None:
            data["alert"] = {
                "emails": list(self.alert.emails),
                "quiet_minutes": self.alert.quiet_minutes,
            }
        return data


@dataclass(frozen=True)
class FlowSettings:
    concurrency: Concurrency | None = None
    on_failure: OnFailure | None = None
    queue: str = ""  # "": each step's kind decides (runtime.engine.queues)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.concurrency is not None:
            concurrency: dict[str, Any] = {"limit": self.concurrency.limit}
            if self.concurrency.key:
                concurrency["key"] = self.concurrency.key
            data["concurrency"] = concurrency
        if self.on_failure is not None:
            data["on_failure"] = self.on_failure.as_json()
        if self.queue:
            data["queue"] = self.queue
        return data


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
    problems.extend(_email_problems(settings.on_failure))
    return settings, problems


def _email_problems(on_failure: OnFailure | None) -> list[tuple[str, str]]:
    if on_failure is None or on_failure.alert is None:
        return []
    problems = []
    for index, address in enumerate(on_failure.alert.emails):
        try:
            validate_email(address)
        except ValidationError:
            where = f"settings.on_failure.alert.emails.{index}"
            problems.append((where, f"{address!r} is not an email address."))
    return problems


def load_flow_settings(raw: Mapping[str, Any] | None) -> FlowSettings:
    """The settings of a stored (already validated) graph; keys no longer known are ignored."""
    raw = raw or {}
    concurrency = raw.get("concurrency")
    return FlowSettings(
        concurrency=Concurrency(limit=concurrency["limit"], key=concurrency.get("key", ""))
        if concurrency
        else None,
        on_failure=_load_on_failure(raw.get("on_failure")),
        queue=raw.get("queue", ""),
    )


def _load_on_failure(raw: Mapping[str, Any] | None) -> OnFailure | None:
    """None when the flow neither starts an error flow nor alerts anyone ({} says nothing)."""
    if not raw or (raw.get("flow") is None and not raw.get("alert")):
        return None
    alert = raw.get("alert")
    return OnFailure(
        flow=raw.get("flow"),
        alert=Alert(
            emails=tuple(alert["emails"]),
            quiet_minutes=alert.get("quiet_minutes", DEFAULT_QUIET_MINUTES),
        )
        if alert
        else None,
    )
