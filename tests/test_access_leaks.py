"""An outsider learns nothing about another workspace through any id: every page and API
route that takes an id in its path answers 404 (or refuses the method), and every one
that takes a foreign object's id in its query string shows none of its data — in
particular the runs page's flow health (`/runs/?flow=`), which once leaked."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from designer.models import Flow
from designer.services import flow_publish, flow_version_save
from runtime.models import ContainerImage, FlowTest, ReplayBatch, Run, StepRun, Suspension
from runtime.resources.connections.services import connection_create
from runtime.services import secret_set
from tests.conftest import Team
from tests.factories import edge, flow, graph, node

ROOT = Path(__file__).resolve().parent.parent
MARKER = "Zanzibar"  # in the foreign flow's name, node names and run inputs


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    routes = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith("admin/"):  # the admin has its own test below
                routes += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and "<" in route:
            routes.append(route)
    return routes


PATH_ROUTES = _routes(get_resolver().url_patterns)

# Every query-string parameter of a page or API that names another workspace's object.
# The parameters that count within an object the user already reached (a version number
# of a checked flow, a diff's other version, a keyset page position) are not foreign ids.
QUERY_URLS = {
    "flow": ["/runs/?flow={flow}", "/runs/?flow={flow}&version=1", "/api/runs/?flow={flow}"],
    "workspace": [
        "/api/flows/?workspace={workspace}",
        "/api/connections/?workspace={workspace}",
        "/api/images/?workspace={workspace}",
    ],
}
WITHIN_AN_OBJECT = {"version", "against", "before"}


@pytest.fixture
def foreign(team: Team) -> dict[str, Any]:
    """Workspace A's flow (published, with a webhook), runs that make a health chart, a
    secret and a connection; the outsider administers workspace B."""
    shop = flow(
        team.admin,
        team.workspace,
        name=f"{MARKER} orders",
        graph_data=graph(
            node("hook", "trigger.webhook", f"{MARKER} hook"),
            node("shape", "data.transform", f"{MARKER} shape", value={"a": 1}),
            edges=[edge("hook", "shape")],
        ),
    )
    version = flow_version_save(
        flow=shop, user=team.admin, graph=shop.versions.get().graph, message="again"
    )
    flow_publish(flow=shop, user=team.admin, number=version.number)
    now = timezone.now()
    runs = [
        Run.objects.create(
            flow=shop,
            version=version,
            trigger_kind="webhook",
            trigger_node="hook",
            input={"customer": MARKER},
            status=status,
            started_at=now - timedelta(seconds=3),
            finished_at=now,
        )
        for status in ("succeeded", "failed", "succeeded")
    ]
    secret = secret_set(workspace=team.workspace, name="SHOP_KEY", value="v", user=team.admin)
    connection = connection_create(
        workspace=team.workspace,
        user=team.admin,
        data={"name": f"{MARKER}-db", "kind": "postgres", "host": "db.example.com"},
    )
    waiting = StepRun.objects.create(run=runs[0], node_id="ask", kind="flow.approval")
    approval = Suspension.objects.create(
        step=waiting,
        run=runs[0],
        workspace=team.workspace,
        kind=Suspension.Kind.APPROVAL,
        details={"name": f"{MARKER} ask", "message": MARKER, "roles": ["admin"]},
    )
    image = ContainerImage.objects.create(
        workspace=team.workspace,
        name="orders-image",
        description=MARKER,
        source=ContainerImage.Source.REGISTRY,
        reference=f"registry.example.com/{MARKER.lower()}/orders:1",
        status=ContainerImage.Status.FAILED,
        error=MARKER,
    )
    replays = ReplayBatch.objects.create(flow=shop, version=version, total=1, perform=[MARKER])
    test = FlowTest.objects.create(
        flow=shop,
        name=f"{MARKER} test",
        trigger_node="hook",
        input={"customer": MARKER},
        expectations=[{"node": "shape", "check": "status", "value": "succeeded"}],
    )
    return {
        "approval_id": approval.pk,
        "batch_id": replays.pk,
        "test_id": test.pk,
        "image_id": image.pk,
        "token": "0" * 40,  # a resume URL's or an emailed link's: a wrong one
        "flow_id": shop.pk,
        "number": version.number,
        "run_id": runs[0].pk,
        "node_id": "hook",
        "secret_id": secret.pk,
        "connection_id": connection.pk,
        "flow": shop.pk,
        "workspace": team.workspace.pk,
    }


def _fill(route: str, ids: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        assert name in ids, f"The leak test has no foreign object for <{name}> in {route}"
        return str(ids[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def _shows_nothing_of(body: str, ids: dict[str, Any]) -> None:
    assert MARKER not in body
    assert "SHOP_KEY" not in body
    assert "succeeded</" not in body and "runs in 30 days" not in body  # no health


@pytest.mark.parametrize("route", PATH_ROUTES)
def test_every_id_in_a_path_is_404_to_an_outsider(
    team: Team, foreign: dict[str, Any], route: str
) -> None:
    url = _fill(route, foreign)
    client = team.client(team.outsider)
    answers = {}
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)(url, {}, format="json")
        answers[method] = response.status_code
        assert response.status_code in (404, 405), f"{method.upper()} {url}: {answers}"
        _shows_nothing_of(response.content.decode(errors="replace"), foreign)
    assert 404 in answers.values(), f"{url} answers no method with 404: {answers}"
    assert Flow.objects.get(pk=foreign["flow_id"]).name == f"{MARKER} orders"


@pytest.mark.parametrize(
    "template", [url for urls in QUERY_URLS.values() for url in urls], ids=lambda url: url
)
def test_a_foreign_id_in_a_query_string_shows_nothing(
    team: Team, foreign: dict[str, Any], template: str
) -> None:
    url = template.format(**foreign)
    response = team.client(team.outsider).get(url)
    assert response.status_code in (200, 404), url
    body = response.content.decode()
    _shows_nothing_of(body, foreign)
    assert 'class="health' not in body
    if response.status_code == 200 and url.startswith("/api/"):
        data = response.json()
        assert (data.get("results") if isinstance(data, dict) else data) == []


def test_a_member_sees_the_health_the_outsider_does_not(
    team: Team, foreign: dict[str, Any]
) -> None:
    body = team.client(team.viewer).get(f"/runs/?flow={foreign['flow']}").content.decode()
    assert 'class="health' in body and "67%" in body and "3</strong>" in body
    assert MARKER in body


def test_every_query_parameter_naming_an_object_is_covered() -> None:
    """Parameters read with id_param/positive_int in pages and APIs: each is either a
    foreign object's id (tested above) or counts within an object already checked."""
    read = set()
    for path in [*ROOT.glob("designer/*.py"), *ROOT.glob("runtime/http/*.py")]:
        text = path.read_text()
        read |= set(re.findall(r"id_param\([^,]+,\s*\"(\w+)\"\)", text))
        read |= set(re.findall(r"positive_int\(params\.get\(\"(\w+)\"\)\)", text))
    assert read, "the scan found no parameters: the pattern is out of date"
    assert read - WITHIN_AN_OBJECT <= set(QUERY_URLS), read - WITHIN_AN_OBJECT - set(QUERY_URLS)


def test_a_staff_admin_of_another_workspace_sees_none_of_it_in_the_admin(
    team: Team, foreign: dict[str, Any]
) -> None:
    team.outsider.is_staff = True
    team.outsider.save()
    team.outsider.user_permissions.set(Permission.objects.all())
    client = team.client(team.outsider)
    for page in ("runtime/run", "designer/flow", "runtime/secret", "runtime/connection"):
        response = client.get(f"/admin/{page}/")
        assert response.status_code == 200, page
        _shows_nothing_of(response.content.decode(), foreign)
    change = client.get(f"/admin/runtime/run/{foreign['run_id']}/change/", follow=True)
    assert MARKER not in change.content.decode()
    assert "doesn’t exist" in change.content.decode()
