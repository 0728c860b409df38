"""http.request against a local fake API through the real worker; the SSRF guard in-process."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.engine.status import RunStatus
from runtime.kinds.contract import StepError
from runtime.steps import http_request
from runtime.steps.netguard import resolve_public
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, start
from tests.stack import Stack, wait_for_run


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_sends_templated_requests_and_returns_json(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    run = start(
        team,
        chain(
            node(
                "call",
                "http.request",
                method="POST",
                url=fake_api.url + "/echo?order={{ event.trigger.id }}",
                headers={"X-Order": "{{ event.trigger.id }}"},
                body='{"email": {{ event.trigger.email | tojson }}, "n": {{ event.trigger.id }}}',
            )
        ),
        {"id": 42, "email": "ada@example.com"},
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    body = run.output["body"]
    assert body["query"] == {"order": "42"}
    assert body["headers"]["X-Order"] == "42"
    assert body["headers"]["Content-Type"] == "application/json"
    assert body["body"] == '{"email": "ada@example.com", "n": 42}'
    assert run.output["status"] == 200
    assert set(run.output or ()) == set(http_request.KIND.output_example)  # offered before a run
    assert run.steps.get(node_id="call").input["url"].endswith("/echo?order=42")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_follows_redirects_and_reads_text(team: Team, stack: Stack, fake_api: FakeApi) -> None:
    run = wait_for_run(
        start(team, chain(node("hop", "http.request", url=f"{fake_api.url}/redirect?to=/text")))
    )
    assert run.output["body"] == "plain words"
    assert fake_api.hits["/redirect"] == 1 and fake_api.hits["/text"] == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_body_that_is_not_json_fails_clearly(team: Team, stack: Stack, fake_api: FakeApi) -> None:
    run = wait_for_run(
        start(
            team,
            chain(
                node(
                    "call", "http.request", method="POST", url=f"{fake_api.url}/echo", body="{oops"
                )
            ),
        )
    )
    assert run.status == RunStatus.FAILED
    assert "does not render to valid JSON" in run.steps.get(node_id="call").error
    assert fake_api.hits["/echo"] == 0


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "192.168.0.1", "::1", "0.0.0.0"],  # noqa: S104 - refused, not bound
)
def test_internal_addresses_are_refused(host: str, settings: SettingsWrapper) -> None:
    settings.TRIBUTARY_HTTP_ALLOWED_NETWORKS = []
    with pytest.raises(StepError, match="internal addresses are refused"):
        resolve_public(host, 80)


def test_an_admin_can_allow_an_internal_network(settings: SettingsWrapper) -> None:
    settings.TRIBUTARY_HTTP_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert resolve_public("10.1.2.3", 80) == "10.1.2.3"
    with pytest.raises(StepError):
        resolve_public("192.168.0.1", 80)


def test_an_unresolvable_host_is_a_clear_error() -> None:
    with pytest.raises(StepError, match="Cannot resolve"):
        resolve_public("no-such-host.invalid", 80)
