"""The server-rendered pages: the flow list (htmx search, create, archive, run stats), the
designer page that boots the canvas, and the version history with diffs and rollback."""

from __future__ import annotations

import json
import re

from designer.models import Flow, FlowEvent
from designer.services import flow_publish, flow_version_save
from runtime.models import Run
from tests.conftest import Team
from tests.factories import edge, flow, graph, node, simple_graph


def boot_of(page: str) -> dict:
    match = re.search(r'<script id="designer-boot" type="application/json">(.*?)</script>', page)
    assert match, "the designer page embeds its boot data"
    return json.loads(match.group(1))


def test_the_flow_list_shows_the_users_flows(team: Team) -> None:
    flow(team.editor, team.workspace, "Order emails")
    page = team.client(team.viewer).get("/").content.decode()
    assert "Order emails" in page
    assert 'hx-get="/"' in page
    assert "New flow" not in page  # viewers cannot create flows


def test_an_htmx_search_returns_only_the_rows(team: Team) -> None:
    flow(team.editor, team.workspace, "Order emails")
    flow(team.editor, team.workspace, "Refunds")
    response = team.client(team.viewer).get("/", {"q": "refu"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Refunds" in body and "Order emails" not in body
    assert "<html" not in body


def test_the_list_shows_the_live_version_last_run_and_a_sparkline(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Order emails")
    flow_publish(flow=orders, user=team.editor, number=1)
    for status in ("failed", "succeeded"):
        Run.objects.create(
            flow=orders, version=orders.versions.get(), status=status, trigger_kind="manual"
        )
    page = team.client(team.viewer).get("/").content.decode()
    assert '<span class="badge live">v1</span>' in page
    assert '<span class="status status-succeeded">succeeded</span>' in page
    assert 'aria-label="2 runs in the last 7 days: 0, 0, 0, 0, 0, 0, 2"' in page
    assert re.search(r'<polyline points="0\.0,18\.0 .* 84\.0,2\.0"', page)


def test_creating_a_flow_opens_the_designer_on_a_blank_canvas(team: Team) -> None:
    response = team.client(team.editor).post("/flows/new/", {"name": "Refunds"})
    created = Flow.objects.get(name="Refunds")
    assert response.status_code == 302
    assert response["Location"] == f"/flows/{created.pk}/"
    assert not created.versions.exists()  # the first save makes version 1
    boot = boot_of(team.client(team.editor).get(response["Location"]).content.decode())
    assert boot["version"] is None


def test_creating_a_flow_needs_a_name_and_a_writable_workspace(team: Team) -> None:
    refused = team.client(team.editor).post("/flows/new/", {"name": "  "})
    assert refused.status_code == 400
    assert "Give the flow a name" in refused.content.decode()
    assert team.client(team.viewer).post("/flows/new/", {"name": "Nope"}).status_code == 403
    assert not Flow.objects.filter(name="Nope").exists()


def test_archiving_by_htmx_removes_the_row_and_restoring_brings_it_back(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Orders")
    client = team.client(team.editor)
    archived = client.post(f"/flows/{orders.pk}/archive/", HTTP_HX_REQUEST="true")
    assert (archived.status_code, archived.content) == (200, b"")
    orders.refresh_from_db()
    assert orders.archived_at is not None
    client.post(f"/flows/{orders.pk}/archive/", {"restore": "1"})
    orders.refresh_from_db()
    assert orders.archived_at is None
    assert team.client(team.viewer).post(f"/flows/{orders.pk}/archive/").status_code == 403
    assert team.client(team.outsider).post(f"/flows/{orders.pk}/archive/").status_code == 404


def test_the_designer_page_boots_the_canvas_with_the_latest_version(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Orders")
    flow_version_save(flow=orders, user=team.editor, graph=simple_graph("v2"), based_on=1)
    flow_publish(flow=orders, user=team.editor, number=1)
    page = team.client(team.editor).get(f"/flows/{orders.pk}/").content.decode()
    assert 'data-mode="editor"' in page and "data-canvas" in page
    boot = boot_of(page)
    assert boot["flow"] == {
        "id": orders.pk,
        "name": "Orders",
        "live_version": 1,
        "archived": False,
        "workspace": orders.workspace_id,
    }
    assert boot["version"]["number"] == 2
    assert boot["canWrite"] is True
    assert "timeout_seconds" in boot["settingsSchema"]["properties"]
    assert (
        boot_of(team.client(team.viewer).get(f"/flows/{orders.pk}/").content.decode())["canWrite"]
        is False
    )
    assert team.client(team.outsider).get(f"/flows/{orders.pk}/").status_code == 404


def versioned(team: Team) -> Flow:
    orders = flow(team.editor, team.workspace, "Orders")
    second = simple_graph("changed")
    second["nodes"].append(node("audit", "data.transform", value=1))
    second["edges"].append(edge("shape", "audit"))
    flow_version_save(flow=orders, user=team.admin, graph=second, message="Audit", based_on=1)
    flow_publish(flow=orders, user=team.editor, number=2)
    return orders


def test_the_versions_page_lists_versions_and_diffs_the_last_two(team: Team) -> None:
    orders = versioned(team)
    page = team.client(team.viewer).get(f"/flows/{orders.pk}/versions/").content.decode()
    assert "Changes from v1 to v2" in page
    assert '<code class="added">audit</code>' in page
    assert "config.value" in page
    assert 'id="diff-graph"' in page and 'id="diff-data"' in page
    assert "Roll back" not in page  # viewers cannot publish


def test_an_htmx_diff_of_any_two_versions_is_a_partial(team: Team) -> None:
    orders = versioned(team)
    response = team.client(team.viewer).get(
        f"/flows/{orders.pk}/versions/diff/", {"from": "2", "to": "1"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-from="1" data-to="2"' in body
    missing = team.client(team.viewer).get(
        f"/flows/{orders.pk}/versions/diff/", {"from": "1", "to": "9"}, HTTP_HX_REQUEST="true"
    )
    assert missing.status_code == 404


def test_rolling_back_publishes_the_older_version(team: Team) -> None:
    orders = versioned(team)
    response = team.client(team.editor).post(
        f"/flows/{orders.pk}/versions/1/publish/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/flows/{orders.pk}/versions/"
    orders.refresh_from_db()
    assert orders.live_version.number == 1
    assert FlowEvent.objects.filter(flow=orders, action=FlowEvent.Action.ROLLED_BACK).exists()
    assert (
        team.client(team.viewer).post(f"/flows/{orders.pk}/versions/2/publish/").status_code == 403
    )


def test_publishing_a_version_that_does_not_exist_says_so(team: Team) -> None:
    orders = versioned(team)
    response = team.client(team.editor).post(
        f"/flows/{orders.pk}/versions/7/publish/", HTTP_HX_REQUEST="true"
    )
    assert "There is no version 7" in response.content.decode()


def test_the_login_page_renders(team: Team) -> None:
    assert team.client(None).get("/login/").status_code == 200


def test_pages_need_a_login(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Orders", graph(node("s", "trigger.manual")))
    for url in ("/", f"/flows/{orders.pk}/", f"/flows/{orders.pk}/versions/"):
        assert team.client(None).get(url)["Location"].startswith("/login/")
