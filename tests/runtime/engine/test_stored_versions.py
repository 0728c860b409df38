"""A saved version stays runnable forever: loading it for execution parses its structure
but never judges its configs (or settings) against today's schemas, while a new save is
judged by them."""

from __future__ import annotations

import copy

import pytest
from jsonschema import Draft202012Validator

from designer import graph as graph_module
from designer.graph import SETTINGS_SCHEMA, GraphInvalid, load_stored_graph
from designer.services import flow_version_save
from runtime.engine import execute
from runtime.engine.graphs import graph_of
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run, StepRun
from runtime.runs import run_start
from runtime.steps import data_transform
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, publish, with_settings

pytestmark = pytest.mark.django_db


def run_here(run: Run) -> Run:
    """Execute the run's steps in this process, as a worker would, until none is queued."""
    for _ in range(20):
        queued = StepRun.objects.filter(run=run, status=StepStatus.QUEUED).values_list(
            "pk", flat=True
        )
        if not queued:
            break
        for step_id in queued:
            execute.step_execute(step_id)
    run.refresh_from_db()
    return run


@pytest.fixture
def stricter_transforms(monkeypatch: pytest.MonkeyPatch) -> None:
    """data.transform now also requires a ``label`` of at most 3 characters."""
    schema = copy.deepcopy(data_transform.KIND.config_schema)
    schema["required"] = [*schema.get("required", []), "label"]
    schema["properties"]["label"] = {"type": "string", "maxLength": 3}
    monkeypatch.setattr(type(data_transform.KIND), "config_schema", schema)


@pytest.fixture
def fewer_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps may now retry at most twice."""
    schema = copy.deepcopy(SETTINGS_SCHEMA)
    schema["properties"]["retries"]["maximum"] = 2
    monkeypatch.setattr(graph_module, "_SETTINGS_VALIDATOR", Draft202012Validator(schema))


def test_an_old_version_runs_after_its_kind_schema_tightens(
    team: Team, request: pytest.FixtureRequest
) -> None:
    graph = chain(with_settings(node("shape", "data.transform", value={"n": 7}), retries=5))
    flow = publish(team, graph)
    version = flow.live_version
    assert version is not None
    request.getfixturevalue("stricter_transforms")
    request.getfixturevalue("fewer_retries")

    run = run_here(run_start(flow=flow, version=version, payload={}, started_by=team.editor))

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == {"n": 7}
    with pytest.raises(GraphInvalid) as refused:
        flow_version_save(flow=flow, user=team.editor, graph=graph, message="same graph")
    problems = {(p.node, p.field): p.message for p in refused.value.problems}
    assert set(problems) == {("shape", "config.label"), ("shape", "settings.retries")}


def test_a_stored_graph_loads_with_settings_and_kinds_that_no_longer_exist() -> None:
    stored = {
        "nodes": [
            {"id": "start", "type": "trigger.manual", "config": {}},
            {
                "id": "old",
                "type": "retired.kind",
                "name": "Old",
                "config": {"anything": True},
                "settings": {"retries": 50, "removed_setting": 1},
            },
        ],
        "edges": [{"source": "start", "target": "old"}],
    }
    graph = load_stored_graph(stored)
    assert graph.nodes["old"].settings.retries == 50
    assert graph.nodes["old"].type == "retired.kind"
    assert graph.nodes["start"].is_trigger and not graph.nodes["old"].is_trigger
    assert [(e.source, e.target) for e in graph.edges] == [("start", "old")]


def test_the_engine_reads_a_version_once_per_process(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    assert flow.live_version is not None
    assert graph_of(flow.live_version) is graph_of(flow.live_version)
