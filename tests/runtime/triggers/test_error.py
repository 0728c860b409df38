"""trigger.error ('When a flow fails'): its test input is a failure shaped as a live one,
refusing keys no failure has; a failed run's link is absolute with TRIBUTARY_PUBLIC_URL.
(Starting it on a real failure: tests/runtime/engine/test_failures.py.)"""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.engine.failures import run_url
from tests.conftest import Team
from tests.factories import flow, graph, node

pytestmark = pytest.mark.django_db

HANDLER = graph(node("failed", "trigger.error", "A flow failed"))


def test_a_test_run_gets_the_sample_over_an_example_failure(team: Team) -> None:
    handler = flow(team.editor, team.workspace, "Alerts", HANDLER)
    response = team.client(team.editor).post(
        f"/api/flows/{handler.pk}/runs/",
        {"input": {"error": "Charge card failed: HTTP 502", "version": 9}, "test": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    given = response.json()["input"]
    assert (given["error"], given["version"]) == ("Charge card failed: HTTP 502", 9)
    assert given["failed_step"] == {"id": "charge", "name": "Charge card", "kind": "http.request"}
    assert set(given) == {"flow", "version", "run", "failed_step", "error", "failed_at"}


def test_a_test_input_with_a_key_no_failure_has_is_refused(team: Team) -> None:
    handler = flow(team.editor, team.workspace, "Alerts", HANDLER)
    response = team.client(team.editor).post(
        f"/api/flows/{handler.pk}/runs/", {"input": {"body": {}}, "test": True}, format="json"
    )
    assert response.status_code == 400
    [problem] = response.json()["errors"]
    assert problem["field"] == "input"
    assert "A live run has no 'body'" in problem["message"]


def test_the_failed_runs_link_follows_the_public_url(settings: SettingsWrapper) -> None:
    settings.PUBLIC_URL = "https://tributary.example"
    assert run_url(812) == "https://tributary.example/runs/812/"
    settings.PUBLIC_URL = ""
    assert run_url(812) == "/runs/812/"
