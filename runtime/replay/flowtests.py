"""Flow tests: a run kept as a test case (its trigger input, what its steps recorded, and
expectations on chosen nodes), replayed against each saved version in the background. A
version whose tests fail is not published unless a workspace admin says why."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from designer.models import Flow, FlowVersion
from runtime.engine.status import RUN_FINISHED
from runtime.models import FlowTest, ReplayBatch, Run
from runtime.replay import batches, start
from runtime.runs import RunRefused

CHECKS = ("equals", "subset", "status")
ON = ("output", "sent")
MAX_TESTS = 100


def expectations_problem(expectations: Any, nodes: Sequence[str]) -> tuple[str, str] | None:
    """(field, message) for the first thing wrong with ``expectations``, or None."""
    if not isinstance(expectations, list) or not expectations:
        return "expectations", "Give at least one expectation: a node and what to check."
    for index, item in enumerate(expectations):
        where = f"expectations[{index}]"
        if not isinstance(item, dict):
            return where, "Each expectation is an object with node, check and value."
        unknown = set(item) - {"node", "check", "on", "value", "ignore"}
        if unknown:
            return f"{where}.{sorted(unknown)[0]}", "Unknown field."
        if item.get("node") not in nodes:
            return f"{where}.node", f"The run has no step {item.get('node')!r}."
        if item.get("check") not in CHECKS:
            return f"{where}.check", f"check is one of {', '.join(CHECKS)}."
        if item.get("on", "output") not in ON:
            return f"{where}.on", "on is output (what the step returned) or sent."
        if "value" not in item:
            return f"{where}.value", "Say what the step must give (the expected value)."
        ignore = item.get("ignore", [])
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            return f"{where}.ignore", "ignore is a list of paths such as sent_at or items[0].id."
    return None


def test_create(
    *, run: Run, name: str, expectations: list[dict[str, Any]], user: User | None
) -> FlowTest:
    """Keep ``run`` (a finished, top-level run) as a test case of its flow."""
    if run.status not in RUN_FINISHED or run.scope or run.replay is not None:
        raise RunRefused("Only a finished run of the flow (not a replay) can become a test.")
    name = name.strip()
    if not name or len(name) > 200:
        raise RunRefused("A test needs a name of 1-200 characters.", field="name")
    recorded = start.recorded_of(run)
    problem = expectations_problem(expectations, sorted(recorded))
    if problem:
        raise RunRefused(problem[1], field=problem[0])
    if FlowTest.objects.filter(flow_id=run.flow_id).count() >= MAX_TESTS:
        raise RunRefused(f"A flow has at most {MAX_TESTS} tests.")
    try:
        with transaction.atomic():
            return FlowTest.objects.create(
                flow_id=run.flow_id,
                name=name,
                trigger_node=run.trigger_node,
                input=run.input,
                recorded=recorded,
                expectations=expectations,
                source_run=run,
                created_by=user,
            )
    except IntegrityError:
        raise RunRefused(f"This flow already has a test named {name!r}.", field="name") from None


def tests_start(*, flow: Flow, version: FlowVersion, user: User | None) -> ReplayBatch | None:
    """Replay every test of ``flow`` against ``version`` (None when it has none)."""
    from runtime import tasks

    tests = list(FlowTest.objects.filter(flow=flow).values_list("pk", flat=True))
    if not tests:
        return None
    batch = start.batch_create(
        flow=flow,
        version=version,
        total=len(tests),
        user=user,
        purpose=ReplayBatch.Purpose.TESTS,
    )
    transaction.on_commit(lambda: tasks.tests_fill.delay(batch.pk, tests))
    return batch


def tests_fill(batch_id: int, test_ids: Sequence[int]) -> None:
    """Start the replays of the tests not started yet in the batch (safe to run again)."""
    batch = ReplayBatch.objects.select_related("flow", "version", "created_by").get(pk=batch_id)
    done = set(Run.objects.filter(replay_batch=batch).values_list("replay__test", flat=True))
    for test in FlowTest.objects.filter(pk__in=list(test_ids)).order_by("pk"):
        if test.pk not in done:
            start.replay_start(
                batch=batch,
                payload=test.input,
                trigger_node=test.trigger_node,
                origin=f"test {test.name!r}",
                spec={"of": None, "test": test.pk, "recorded": test.recorded, "perform": []},
                user=batch.created_by,
            )


@dataclass
class CaseResult:
    test: int
    name: str
    state: str  # "running", "passed", "failed"
    run: int | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Verdict:
    """The tests of one version: ``state`` is "none" (no test), "running", "passed" or
    "failed"."""

    state: str
    batch: int | None = None
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def failing(self) -> list[CaseResult]:
        return [case for case in self.cases if case.state == "failed"]

    def as_dict(self) -> dict[str, Any]:
        done = sum(case.state != "running" for case in self.cases)
        return {
            "state": self.state,
            "batch": self.batch,
            "total": len(self.cases),
            "done": done,
            "passed": sum(case.state == "passed" for case in self.cases),
            "failed": len(self.failing),
            "cases": [case.__dict__ for case in self.cases],
        }


def verdict(version: FlowVersion) -> Verdict:
    """The latest test batch of ``version`` and how each case fared."""
    batch = (
        ReplayBatch.objects.filter(version=version, purpose=ReplayBatch.Purpose.TESTS)
        .order_by("-id")
        .first()
    )
    tests = {test.pk: test for test in FlowTest.objects.filter(flow_id=version.flow_id)}
    if not tests:
        return Verdict("none")
    if batch is None:
        return Verdict(
            "missing", cases=[CaseResult(pk, t.name, "running") for pk, t in tests.items()]
        )
    runs = {
        (run.replay or {}).get("test"): run
        for run in Run.objects.filter(replay_batch=batch).only("id", "status", "replay")
    }
    steps = batches.replay_steps([run.pk for run in runs.values() if run.status in RUN_FINISHED])
    cases = []
    for pk, test in sorted(tests.items(), key=lambda item: item[1].name):
        run = runs.get(pk)
        if run is None or run.status not in RUN_FINISHED:
            cases.append(CaseResult(pk, test.name, "running", run.pk if run else None))
            continue
        failures = evaluate(test.expectations, steps.get(run.pk, {}))
        cases.append(
            CaseResult(pk, test.name, "failed" if failures else "passed", run.pk, failures)
        )
    if any(case.state == "running" for case in cases):
        state = "running"
    else:
        state = "failed" if any(case.state == "failed" for case in cases) else "passed"
    return Verdict(state, batch.pk, cases)


def evaluate(
    expectations: Sequence[dict[str, Any]], steps: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each expectation the replay's ``steps`` do not meet, with a sentence saying how."""
    failures = []
    for expectation in expectations:
        node = expectation["node"]
        step = steps.get(node)
        message = _miss(expectation, step)
        if message:
            failures.append({"node": node, "check": expectation["check"], "message": message})
    return failures


