"""Secrets: encrypted at rest, used through {{ secrets.NAME }}, never returned by the API
and never stored in a run: inputs, outputs, logs and errors are redacted."""

from __future__ import annotations

import pytest

from runtime.engine.status import RunStatus
from runtime.models import Secret
from runtime.services import secret_set
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, start
from tests.stack import Stack, wait_for_run

TOKEN = "sk_live_51abcDEF_very_secret"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_secret_is_sent_but_never_stored_in_the_run(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    secret_set(workspace=team.workspace, name="API_TOKEN", value=TOKEN, user=team.admin)
    run = wait_for_run(
        start(
            team,
            chain(
                node(
                    "call",
                    "http.request",
                    method="POST",
                    url=fake_api.url + "/echo?key={{ secrets.API_TOKEN }}",
                    headers={"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
                    body='{"token": "{{ secrets.API_TOKEN }}"}',
                )
            ),
        )
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert fake_api.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    step = run.steps.get(node_id="call")
    stored = str([step.input, step.output, step.logs, step.error, run.output])
    assert TOKEN not in stored
    assert "[redacted:API_TOKEN]" in str(step.input["headers"])
    assert "[redacted:API_TOKEN]" in str(step.output["body"]["body"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_missing_secret_fails_the_step_with_its_name(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    run = wait_for_run(
        start(
            team,
            chain(
                node(
                    "call",
                    "http.request",
                    url=fake_api.url + "/json",
                    headers={"Authorization": "{{ secrets.NOPE }}"},
                )
            ),
        )
    )
    assert run.status == RunStatus.FAILED
    assert "The secret 'NOPE' is not set" in run.steps.get(node_id="call").error
    assert fake_api.hits["/json"] == 0


@pytest.mark.django_db
def test_secrets_are_encrypted_at_rest_and_never_returned(team: Team) -> None:
    client = team.client(team.admin)
    response = client.post(
        "/api/secrets/",
        {"workspace": team.workspace.pk, "name": "KEY", "value": TOKEN},
        format="json",
    )
    assert response.status_code == 201
    assert TOKEN not in response.content.decode()
    assert TOKEN not in Secret.objects.get().ciphertext
    listing = client.get("/api/secrets/")
    assert [s["name"] for s in listing.json()] == ["KEY"]
    assert TOKEN not in listing.content.decode()


@pytest.mark.django_db
def test_only_workspace_admins_manage_secrets(team: Team) -> None:
    for who in (team.editor, team.viewer, team.outsider):
        response = team.client(who).post(
            "/api/secrets/",
            {"workspace": team.workspace.pk, "name": "KEY", "value": "x"},
            format="json",
        )
        assert response.status_code in {403, 404}, who
    assert not Secret.objects.exists()
    assert team.client(team.editor).get("/api/secrets/").json() == []


@pytest.mark.django_db
def test_a_bad_secret_name_is_refused(team: Team) -> None:
    response = team.client(team.admin).post(
        "/api/secrets/",
        {"workspace": team.workspace.pk, "name": "my key", "value": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
