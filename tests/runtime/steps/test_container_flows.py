"""Container steps in whole flows on the real stack: the seed's order-email scenario with the
message built by an image, versions that keep the digest they recorded, and a worker whose
cache has lost the image."""

from __future__ import annotations

import email
import json
import shutil
from email import policy
from pathlib import Path

import httpx
import pytest

from designer.diff import graph_diff
from designer.graph import GraphInvalid
from designer.services import flow_import, flow_publish, flow_version_save
from runtime.engine.status import RunStatus
from runtime.images import cache
from runtime.models import Run
from runtime.runs import run_start
from tests.conftest import Team, Web
from tests.factories import node
from tests.fakes import SmtpSink
from tests.images import build_image, store_layout
from tests.runtime.helpers import chain, publish
from tests.runtime.triggers.hooks import hook_url
from tests.stack import Stack, wait_for_run, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXAMPLE = Path(__file__).resolve().parents[3] / "designer" / "examples" / "new_order_email.json"

# The seed's "Build the email" step, as a shell script in an image: the order arrives on
# stdin as the event JSON; the email comes out on stdout.
BUILD_EMAIL = r"""#!/bin/sh
input=$(cat)
field() { echo "$input" | sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }
number() { echo "$input" | sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p"; }
echo "building the email for order $(number id)" >&2
printf '{"to": "%s", "subject": "Thank you for your order #%s", ' "$(field email)" "$(number id)"
printf '"text": "Hi %s, we have your order."}' "$(field name)"
"""


def register(team: Team, where: Path, name: str, script: str) -> str:
    where.mkdir()
    layout = build_image(where, {"/app/run": script}, entrypoint=["/app/run"])
    return store_layout(team.workspace, name, layout).digest


def test_the_order_email_with_the_message_built_by_an_image(
    team: Team, stack: Stack, web: Web, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    register(team, tmp_path / "img", "order-email", BUILD_EMAIL)
    seed = json.loads(EXAMPLE.read_text())
    for seeded in seed["nodes"]:
        if seeded["id"] == "build_email":
            seeded["type"] = "code.container"
            seeded["config"] = {"image": "order-email"}
    flow = flow_import(user=team.editor, workspace=team.workspace, data=seed)
    flow_publish(flow=flow, user=team.editor, number=1)
    smtp_sink.messages.clear()
    order = {"id": 42, "email": "ada@example.com", "name": "Ada", "items": []}
    response = httpx.post(hook_url(web, flow), json=order)
    assert response.status_code == 202, response.text
    run = wait_for_run(Run.objects.get(flow=flow), timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "building the email for order 42" in run.steps.get(node_id="build_email").logs
    [sent] = wait_until(lambda: smtp_sink.messages, "the email")
    assert sent["to"] == ["ada@example.com"]
    message = email.message_from_string(sent["data"], policy=policy.default)
    assert message["Subject"] == "Thank you for your order #42"
    assert message.get_body(("plain",)).get_content().strip() == "Hi Ada, we have your order."


def test_a_version_keeps_its_digest_when_the_name_is_registered_again(
    team: Team, stack: Stack, tmp_path: Path
) -> None:
    first = register(team, tmp_path / "one", "pricing", "#!/bin/sh\necho '\"one\"'\n")
    flow = publish(team, chain(node("fn", "code.container", image="pricing")))
    v1 = flow.versions.get(number=1)
    assert v1.graph["nodes"][1]["config"]["digest"] == first

    second = register(team, tmp_path / "two", "pricing", "#!/bin/sh\necho '\"two\"'\n")
    assert second != first

    def output(version_number: int) -> object:
        version = flow.versions.get(number=version_number)
        run = run_start(flow=flow, version=version, payload={}, started_by=team.editor)
        run = wait_for_run(run, timeout=60)
        assert run.status == RunStatus.SUCCEEDED, run.error
        return run.steps.get(node_id="fn").output

    assert output(1) == "one"  # the published version still runs the first image
    v2 = flow_version_save(flow=flow, user=team.editor, graph=v1.graph, based_on=1)
    assert v2.graph["nodes"][1]["config"]["digest"] == second
    assert output(2) == "two"
    changed = graph_diff(v1.graph, v2.graph)["nodes"]["changed"]
    assert changed == [{"id": "fn", "fields": ["config.digest"]}]


def test_a_worker_whose_cache_lost_the_image_fetches_it_again(
    team: Team, stack: Stack, tmp_path: Path
) -> None:
    digest = register(team, tmp_path / "img", "hello", "#!/bin/sh\necho '\"hello\"'\n")
    flow = publish(team, chain(node("fn", "code.container", image="hello")))
    live = flow.live_version
    assert live is not None

    def run_once() -> Run:
        run = run_start(flow=flow, version=live, payload={}, started_by=team.editor)
        return wait_for_run(run, timeout=60)

    assert run_once().status == RunStatus.SUCCEEDED
    entry = cache.cache_dir() / digest.split(":", 1)[1]
    assert (entry / ".ready").exists()
    shutil.rmtree(entry)
    run = run_once()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.steps.get(node_id="fn").output == "hello"
    assert (entry / ".ready").exists()


def test_an_unknown_image_name_is_refused_on_save_naming_the_field(team: Team) -> None:
    with pytest.raises(GraphInvalid) as refused:
        publish(team, chain(node("fn", "code.container", image="nope")))
    [problem] = refused.value.problems
    assert problem.node == "fn" and problem.field == "config.image"
    assert "no image named 'nope'" in problem.message


def test_a_missing_entrypoint_fails_the_step_saying_so(
    team: Team, stack: Stack, tmp_path: Path
) -> None:
    where = tmp_path / "img"
    where.mkdir()
    layout = build_image(where, {}, entrypoint=["/app/missing"])
    store_layout(team.workspace, "broken", layout)
    flow = publish(team, chain(node("fn", "code.container", image="broken")))
    assert flow.live_version is not None
    run = run_start(flow=flow, version=flow.live_version, payload={}, started_by=team.editor)
    run = wait_for_run(run, timeout=60)
    assert run.status == RunStatus.FAILED
    assert run.steps.get(node_id="fn").error == (
        "The entrypoint /app/missing was not found in the image."
    )
