"""The REST API survives a fuzzer: schemathesis reads the OpenAPI schema the app serves at
/api/schema/ and sends every operation generated requests — valid ones, boundary values and
schema-violating ones — as a workspace's editor, viewer and admin. No answer may be a 5xx,
carry a status code the schema does not document, or break the documented response schema.

Every id in a path usually names an object seeded here (a published flow with older and
newer versions, an archived flow, one without versions, runs in each state, a secret, a
connection a queue trigger consumes through, a dead letter), so requests reach the views
instead of stopping at 404.

Requests go through Django's WSGI handler in the test's own thread, so they see the test's
transaction on the real PostgreSQL and everything they write is rolled back afterwards.
The served app is the same Django stack under ASGI; what differs (body framing) has its own
tests in tests/runtime/triggers/test_webhook_framing.py.

The run is seeded and derandomized: CI sees the same requests every time. The long run:
``scripts/fuzz`` (more examples per operation, see README).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.schemas import OpenApiSchema

from designer.models import Flow
from designer.services import flow_archive, flow_create, flow_publish, flow_version_save
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import ContainerImage, QueueDeadLetter, Run
from runtime.resources.connections import services as connection_services
from runtime.resources.connections.services import connection_create
from runtime.runs import run_start
from runtime.services import secret_set
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.openapi import InProcessApp, token_for

# The checks the API promises; data acceptance is judged by the named tests instead (DRF
# tolerates some schema-violating query strings, e.g. a page_size it ignores).
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
SEED = 20261201


def orders_graph(message: str) -> dict[str, Any]:
    """Every trigger kind a path can name, feeding one step."""
    triggers = [
        node("start", "trigger.manual", "Start"),
        node("hook", "trigger.webhook", "Order posted"),
        node("nightly", "trigger.cron", "Nightly", expression="0 2 * * *"),
        node("on_order", "trigger.event", "Order created", event_type="order.created"),
        node("in", "trigger.queue", "From the bus", connection="bus", source="orders"),
    ]
    return graph(
        *triggers,
        node("shape", "data.transform", "Shape", value={"message": message}),
        edges=[edge(trigger["id"], "shape") for trigger in triggers],
    )


@dataclass
class Seeded:
    """What the personas' workspace holds: the values each dictionary offers the fuzzer."""

    ids: dict[str, list[Any]]


# Where each dictionary's values go: ids in paths, and the fields of queries and bodies that
# name objects (a version to publish or compare, a workspace, a trigger node).
BINDINGS = {
    "path.flow_id": "flows",
    "path.number": "numbers",
    "path.node_id": "nodes",
    "path.run_id": "runs",
    "path.secret_id": "secrets",
    "path.connection_id": "connections",
    "path.image_id": "images",
    "query.flow": "flows",
    "query.workspace": "workspaces",
    "query.against": "numbers",
    "query.version": "numbers",
    "body.workspace": "workspaces",
    "body.version": "numbers",
    "body.based_on": "numbers",
    "body.trigger": "nodes",
}


def seed(team: Team) -> Seeded:
    admin, space = team.admin, team.workspace
    bus = connection_create(
        workspace=space, user=admin, data={"name": "bus", "kind": "redis", "host": "127.0.0.1"}
    )
    secret = secret_set(workspace=space, name="SHOP_KEY", value="s3cret", user=admin)
    orders = flow_create(user=team.editor, workspace=space, name="Orders", graph=orders_graph("1"))
    flow_version_save(flow=orders, user=team.editor, graph=orders_graph("2"), message="two")
    flow_publish(flow=orders, user=team.editor, number=2)
    flow_version_save(flow=orders, user=team.editor, graph=orders_graph("3"), message="draft")
    orders.refresh_from_db()
    old = flow_create(user=team.editor, workspace=space, name="Old", graph=orders_graph("old"))
    flow_archive(flow=old, user=team.editor)
    empty = flow_create(user=team.editor, workspace=space, name="Empty")
    QueueDeadLetter.objects.create(
        flow=orders, node_id="in", connection_name="bus", source="orders", reason="Not JSON"
    )
    runs = seed_runs(team, orders)
    image = ContainerImage.objects.create(
        workspace=space, name="pricing", source=ContainerImage.Source.REGISTRY,
        reference="registry.example.com/team/pricing:1", status=ContainerImage.Status.PULLING,
    )  # fmt: skip
    return Seeded(
        ids={
            "flows": [orders.pk, old.pk, empty.pk],
            "numbers": [1, 2, 3],
            "nodes": ["hook", "start", "shape"],
            "runs": [run.pk for run in runs],
            "secrets": [secret.pk],
            "connections": [bus.pk],
            "images": [image.pk],
            "workspaces": [space.pk],
        }
    )


