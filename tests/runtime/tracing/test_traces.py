"""Traces with the OTEL variables set: the real web server, worker and scheduler export to
a local OTLP/HTTP receiver; a webhook caller's trace is continued through the run's steps
to the API an http.request step calls."""

from __future__ import annotations

import secrets

import httpx
import pytest

from designer.models import Flow
from runtime.engine.status import RunStatus
from runtime.models import Run
from runtime.services import secret_set
from tests.conftest import Team, Web
from tests.factories import edge, graph, node
from tests.fakes import FakeApi
from tests.runtime.helpers import publish, with_settings
from tests.runtime.tracing.receiver import OtlpReceiver, Received
from tests.runtime.triggers.hooks import hook_url
from tests.stack import wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SHAPE = """def handler(event, context):
    return {"answer": event["steps"]["call"]["status"]}
"""


def traced_flow(team: Team, url: str) -> Flow:
    """webhook → http.request "call" → code.python "shape" → email.send "mail"."""
    call = with_settings(node("call", "http.request", url=url), retries=0)
    mail = node("mail", "email.send", to="ada@example.com", subject="Traced", text="Hello")
    return publish(
        team,
        graph(
            node("order", "trigger.webhook"),
            call,
            node("shape", "code.python", source=SHAPE),
            mail,
            edges=[edge("order", "call"), edge("call", "shape"), edge("shape", "mail")],
        ),
        name="Traced",
    )


def spans_of(receiver: OtlpReceiver, trace_id: str, names: set[str]) -> dict[str, Received]:
    """The spans of ``trace_id`` by name, once every one of ``names`` arrived."""
    spans = receiver.wait_for(
        lambda spans: names <= {s.name for s in spans if s.trace_id == trace_id}
    )
    return {s.name: s for s in spans if s.trace_id == trace_id}


def test_a_webhook_callers_trace_goes_through_the_steps_to_the_callee(
    team: Team, web: Web, fake_api: FakeApi, receiver: OtlpReceiver
) -> None:
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    flow = traced_flow(team, f"{fake_api.url}/json")
    response = httpx.post(
        hook_url(web, flow),
        json={"id": 7},
        headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"},
    )
    assert response.status_code == 202, response.text
    run = wait_for_run(Run.objects.get(pk=response.json()["run_id"]))
    assert run.status == RunStatus.SUCCEEDED, run.error

    steps = {"step call", "step shape", "step mail"}
    calls = {"HTTP GET", "code.execute", "email.send"}
    spans = spans_of(receiver, caller_trace, {"run Traced", *steps, *calls})
    run_span = spans["run Traced"]
    assert (run_span.parent_id, run_span.kind) == (caller_span, "server")
    assert run_span.service == "tributary"
    assert run.trace_parent == f"00-{caller_trace}-{run_span.span_id}-01"
    for node_id in ("call", "shape", "mail"):
        step = spans[f"step {node_id}"]
        assert step.parent_id == run_span.span_id
        assert step.attributes["tributary.run.id"] == run.pk
        assert step.attributes["tributary.node.id"] == node_id
        assert step.attributes["tributary.flow.version"] == 1
        assert step.attributes["tributary.step.attempt"] == 1
        assert step.attributes["tributary.step.status"] == "succeeded"
        assert not step.failed
    assert spans["step call"].attributes["tributary.step.kind"] == "http.request"

    http = spans["HTTP GET"]
    assert (http.parent_id, http.kind) == (spans["step call"].span_id, "client")
    assert http.attributes["http.response.status_code"] == 200
    assert http.attributes["url.full"] == f"{fake_api.url}/json"
    assert spans["code.execute"].parent_id == spans["step shape"].span_id
    assert spans["email.send"].parent_id == spans["step mail"].span_id

    (seen,) = [r for r in fake_api.requests if r["path"] == "/json"]
    sent = {name.lower(): value for name, value in seen["headers"].items()}
    assert sent["traceparent"] == f"00-{caller_trace}-{http.span_id}-01"


def test_a_run_without_a_caller_starts_a_trace_and_a_failed_step_is_an_error(
    team: Team, web: Web, fake_api: FakeApi, receiver: OtlpReceiver
) -> None:
    secret_set(workspace=team.workspace, name="API_KEY", value="k-31337-s3cr3t", user=team.admin)
    flow = traced_flow(team, f"{fake_api.url}/status/500?key={{{{ secrets.API_KEY }}}}")
    response = httpx.post(hook_url(web, flow), json={"id": 8})
    run = wait_for_run(Run.objects.get(pk=response.json()["run_id"]))
    assert run.status == RunStatus.FAILED

    trace_id = run.trace_parent.split("-")[1]
    spans = spans_of(receiver, trace_id, {"run Traced", "step call", "HTTP GET"})
    run_span = spans["run Traced"]
    assert (run_span.parent_id, run_span.kind) == ("", "internal")  # the root of a new trace
    step = spans["step call"]
    assert step.parent_id == run_span.span_id
    # It used a secret: its errors (response excerpts) do not reach the collector at all.
    assert step.failed and step.message == "hidden: uses secrets"
    assert step.attributes["tributary.step.status"] == "failed"
    http = spans["HTTP GET"]
    assert http.failed and http.attributes["http.response.status_code"] == 500
    assert http.message == "hidden: uses secrets"
    # No query string or user info, where tokens travel, whether a secret or derived.
    assert http.attributes["url.full"] == f"{fake_api.url}/status/500"
    assert "s3cr3t" not in repr(step), step
    assert "s3cr3t" not in repr(http), http
