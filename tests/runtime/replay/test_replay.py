"""Replaying real runs against a draft on the real stack: the steps that act on the world
(an HTTP POST, an email) are rehearsed, not performed, and the original's outputs stand in;
the report shows, node by node, what the draft would have done differently."""

from __future__ import annotations

from typing import Any

import pytest

from designer.models import Flow, FlowVersion
from designer.services import flow_version_save
from runtime.engine.status import RunStatus
from runtime.health import flow_health
from runtime.models import ReplayBatch, Run
from runtime.replay import batches
from runtime.runs import run_start
from runtime.selectors import run_list_for_user
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi, SmtpSink
from tests.runtime.helpers import chain, publish, with_settings
from tests.stack import Stack, wait_for_run, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def order_email(fake_api: FakeApi, subject: str = "Order {{ event.trigger.id }}") -> dict:
    return chain(
        node("build", "data.transform", value={"total": "{{ event.trigger.total * 2 }}"}),
        node(
            "notify",
            "http.request",
            method="POST",
            url=f"{fake_api.url}/echo",
            body='{"order": {{ event.trigger.id }}}',
        ),
        node(
            "mail",
            "email.send",
            to="{{ event.trigger.email }}",
            subject=subject,
            text="Total {{ event.steps.build.total }}",
        ),
    )


def live_runs(team: Team, flow: Flow, count: int) -> list[Run]:
    assert flow.live_version is not None
    runs = [
        run_start(
            flow=flow,
            version=flow.live_version,
            payload={"id": index, "total": index, "email": f"c{index}@example.com"},
            started_by=team.editor,
        )
        for index in range(count)
    ]
    return [wait_for_run(run, timeout=120) for run in runs]


def replayed(batch: ReplayBatch, timeout: float = 120) -> dict[str, Any]:
    return wait_until(
        lambda: (report := batches.batch_report(batch))["done"] and report,
        f"the replays of batch #{batch.pk}",
        timeout=timeout,
    )


def draft(team: Team, flow: Flow, graph: dict) -> FlowVersion:
    latest = flow.versions.order_by("-number").first()
    assert latest is not None
    return flow_version_save(flow=flow, user=team.editor, graph=graph, based_on=latest.number)


def test_replaying_50_runs_against_a_draft_sends_nothing_and_shows_the_subject_change(
    team: Team, stack: Stack, fake_api: FakeApi, smtp_sink: SmtpSink
) -> None:
    smtp_sink.messages.clear()
    flow = publish(team, order_email(fake_api))
    originals = live_runs(team, flow, 50)
    assert all(run.status == RunStatus.SUCCEEDED for run in originals)
    posts, mails = fake_api.hits["/echo"], len(smtp_sink.messages)
    assert (posts, mails) == (50, 50)

    version = draft(team, flow, order_email(fake_api, subject="Your order #{{ event.trigger.id }}"))
    runs = batches.replayable_runs(flow=flow, last=50)
    batch = batches.batch_start(flow=flow, version=version, runs=list(runs), user=team.editor)
    report = replayed(batch)

    assert fake_api.hits["/echo"] == posts and len(smtp_sink.messages) == mails
    assert (report["total"], report["identical"], report["differ"]) == (50, 0, 50)
    assert report["summary"] == "0 of 50 identical; 50 differ at mail (sent: subject)"
    assert report["nodes"] == {"mail": {"runs": 50, "fields": {"sent: subject": 50}}}
    for replay in report["replays"]:
        [difference] = replay["differences"]
        assert difference["node"] == "mail" and difference["replay"] == "simulated"
        [change] = difference["sent"]
        original = Run.objects.get(pk=replay["original"])
        order = original.input["id"]
        assert change == {
            "path": "subject",
            "before": f"Order {order}",
            "after": f"Your order #{order}",
        }
    # Replays are runs of their own, marked and kept out of the flow's lists and health.
    replay = Run.objects.get(pk=report["replays"][0]["run"])
    assert replay.is_test and replay.replay is not None and replay.replay_batch == batch
    assert replay.steps.get(node_id="mail").output == original_output(replay, "mail")
    health = flow_health(flow=flow)
    assert health["total"] == 50
    assert {step["node_id"]: step["runs"] for step in health["steps"]}["mail"] == 50
    assert run_list_for_user(user=team.editor, flow_id=flow.pk).count() == 50


def original_output(replay: Run, node_id: str) -> Any:
    assert replay.replay is not None
    return Run.objects.get(pk=replay.replay["of"]).steps.get(node_id=node_id).output


def test_an_unchanged_draft_differs_only_where_the_world_did_and_a_get_runs_for_real(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    graph = chain(
        node("look", "http.request", url=f"{fake_api.url}/json?n=1"),
        node("shape", "data.transform", value="{{ event.steps.look.body }}"),
    )
    flow = publish(team, graph)
    live_runs(team, flow, 3)
    gets = fake_api.hits["/json"]
    version = draft(team, flow, graph)
    batch = batches.batch_start(
        flow=flow, version=version, runs=list(batches.replayable_runs(flow=flow)), user=None
    )
    report = replayed(batch)
    assert fake_api.hits["/json"] == gets + 3  # reads are performed
    # What the API answered is the same but, when a second has passed, its Date header,
    # which the diff then shows at the GET; nothing else differs.
    assert report["total"] == report["identical"] + report["differ"] == 3
    for node_id, where in report["nodes"].items():
        assert node_id == "look" and set(where["fields"]) == {"headers.date"}


def test_a_new_http_node_uses_its_sample_output_and_perform_sends_once_per_replay(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flow = publish(team, chain(node("build", "data.transform", value=1)))
    live_runs(team, flow, 2)
    post = with_settings(
        node("tell", "http.request", method="POST", url=f"{fake_api.url}/echo", body="{}"),
        sample_output={"status": 201, "body": {"sample": True}},
    )
    after = node("read", "data.transform", value="{{ event.steps.tell.body }}")
    version = draft(team, flow, chain(node("build", "data.transform", value=1), post, after))

    report = replayed(
        batches.batch_start(
            flow=flow, version=version, runs=list(batches.replayable_runs(flow=flow)), user=None
        )
    )
    assert fake_api.hits["/echo"] == 0
    replay = Run.objects.get(pk=report["replays"][0]["run"])
    assert replay.steps.get(node_id="read").output == {"sample": True}
    assert replay.steps.get(node_id="tell").input["replay"] == "sample"
    nodes = {diff["node"]: diff for diff in report["replays"][0]["differences"]}
    assert nodes["tell"]["change"] == "added" and nodes["read"]["change"] == "added"

    report = replayed(
        batches.batch_start(
            flow=flow,
            version=version,
            runs=list(batches.replayable_runs(flow=flow)),
            user=None,
            perform=["tell"],
        )
    )
    assert fake_api.hits["/echo"] == 2  # exactly one request per replay
