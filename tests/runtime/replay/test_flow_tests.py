"""Flow tests on the real stack: a run kept as a test, replayed after every save; a version
whose test fails is not published (the failing case is named) unless an admin gives a
reason, which the audit trail keeps; `manage.py flow_test` exits non-zero on a failure;
exports carry the tests."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from rest_framework.test import APIClient

from designer.models import FlowEvent
from designer.services import (
    TestsFailing,
    flow_export,
    flow_import,
    flow_publish,
)
from runtime.models import FlowTest
from runtime.replay import flowtests
from tests.conftest import Team
from tests.fakes import FakeApi, SmtpSink
from tests.runtime.helpers import publish
from tests.runtime.replay.test_replay import draft, live_runs, order_email
from tests.stack import Stack, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXPECT_SUBJECT = [
    {"node": "mail", "on": "sent", "check": "subset", "value": {"subject": "Order 1"}},
    {"node": "build", "check": "equals", "value": {"total": 2}},
    {"node": "notify", "check": "status", "value": "succeeded"},
]


def settled(version: object) -> flowtests.Verdict:
    return wait_until(
        lambda: (
            (found := flowtests.verdict(version)).state not in ("running", "missing")  # type: ignore[arg-type]
            and found
        ),
        "the flow's tests",
        timeout=90,
    )


def test_a_failing_test_holds_back_publishing_until_an_admin_overrides_it(
    team: Team, stack: Stack, fake_api: FakeApi, smtp_sink: SmtpSink
) -> None:
    flow = publish(team, order_email(fake_api))
    [_, original] = live_runs(team, flow, 2)
    posts, mails = fake_api.hits["/echo"], len(smtp_sink.messages)

    client = APIClient()
    client.force_authenticate(team.editor)
    saved = client.post(
        f"/api/runs/{original.pk}/test/",
        {"name": "order one", "expectations": EXPECT_SUBJECT},
        format="json",
    )
    assert saved.status_code == 201, saved.json()
    refused = client.post(
        f"/api/runs/{original.pk}/test/",
        {"name": "bad", "expectations": [{"node": "nope", "check": "status", "value": "x"}]},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "expectations[0].node", "message": "The run has no step 'nope'."}
    ]

    good = draft(team, flow, order_email(fake_api, subject="Order {{ event.trigger.id }}"))
    assert settled(good).state == "passed"
    flow_publish(flow=flow, user=team.editor, number=good.number)

    broken = draft(team, flow, order_email(fake_api, subject="Hello {{ event.trigger.id }}"))
    verdict = settled(broken)
    assert verdict.state == "failed"
    [case] = verdict.failing
    assert case.name == "order one"
    assert case.failures == [
        {
            "node": "mail",
            "check": "subset",
            "message": 'Expected a value containing {"subject": "Order 1"}, got '
            + verdict.cases[0].failures[0]["message"].split(", got ", 1)[1],
        }
    ]
    assert '"subject": "Hello 1"' in case.failures[0]["message"]
    # The tests replayed: nothing was sent.
    assert (fake_api.hits["/echo"], len(smtp_sink.messages)) == (posts, mails)

    answer = client.post(
        f"/api/flows/{flow.pk}/publish/", {"version": broken.number}, format="json"
    )
    assert answer.status_code == 409
    assert "fails 1 of its flow's tests (order one)" in answer.json()["detail"]
    assert answer.json()["tests"]["cases"][0]["failures"][0]["node"] == "mail"
    with pytest.raises(PermissionDenied):
        flow_publish(flow=flow, user=team.editor, number=broken.number, override="urgent")
    event = flow_publish(
        flow=flow, user=team.admin, number=broken.number, override="Marketing wants Hello"
    )
    assert event.detail == {
        "tests_overridden": "Marketing wants Hello",
        "tests": "failed",
        "failing": ["order one"],
    }
    assert FlowEvent.objects.filter(flow=flow, action="published").latest("id") == event
    # A rollback is never held back by tests.
    flow_publish(flow=flow, user=team.editor, number=good.number)


def test_flow_test_command_exit_codes_and_exports_carry_the_tests(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flow = publish(team, order_email(fake_api), name="Order mail")
    [original] = live_runs(team, flow, 1)
    flowtests.test_create(
        run=original,
        name="order zero",
        expectations=[
            {"node": "mail", "on": "sent", "check": "subset", "value": {"subject": "Order 0"}}
        ],
        user=team.editor,
    )
    good = draft(team, flow, order_email(fake_api))
    call_command("flow_test", "Order mail", "--version", str(good.number))  # exit 0
    broken = draft(team, flow, order_email(fake_api, subject="Nope"))
    with pytest.raises(SystemExit) as failed:
        call_command("flow_test", str(flow.pk), "--version", str(broken.number))
    assert failed.value.code == 1

    exported = flow_export(flow=flow, version=good)
    assert [test["name"] for test in exported["tests"]] == ["order zero"]
    copy = flow_import(user=team.editor, workspace=team.workspace, data=exported, name="Copy")
    assert list(FlowTest.objects.filter(flow=copy).values_list("name", flat=True)) == ["order zero"]
    assert settled(copy.versions.get(number=1)).state == "passed"


def test_a_version_saved_before_its_tests_is_tested_when_published(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flow = publish(team, order_email(fake_api))
    [original] = live_runs(team, flow, 1)
    version = draft(team, flow, order_email(fake_api, subject="Changed"))
    flowtests.test_create(
        run=original,
        name="subject",
        expectations=[
            {"node": "mail", "on": "sent", "check": "subset", "value": {"subject": "Order 0"}}
        ],
        user=team.editor,
    )
    with pytest.raises(TestsFailing, match="still running on version 2"):
        flow_publish(flow=flow, user=team.editor, number=version.number)
    assert settled(version).state == "failed"
