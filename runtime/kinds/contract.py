"""The contract every trigger and step kind implements, and helpers for config schemas.

A kind is a class in its own module under ``runtime/triggers/`` or ``runtime/steps/`` and
one line in ``runtime/kinds/catalog.py``. Its ``config_schema`` is JSON Schema (2020-12) with a
few ``x-`` hints the designer uses to build the form:

- ``x-template: "text" | "html"``: a Jinja template over ``event`` (checked on save);
- ``x-template: "value"``: any JSON value whose strings are templates (data.transform);
- ``x-expression: true``: a Jinja expression, e.g. ``event.trigger.body.total > 100``;
- ``x-widget: "code"`` with ``x-language``; ``x-widget: "textarea" | "secret" | "node"``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from designer.graph import Graph, Node, Problem
from designer.models import Flow
from runtime.kinds.resume import resume_url
from runtime.kinds.taint import plain, steps_read
from runtime.kinds.templating import (
    evaluate,
    expression_problem,
    render,
    render_value,
    template_problem,
)

# The longest a step may wait (a delay, a wait for an event or a person): a year and a day.
MAX_WAIT_SECONDS = 366 * 24 * 3600


class StepError(Exception):
    """A step failed in a way the user should read: ``str(exc)`` is shown as the error.

    ``retryable=False`` skips the retry policy (a 404 will not turn into a 200 by waiting).
    ``timeout`` or ``kind`` (a short word such as "http_status") name the kind of failure
    an error path reads as ``event.steps.<id>.error.type`` (see ``error_type``).
    """

    def __init__(
        self,
        message: str,
        *,
        detail: str = "",
        retryable: bool = True,
        timeout: bool = False,
        kind: str = "",
    ):
        self.detail = detail
        self.retryable = retryable
        self.timeout = timeout
        self.kind = kind
        super().__init__(message)

    @property
    def error_type(self) -> str:
        return self.kind or ("timeout" if self.timeout else "step_error")


class SampleRefused(Exception):
    """A test run's sample is not something the trigger could deliver; the message says
    what a live firing of it looks like."""


class Wait(Exception):
    """Raised by a step that must wait (a delay) until ``until``; the engine parks it in
    Postgres and a scheduler wakes it, so no worker is held meanwhile."""

    def __init__(self, until: datetime):
        self.until = until
        super().__init__(f"Waiting until {until.isoformat()}")


@dataclass(frozen=True)
class WaitSpec:
    """What a paused step waits for (runtime.engine.waits): ``kind`` "approval" or "event";
    ``until`` its timeout (None: none); for an event, its type and the payload field that
    must equal the rendered ``match_value``; ``details`` what the waiting page shows."""

    kind: str
    until: datetime | None = None
    event_type: str = ""
    match_path: str = ""
    match_value: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Suspend(Exception):
    """Raised by a kind that ``suspends`` until something arrives from outside (a person's
    decision, a resume call, an event): the engine records ``spec`` and parks the step
    without holding a worker; it runs again with ``ctx.resumed`` set when something
    arrives, or with ``ctx.wake_at`` passed when ``spec.until`` came first."""

    def __init__(self, spec: WaitSpec):
        self.spec = spec
        super().__init__(f"Waiting for {spec.kind}")


@dataclass(frozen=True)
class ChildSpec:
    """One child run a step asks for (runtime.engine.children): a run of flow ``flow_id``
    (same workspace) on version ``version`` (None: the live one) with ``input`` as its
    trigger's output. ``item_index`` orders a for-each's children; ``scope`` names the
    node whose body a for-each item runs ("" for a whole flow): such a child runs the
    calling run's own version, its input being the item."""

    flow_id: int
    input: Any
    version: int | None = None
    item_index: int | None = None
    scope: str = ""


@dataclass(frozen=True)
class ChildOutcome:
    """What a step that waited sees of one of its children (``ctx.children``)."""

    run_id: int
    flow_id: int
    status: str
    output: Any
    error: str
    item_index: int | None


class WaitForChildren(Exception):
    """Raised by a step kind that needs child runs: the engine starts them in the
    transaction that records the attempt (never twice) and parks the step without holding
    a worker. With ``wait`` (the default) the step runs again once every child finished;
    without, at once. Either way it then finds them in ``ctx.children``.

    ``total`` (a for-each): the children are the first window of ``total`` items; the
    engine starts each next item as one finishes (runtime.engine.items)."""

    def __init__(
        self, children: Sequence[ChildSpec], *, wait: bool = True, total: int | None = None
    ):
        if not children:
            raise ValueError("WaitForChildren needs at least one child")
        self.children = list(children)
        self.wait = wait
        self.total = total
        super().__init__(f"Starting {len(self.children)} child run(s)")


