"""Webhooks against the real ASGI server (uvicorn), worker and PostgreSQL: payloads, every
refusal (none starts a run, none is a 500), idempotency, stable URLs, listening for a test
event. Signatures: test_webhook_signatures.py; lying bodies: test_webhook_framing.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from designer.services import flow_archive, flow_create, flow_publish, flow_version_save
from runtime.engine.status import RunStatus
from runtime.models import Run, WebhookCapture
from runtime.triggers.webhook import kind as webhook
from tests.conftest import Team, Web
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish
from tests.runtime.triggers.hooks import hook_flow, hook_url, refused
from tests.stack import wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_post_starts_a_run_with_the_request_as_payload(team: Team, web: Web) -> None:
    flow = hook_flow(team)
    response = httpx.post(
        hook_url(web, flow) + "?source=shop&tag=a&tag=b",
        json={"id": 1001, "email": "ada@example.com"},
        headers={"Cookie": "session=x", "Authorization": "Bearer y", "X-Shop": "demo"},
    )
    assert response.status_code == 202, response.text
    run = Run.objects.get(pk=response.json()["run_id"])  # recorded before the 202
    payload = run.input
    assert (payload["method"], payload["body"], payload["body_size"]) == (
        "POST",
        {"id": 1001, "email": "ada@example.com"},
        len(response.request.content),
    )
    assert payload["query"] == {"source": "shop", "tag": ["a", "b"]}
    assert payload["headers"]["x-shop"] == "demo"
    assert set(payload) == set(webhook.KIND.output_example)  # offered before a test
    assert "cookie" not in payload["headers"] and "authorization" not in payload["headers"]
    assert (run.trigger_kind, run.version_id) == ("webhook", flow.live_version_id)
    assert wait_for_run(run).output == 1001


def test_form_and_text_bodies_are_parsed(team: Team, web: Web) -> None:
    flow = hook_flow(team, value="{{ event.trigger.body }}")
    form = httpx.post(hook_url(web, flow), data={"id": "7", "name": "Ada"})
    text = httpx.post(hook_url(web, flow), content=b"hello", headers={"Content-Type": "text/plain"})
    assert Run.objects.get(pk=form.json()["run_id"]).input["body"] == {"id": "7", "name": "Ada"}
    assert Run.objects.get(pk=text.json()["run_id"]).input["body"] == "hello"


def test_an_unknown_token_is_a_404_that_says_nothing(team: Team, web: Web) -> None:
    hook_flow(team)
    body = refused(httpx.post(f"{web.url}/hooks/not-a-real-token", json={}), 404)
    assert body == {"detail": "No webhook here."}


def test_a_wrong_method_is_a_405_naming_the_allowed_ones(team: Team, web: Web) -> None:
    flow = hook_flow(team, {"methods": ["POST", "PUT"]})
    response = httpx.get(hook_url(web, flow))
    refused(response, 405)
    assert response.headers["allow"] == "POST, PUT"


def test_malformed_json_is_a_400(team: Team, web: Web) -> None:
    flow = hook_flow(team)
    body = refused(
        httpx.post(
            hook_url(web, flow), content=b'{"id": ', headers={"Content-Type": "application/json"}
        ),
        400,
    )
    assert "not valid JSON" in body["detail"]


def test_a_nul_character_is_a_400_not_a_database_error(team: Team, web: Web) -> None:
    flow = hook_flow(team)
    refused(
        httpx.post(
            hook_url(web, flow),
            content=b'{"id": "a\\u0000b"}',
            headers={"Content-Type": "application/json"},
        ),
        400,
    )


def test_a_body_over_the_limit_is_a_413(team: Team, web: Web) -> None:
    flow = hook_flow(team, {"max_body_bytes": 1000})
    refused(httpx.post(hook_url(web, flow), content=b"x" * 5000), 413)


def test_a_chunked_body_without_content_length_over_the_limit_is_a_413(
    team: Team, web: Web
) -> None:
    flow = hook_flow(team, {"max_body_bytes": 1000})

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"y" * 100

    response = httpx.post(hook_url(web, flow), content=chunks())
    assert "content-length" not in response.request.headers
    refused(response, 413)


def test_too_many_requests_are_a_429(team: Team, web: Web) -> None:
    flow = hook_flow(team, {"rate_limit_per_minute": 3})
    statuses = [httpx.post(hook_url(web, flow), json={"id": i}).status_code for i in range(5)]
    assert statuses[:3] == [202, 202, 202] and statuses[3:] == [429, 429]
    assert Run.objects.count() == 3


def test_twenty_concurrent_duplicate_deliveries_start_exactly_one_run(team: Team, web: Web) -> None:
    flow = hook_flow(team, {"idempotency_header": "Idempotency-Key"})
    url = hook_url(web, flow)

    async def deliver_all() -> list[httpx.Response]:
        async with httpx.AsyncClient() as client:
            return await asyncio.gather(
                *(
                    client.post(url, json={"id": 5}, headers={"Idempotency-Key": "evt_123"})
                    for _ in range(20)
                )
            )

    responses = asyncio.run(deliver_all())
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["run_id"] for r in responses}) == 1
    assert Run.objects.count() == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    other = httpx.post(url, json={"id": 6}, headers={"Idempotency-Key": "evt_124"})
    assert other.json()["run_id"] != responses[0].json()["run_id"]


def test_the_url_stays_the_same_across_versions_and_runs_use_the_live_one(
    team: Team, web: Web
) -> None:
    flow = hook_flow(team)
    url = hook_url(web, flow)
    v2 = flow_version_save(
        flow=flow,
        user=team.editor,
        graph=graph(
            node("order", "trigger.webhook"),
            node("shape", "data.transform", value="v2"),
            edges=[edge("order", "shape")],
        ),
    )
    flow_publish(flow=flow, user=team.editor, number=v2.number)
    assert hook_url(web, flow) == url
    run = wait_for_run(Run.objects.get(pk=httpx.post(url, json={}).json()["run_id"]))
    assert (run.version.number, run.output) == (2, "v2")
    flow_publish(flow=flow, user=team.editor, number=1)  # roll back
    run = Run.objects.get(pk=httpx.post(url, json={"id": 3}).json()["run_id"])
    assert run.version.number == 1


def test_rotating_replaces_the_url(team: Team, web: Web) -> None:
    flow = hook_flow(team)
    old = hook_url(web, flow)
    response = team.client(team.editor).post(f"/api/flows/{flow.pk}/triggers/order/rotate/")
    new = f"{web.url}/hooks/{response.json()['url'].rsplit('/', 1)[1]}"
    assert new != old
    assert httpx.post(old, json={}).status_code == 404
    assert httpx.post(new, json={}).status_code == 202


def test_archived_and_unpublished_flows_have_no_live_hook(team: Team, web: Web) -> None:
    flow = hook_flow(team)
    url = hook_url(web, flow)
    flow_archive(flow=flow, user=team.editor)
    refused(httpx.post(url, json={}), 404)


def test_wait_mode_answers_with_the_flows_output(team: Team, web: Web) -> None:
    flow = hook_flow(
        team, {"response_mode": "wait"}, value={"greeting": "Hello {{ event.trigger.body.name }}"}
    )
    response = httpx.post(hook_url(web, flow), json={"name": "Ada"}, timeout=15)
    assert response.status_code == 200, response.text
    assert response.json() == {"greeting": "Hello Ada"}


def test_wait_mode_reports_a_failed_run(team: Team, web: Web) -> None:
    flow = hook_flow(team, {"response_mode": "wait"}, value="{{ event.trigger.body.missing }}")
    response = httpx.post(hook_url(web, flow), json={}, timeout=15)
    assert response.status_code == 502
    assert response.json()["status"] == RunStatus.FAILED
    assert "missing" in response.json()["error"]


def test_wait_mode_falls_back_to_202_when_the_flow_is_slow(team: Team, web: Web) -> None:
    flow = publish(
        team,
        graph(
            node("order", "trigger.webhook", response_mode="wait", wait_timeout_seconds=0.5),
            node("wait", "flow.delay", seconds=3),
            edges=[edge("order", "wait")],
        ),
    )
    response = httpx.post(hook_url(web, flow), json={}, timeout=15)
    assert response.status_code == 202
    assert response.json()["status"] == "running"


def test_listening_captures_the_next_request_as_a_test_event(team: Team, web: Web) -> None:
    flow = publish(team, graph(node("order", "trigger.webhook")))
    client = team.client(team.editor)
    started = client.post(f"/api/flows/{flow.pk}/triggers/order/listen/")
    assert started.status_code == 201 and started.json()["status"] == "waiting"
    response = httpx.post(hook_url(web, flow), json={"id": 99})
    assert response.status_code == 200 and response.json()["captured"] is True
    assert not Run.objects.exists()
    captured = client.get(f"/api/flows/{flow.pk}/triggers/order/listen/").json()
    assert captured["status"] == "captured"
    assert captured["payload"]["body"] == {"id": 99}
    assert httpx.post(hook_url(web, flow), json={}).status_code == 202  # back to normal


def test_stopping_or_publishing_ends_listening_so_the_next_request_runs(
    team: Team, web: Web
) -> None:
    flow = hook_flow(team)
    client = team.client(team.editor)
    listen = f"/api/flows/{flow.pk}/triggers/order/listen/"
    assert client.post(listen).status_code == 201
    assert team.client(team.viewer).delete(listen).status_code == 403
    assert client.delete(listen).status_code == 204
    assert httpx.post(hook_url(web, flow), json={"id": 1}).status_code == 202
    # A capture left waiting (the designer's Test before publishing) must not swallow the
    # first live request after a publish.
    assert client.post(listen).status_code == 201
    v2 = flow_version_save(flow=flow, user=team.editor, graph=flow.live_version.graph)
    flow_publish(flow=flow, user=team.editor, number=v2.number)
    assert httpx.post(hook_url(web, flow), json={"id": 2}).status_code == 202
    assert sorted(run.input["body"]["id"] for run in Run.objects.filter(flow=flow)) == [1, 2]


def test_of_concurrent_requests_while_listening_exactly_one_is_captured(
    team: Team, web: Web
) -> None:
    flow = hook_flow(team)
    client = team.client(team.editor)
    assert client.post(f"/api/flows/{flow.pk}/triggers/order/listen/").status_code == 201
    url = hook_url(web, flow)

    async def deliver_all() -> list[httpx.Response]:
        async with httpx.AsyncClient() as http:
            return await asyncio.gather(*(http.post(url, json={"id": i}) for i in range(10)))

    responses = asyncio.run(deliver_all())
    captured = [r for r in responses if r.status_code == 200]
    delivered = [r for r in responses if r.status_code == 202]
    assert len(captured) == 1 and captured[0].json()["captured"] is True
    assert len(delivered) == 9  # the others lost the race and ran as normal deliveries
    [capture] = WebhookCapture.objects.filter(endpoint__flow=flow)
    assert capture.payload["body"] == json.loads(captured[0].request.content)
    runs = Run.objects.filter(flow=flow)
    assert sorted(r.input["body"]["id"] for r in runs) == sorted(
        json.loads(r.request.content)["id"] for r in delivered
    )


def test_losing_the_capture_race_on_an_unpublished_flow_is_a_404(team: Team, web: Web) -> None:
    flow = flow_create(
        user=team.editor,
        workspace=team.workspace,
        name="Draft",
        graph=graph(node("order", "trigger.webhook")),
    )
    client = team.client(team.editor)
    assert client.post(f"/api/flows/{flow.pk}/triggers/order/listen/").status_code == 201
    url = hook_url(web, flow)

    async def deliver_all() -> list[httpx.Response]:
        async with httpx.AsyncClient() as http:
            return await asyncio.gather(*(http.post(url, json={"id": i}) for i in range(5)))

    statuses = sorted(r.status_code for r in asyncio.run(deliver_all()))
    assert statuses == [200, 404, 404, 404, 404]
    assert not Run.objects.exists()


def test_the_api_lists_trigger_urls(team: Team, web: Web) -> None:
    flow = hook_flow(team)
    triggers = team.client(team.viewer).get(f"/api/flows/{flow.pk}/triggers/").json()
    assert triggers[0]["node_id"] == "order" and triggers[0]["active"] is True
    assert triggers[0]["url"].endswith(webhook.endpoint_for(flow, "order").token)
