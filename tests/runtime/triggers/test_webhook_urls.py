"""Webhook URLs name the address callers reach: TRIBUTARY_PUBLIC_URL when set, else the
address the editor's page came to (so `serve --port 8020` shows :8020 URLs). The Host
header is only used for this display, and only once Django has checked it against
ALLOWED_HOSTS."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.management.commands.serve import public_url_problem
from runtime.triggers.webhook import kind as webhook
from tests.conftest import Team
from tests.factories import graph, node
from tests.runtime.helpers import publish

pytestmark = pytest.mark.django_db


def hook_url_shown(team: Team, host: str, *, secure: bool = False) -> str:
    flow = publish(team, graph(node("order", "trigger.webhook")))
    response = team.client(team.editor).get(
        f"/api/flows/{flow.pk}/triggers/", HTTP_HOST=host, secure=secure
    )
    assert response.status_code == 200, response.content
    (item,) = response.json()
    token = webhook.endpoint_for(flow, "order").token
    assert item["url"].endswith(f"/hooks/{token}")
    return str(item["url"]).removesuffix(f"/hooks/{token}")


def test_without_a_public_url_the_url_follows_the_address_in_use(
    team: Team, settings: SettingsWrapper
) -> None:
    settings.PUBLIC_URL = ""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    assert hook_url_shown(team, "127.0.0.1:8020") == "http://127.0.0.1:8020"
    assert hook_url_shown(team, "localhost:9000", secure=True) == "https://localhost:9000"


def test_a_configured_public_url_wins_over_the_address_in_use(
    team: Team, settings: SettingsWrapper
) -> None:
    settings.PUBLIC_URL = "https://tributary.example.com"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    assert hook_url_shown(team, "127.0.0.1:8020") == "https://tributary.example.com"


def test_a_host_outside_allowed_hosts_is_refused_not_shown(
    team: Team, settings: SettingsWrapper
) -> None:
    settings.PUBLIC_URL = ""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    flow = publish(team, graph(node("order", "trigger.webhook")))
    client = team.client(team.editor)
    for path in (f"/api/flows/{flow.pk}/triggers/", f"/api/flows/{flow.pk}/triggers/order/listen/"):
        assert client.get(path, HTTP_HOST="evil.example:80").status_code == 400


def test_rotating_and_listening_name_the_same_address(
    team: Team, settings: SettingsWrapper
) -> None:
    settings.PUBLIC_URL = ""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    flow = publish(team, graph(node("order", "trigger.webhook")))
    client = team.client(team.editor)
    base = "http://127.0.0.1:8020/hooks/"
    for path in ("rotate", "listen"):
        response = client.post(
            f"/api/flows/{flow.pk}/triggers/order/{path}/", HTTP_HOST="127.0.0.1:8020"
        )
        assert response.json()["url"].startswith(base), response.json()


@pytest.mark.parametrize(
    ("public_url", "host", "port", "warned"),
    [
        ("", "127.0.0.1", 8020, False),
        ("http://127.0.0.1:8000", "127.0.0.1", 8020, True),
        ("http://localhost:8020", "127.0.0.1", 8020, False),
        ("http://localhost", "0.0.0.0", 8020, True),  # noqa: S104 (a --host value, not a bind)
        ("http://192.168.1.5:8000", "192.168.1.5", 8020, True),
        ("https://tributary.example.com", "127.0.0.1", 8020, False),  # behind a proxy
    ],
)
def test_serve_warns_when_the_public_url_names_another_port_of_this_machine(
    public_url: str, host: str, port: int, warned: bool
) -> None:
    problem = public_url_problem(public_url, host=host, port=port)
    assert (problem is not None) is warned
    if problem:
        assert f"listens on port {port}" in problem and "TRIBUTARY_PUBLIC_URL" in problem