@dataclass
class StepOutput:
    """What a step produced: its output (JSON) and, for a branch, the handle it took."""

    output: Any
    handle: str | None = None


@dataclass
class StepContext:
    """Everything a step kind may use while it runs. Kinds never touch the database."""

    node: Node
    event: dict[str, Any]  # {"trigger": payload, "steps": {node_id: output}}
    info: dict[str, Any]  # run_id, flow_id, version, node_id, attempt: given to code steps
    secrets: Mapping[str, str]  # resolves {{ secrets.NAME }}, recording what was used
    deadline: float  # time.monotonic() by which the step must finish
    wake_at: datetime | None = None  # set when a waiting step has been woken
    cancelled: threading.Event = field(default_factory=threading.Event)
    on_log: Callable[[str], None] | None = None
    input: Any = None  # what the step recorded as its input (shown on the run page)
    logs: list[str] = field(default_factory=list)
    # Upstream nodes whose outputs were derived from secrets (runtime.kinds.taint).
    tainted_upstream: frozenset[str] = frozenset()
    # For a kind that ``starts_children``: the child runs of this attempt's round, in item
    # order (empty until it asked for some), and whether any of them used secrets.
    children: list[ChildOutcome] = field(default_factory=list)
    tainted_children: bool = False
    # In a for-each body: ``item`` and ``index`` for templates, and whether the item was
    # derived from secrets (the loop step used secrets), which taints whatever reads it.
    loop: dict[str, Any] = field(default_factory=dict)
    tainted_item: bool = False
    # For a kind that ``suspends``: what resumed it (None while nothing has).
    resumed: Any = None

    @property
    def config(self) -> Mapping[str, Any]:
        return self.node.config

    @property
    def idempotency_key(self) -> str:
        """The same on every attempt of this step in this run (runtime.kinds.idempotency)."""
        return str(self.info.get("idempotency_key", ""))

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def event_data(self) -> dict[str, Any]:
        """The whole event as plain JSON, for a kind that hands it on (a code step): every
        upstream output counts as read. In a for-each body it also holds ``item`` and
        ``index``."""
        return {"trigger": self.event["trigger"], "steps": plain(self.event["steps"]), **self.loop}

    def uses_secrets(self) -> bool:
        """Whether what this step produced may be derived from a secret: it read one, or
        read the output of an upstream step that did (runtime.kinds.taint)."""
        if getattr(self.secrets, "read", None) or self.tainted_children or self.tainted_item:
            return True
        return bool(self.tainted_upstream & steps_read(self.event.get("steps")))

    def log(self, line: str) -> None:
        self.logs.append(line)
        if self.on_log is not None:
            self.on_log(line)

    def _names(self) -> dict[str, Any]:
        return {
            **self.loop,
            "event": self.event,
            "secrets": self.secrets,
            "resume_url": self._resume_url,
        }

    def _resume_url(self, node_id: str) -> str:
        """``{{ resume_url('wait') }}``: the URL that resumes this run's step ``wait``."""
        return resume_url(int(self.info["run_id"]), str(node_id))

    def render(self, template: str, *, html: bool = False) -> str:
        return render(template, self._names(), html=html)

    def render_value(self, value: Any) -> Any:
        return render_value(value, self._names())

    def evaluate(self, expression: str) -> Any:
        return evaluate(expression, self._names())


class Kind:
    type: ClassVar[str]
    category: ClassVar[Literal["trigger", "step"]]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    config_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False}
    handles: ClassVar[tuple[str, ...]] = ()
    # What a run of this kind produces, as an example value: the designer offers its fields
    # for completion ({{ event.steps.<id>.status }}) before any test run has shown the real
    # output. None when the shape depends on what the user writes (code, a transform).
    output_example: ClassVar[Any] = None

    def check(self, nodes: Sequence[Node], graph: Graph) -> Iterable[Problem]:
        for node in nodes:
            yield from _template_problems(self.config_schema, node.config, node.id, "config")
            yield from self.check_config(node, graph)

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        """Checks beyond the schema for one node; override in a kind."""
        return ()

    def check_in_workspace(
        self, nodes: Sequence[Node], graph: Graph, *, workspace_id: int, flow_id: int | None
    ) -> Iterable[Problem]:
        """Checks against the rest of the workspace (flows a node names) when a version is
        saved or published; ``flow_id`` is the flow saved (None: being created). Override in
        a kind that names other flows; may read the database."""
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
            "output_example": self.output_example,
        }