def _miss(expectation: dict[str, Any], step: dict[str, Any] | None) -> str | None:
    check, expected = expectation["check"], expectation["value"]
    if step is None:
        return "The step is not in this version."
    if check == "status":
        if step["status"] != expected:
            return f"Expected status {expected}, got {step['status']}."
        return None
    if expectation.get("on", "output") == "sent":
        shown = step.get("input") if isinstance(step.get("input"), dict) else {}
        actual = (shown or {}).get("would_send", step.get("input"))
    else:
        actual = step.get("output")
    ignore = expectation.get("ignore", [])
    actual, expected = _without(actual, ignore), _without(expected, ignore)
    if check == "equals" and actual != expected:
        return f"Expected {_short(expected)}, got {_short(actual)}."
    if check == "subset" and not _contains(actual, expected):
        return f"Expected a value containing {_short(expected)}, got {_short(actual)}."
    return None


def _contains(actual: Any, expected: Any) -> bool:
    """Whether ``expected`` is a JSON subset of ``actual`` (objects by key, recursively)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) >= len(expected)
            and all(_contains(a, e) for a, e in zip(actual, expected, strict=False))
        )
    return type(actual) is type(expected) and actual == expected


def _without(value: Any, paths: Sequence[str]) -> Any:
    """``value`` without the fields at ``paths`` (dotted, with [n] for list items)."""
    if not paths:
        return value
    value = copy.deepcopy(value)
    for path in paths:
        parts = path.replace("[", ".").replace("]", "").split(".")
        target = value
        for part in parts[:-1]:
            target = _child(target, part)
        last = parts[-1]
        if isinstance(target, dict):
            target.pop(last, None)
        elif isinstance(target, list) and last.isdigit() and int(last) < len(target):
            target[int(last)] = None
    return value


def _child(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list) and part.isdigit() and int(part) < len(value):
        return value[int(part)]
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def tests_export(flow: Flow) -> list[dict[str, Any]]:
    """The flow's tests as an export carries them."""
    return [
        {
            "name": test.name,
            "trigger_node": test.trigger_node,
            "input": test.input,
            "recorded": test.recorded,
            "expectations": test.expectations,
        }
        for test in FlowTest.objects.filter(flow=flow).order_by("name")
    ]


def tests_import(flow: Flow, data: Any, user: User | None) -> None:
    """Create the tests an export carries; RunRefused naming the first bad one."""
    if data is None:
        return
    if not isinstance(data, list) or len(data) > MAX_TESTS:
        raise RunRefused(f"tests must be a list of at most {MAX_TESTS} tests.", field="tests")
    names = set()
    for index, item in enumerate(data):
        where = f"tests[{index}]"
        if not isinstance(item, dict):
            raise RunRefused("Each test is an object.", field=where)
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200 or name in names:
            raise RunRefused("Each test needs a unique name of 1-200 characters.", field=where)
        names.add(name)
        recorded = item.get("recorded")
        if not isinstance(recorded, dict) or not isinstance(item.get("trigger_node"), str):
            raise RunRefused("A test carries its trigger_node and recorded steps.", field=where)
        problem = expectations_problem(item.get("expectations"), sorted(recorded))
        if problem:
            raise RunRefused(problem[1], field=f"{where}.{problem[0]}")
        FlowTest.objects.create(
            flow=flow,
            name=name.strip(),
            trigger_node=item["trigger_node"],
            input=item.get("input", {}),
            recorded=recorded,
            expectations=item["expectations"],
            created_by=user,
        )