def seed_runs(team: Team, flow: Flow) -> list[Run]:
    """A run in each state the run actions care about: succeeded, failed, running."""
    assert flow.live_version is not None
    runs = []
    for status, trigger in (
        (RunStatus.SUCCEEDED, "start"),
        (RunStatus.FAILED, "hook"),
        (RunStatus.RUNNING, "start"),
    ):
        run = run_start(
            flow=flow,
            version=flow.live_version,
            payload={"order": 1},
            trigger_node=trigger,
            started_by=team.editor,
            origin="fuzz seed",
        )
        finish(run, status)
        runs.append(run)
    return runs


# The status a run's steps after its trigger end in, and their error, per run status.
STEPS_OF = {
    RunStatus.SUCCEEDED: (StepStatus.SUCCEEDED, ""),
    RunStatus.FAILED: (StepStatus.FAILED, "Boom"),
    RunStatus.RUNNING: (StepStatus.RUNNING, ""),
}


def finish(run: Run, status: RunStatus) -> None:
    """Put ``run`` in ``status`` as if a worker had run it (no worker runs here)."""
    now = timezone.now()
    step_status, error = STEPS_OF[status]
    run.steps.exclude(node_id=run.trigger_node).update(
        status=step_status, started_at=now, finished_at=now, error=error
    )
    Run.objects.filter(pk=run.pk).update(status=status, started_at=now, finished_at=now)


def aim_coverage_at_seeded_objects(api_schema: OpenApiSchema, seeded: Seeded) -> None:
    """The coverage phase (boundary and schema-violating values, one field at a time) does
    not draw from the dictionaries: its cases would all carry made-up ids and stop at 404.
    Point their path ids at seeded objects, except in the cases that probe that id."""
    path_bindings = {
        where.removeprefix("path."): name for where, name in BINDINGS.items() if "path." in where
    }
    # Each operation takes each id's values in turn from the first, whatever others took.
    turns: dict[tuple[str, str], Iterator[int]] = defaultdict(itertools.count)

    @api_schema.hook
    def map_case(context: Any, case: schemathesis.Case) -> schemathesis.Case:
        meta = case.meta
        if meta is None or meta.phase.name != TestPhase.COVERAGE:
            return case
        data = meta.phase.data
        probed = data.parameter if data.parameter_location == ParameterLocation.PATH else None
        for parameter in list(case.path_parameters or {}):
            if parameter == probed or parameter not in path_bindings:
                continue
            values = seeded.ids[path_bindings[parameter]]
            turn = next(turns[case.operation.label, parameter])
            case.path_parameters[parameter] = values[turn % len(values)]
        return case


class FakeTester:
    """Testing a connection opens one to whatever host the body names: the fuzzer's
    hosts would leave the machine. Connecting is covered against real local servers in
    tests/runtime/resources/connections."""

    def test(self, params: Any, timeout: float) -> str:
        return f"Connected to {params.host} (fake)."


def config_for(token: str, seeded: Seeded, examples: int) -> schemathesis.Config:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Token {token}"},
            "generation": {
                "max-examples": examples,
                "deterministic": True,
                "database": "none",
            },
            "checks": {"enabled": False} | {name: {"enabled": True} for name in CHECKS},
            "dictionaries": {name: {"values": values} for name, values in seeded.ids.items()},
            # Mostly the seeded objects; sometimes whatever the fuzzer makes up (404s).
            "parameters": {
                where: {"dictionary": name, "probability": 0.8} for where, name in BINDINGS.items()
            },
        }
    )
    # Any code point, lone surrogates too: JSON can escape one ("\ud800") and PostgreSQL
    # cannot store it. (The configuration's dict form has no way to ask for this.)
    config.projects.default.generation.codec = None
    return config


# CI fuzzes every operation as the editor. The same requests as the viewer and the admin
# (other answers from the same views) are long tests, run by scripts/fuzz and scripts/long:
# each would cost CI about a minute.
@pytest.fixture(
    params=[
        "editor",
        pytest.param("viewer", marks=pytest.mark.long),
        pytest.param("admin", marks=pytest.mark.long),
    ]
)
def api_schema(
    request: pytest.FixtureRequest, team: Team, monkeypatch: pytest.MonkeyPatch
) -> OpenApiSchema:
    """The served schema, set to fuzz as one persona of a seeded workspace."""
    # schemathesis 4.32 reads the item's private _nodeid, which pytest 9.2 no longer has.
    request.node._nodeid = request.node.nodeid
    monkeypatch.setattr(connection_services, "tester", lambda kind: FakeTester())
    seeded = seed(team)
    token = token_for(getattr(team, request.param))
    config = config_for(token, seeded, request.config.getoption("--fuzz-examples"))
    served = schemathesis.openapi.from_wsgi("/api/schema/", InProcessApp(), config=config)
    aim_coverage_at_seeded_objects(served, seeded)
    return served


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
# Every example is a request against PostgreSQL, slower than Hypothesis expects of a test.
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_no_operation_answers_a_server_error_or_breaks_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate()