class TriggerKind(Kind):
    category = "trigger"

    def activate(self, flow: Flow, nodes: Sequence[Node]) -> None:
        """Make ``nodes`` (this kind's nodes of the live version; empty when the flow is
        unpublished or archived) the flow's active triggers of this kind. Runs inside the
        publishing transaction; raise GraphInvalid naming the node to refuse the publish."""

    def test_input(self, node: Node, sample: Any, *, flow: Flow) -> Any:
        """What a live firing of ``node`` would deliver as ``event.trigger``, given the
        parts a test run's ``sample`` states; the rest is filled in as a live firing would.
        Raises SampleRefused for a sample no live firing could produce (so a test never
        passes on an input the flow will not get). By default the sample itself."""
        return sample


class StepKind(Kind):
    category = "step"
    # Whether the kind acts on the world (sends, writes, runs user code): its attempts carry
    # the step's idempotency key, which the run page shows.
    effects: ClassVar[bool] = False
    # Whether the kind may raise WaitForChildren: only then does the engine read the
    # step's children into ctx.children (a query every other step is spared).
    starts_children: ClassVar[bool] = False
    # Pauses until something from outside resumes it (raises Suspend; reads ctx.resumed).
    suspends: ClassVar[bool] = False
    # Pure and cheap (no effect, no wait, milliseconds): a step of this kind whose only
    # parent just finished may run in the task that finished it (runtime.engine.inline),
    # still claimed and recorded as a step of its own.
    inline: ClassVar[bool] = False
    # The Celery queue its tasks go to by default (runtime.engine.queues): "light" for
    # pure steps and bookkeeping, "io" for steps that wait on a network, "compute" for user
    # code. Operators move kinds with TRIBUTARY_QUEUE_ROUTES, flows and steps with settings.
    queue: ClassVar[str] = "io"

    def sends_key(self, config: Mapping[str, Any]) -> bool:
        """Whether a step with ``config`` hands its idempotency key to what it calls."""
        return self.effects

    def run(self, ctx: StepContext) -> StepOutput:
        """Do the step's work. Return an StepOutput, raise StepError (the user reads the
        message), Wait or WaitForChildren; anything else is reported as an internal error
        of the kind."""
        raise NotImplementedError

    def rehearse(self, ctx: StepContext) -> bool:
        """In a replay (runtime.replay), asked before ``run``: False runs the step for real
        (pure or read-only work, user code in its sandbox). A kind that acts on the world
        (sends, writes, waits for someone, starts another flow) instead renders into
        ``ctx.input`` what it would send, exactly as ``run`` would, acts on nothing and
        returns True: the replay takes the output the original run recorded."""
        return False


def template(title: str, *, html: bool = False, multiline: bool = False, **extra: Any) -> dict:
    schema: dict[str, Any] = {
        "type": "string",
        "title": title,
        "x-template": "html" if html else "text",
    }
    if multiline:
        schema["x-widget"] = "textarea"
    return schema | extra


def wait_timeout() -> dict:
    """The ``timeout_seconds`` field of a step that waits for something from outside (a
    wait, an approval): when it passes, the run goes on along the ``timed_out`` output."""
    return {
        "type": "number",
        "title": "Time out after (seconds)",
        "minimum": 1,
        "maximum": MAX_WAIT_SECONDS,
        "description": "Then the run goes on along timed_out (empty: wait forever).",
    }


def timeout_at(config: Mapping[str, Any], now: datetime) -> datetime | None:
    """When a wait with ``config``'s ``timeout_seconds`` times out (None: never)."""
    seconds = config.get("timeout_seconds")
    return now + timedelta(seconds=seconds) if seconds else None


def expression(title: str, **extra: Any) -> dict:
    return {"type": "string", "title": title, "minLength": 1, "x-expression": True} | extra


def code(language: str, default: str, starters: Mapping[str, str] | None = None) -> dict:
    """A code field; ``starters`` maps a trigger kind to the code a new step after that
    trigger starts with (the designer picks it; ``default`` when the trigger is unknown)."""
    schema = {
        "type": "string",
        "title": "Code",
        "minLength": 1,
        "maxLength": 256 * 1024,
        "x-widget": "code",
        "x-language": language,
        "default": default,
    }
    if starters:
        schema["x-starters"] = dict(starters)
    return schema


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
