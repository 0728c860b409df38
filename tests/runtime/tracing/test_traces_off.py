"""Traces with no OTEL variable: nothing is computed, stored or sent, even when a webhook
caller sends a traceparent."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from runtime.engine.status import RunStatus
from runtime.models import Run
from runtime.tracing import spans
from tests.conftest import Team, Web
from tests.factories import edge, graph, node
from tests.fakes import FakeApi, SmtpSink
from tests.runtime.helpers import publish
from tests.runtime.triggers.hooks import hook_url
from tests.stack import Stack, flush_broker, stack_env, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The module's stack without any OTEL variable, whatever the shell running the tests
    has set."""
    flush_broker()
    env = {k: v for k, v in stack_env(smtp_sink.port).items() if not k.startswith("OTEL_")}
    shared = Stack(env=env, logs=tmp_path_factory.mktemp("stack"))
    shared.start_worker()
    shared.start_scheduler()
    yield shared
    shared.stop()


def test_nothing_is_stored_on_the_run_nor_sent_to_the_callee(
    team: Team, web: Web, fake_api: FakeApi
) -> None:
    flow = publish(
        team,
        graph(
            node("order", "trigger.webhook"),
            node("call", "http.request", url=f"{fake_api.url}/json"),
            edges=[edge("order", "call")],
        ),
    )
    response = httpx.post(hook_url(web, flow), json={"id": 1}, headers={"traceparent": CALLER})
    run = wait_for_run(Run.objects.get(pk=response.json()["run_id"]))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.trace_parent == ""
    (seen,) = [r for r in fake_api.requests if r["path"] == "/json"]
    assert "traceparent" not in {name.lower() for name in seen["headers"]}


@pytest.mark.skipif(
    any(k.startswith("OTEL_EXPORTER_OTLP") for k in os.environ), reason="tracing is on here"
)
def test_every_helper_is_the_shared_no_op() -> None:
    assert spans.ENABLED is False
    assert spans.run_span(caller=CALLER, flow_id=1, flow_name="F", version=1, trigger="x") is (
        spans.OFF
    )
    assert spans.child_span("HTTP GET", "client", {}) is spans.OFF
    assert spans.current_parent() == ""
    headers = {"a": "b"}
    assert spans.OFF.propagate(headers) is headers
