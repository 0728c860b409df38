"""Issue 13, finding 1, against the real ASGI server: an editor saves a data.transform holding
six ``{{ 9**(9**7) > 1 }}``. Before templates were bounded the save took 17.7 s and every
other request to that server waited as long (another user's workspace list: 16.7 s). Now the
save is refused at once, naming the node and each field, and nobody waits."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from tests.conftest import Team, Web
from tests.factories import edge, flow, graph, node

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]
BOMB = "{{ 9**(9**7) > 1 }}"
FIELDS = [f"total_{n}" for n in range(6)]


def token(user: User) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def save_version(
    web: Web, flow_id: int, graph_data: object, headers: dict[str, str]
) -> httpx.Response:
    with httpx.Client(base_url=web.url, timeout=60) as client:
        return client.post(
            f"/api/flows/{flow_id}/versions/", json={"graph": graph_data}, headers=headers
        )


def test_saving_six_template_bombs_is_refused_at_once_and_holds_up_nobody(
    team: Team, web: Web
) -> None:
    orders = flow(team.editor, team.workspace)
    bombs = graph(
        node("start", "trigger.manual"),
        node("shape", "data.transform", value=dict.fromkeys(FIELDS, BOMB)),
        edges=[edge("start", "shape")],
    )
    editor, other = token(team.editor), token(team.outsider)
    with httpx.Client(base_url=web.url, timeout=60) as client, ThreadPoolExecutor(1) as pool:
        assert client.get("/api/workspaces/", headers=other).status_code == 200  # warm
        saving = pool.submit(save_version, web, orders.pk, bombs, editor)
        time.sleep(0.1)  # the save is on its way
        started = time.monotonic()
        listed = client.get("/api/workspaces/", headers=other)
        waited = time.monotonic() - started
        saved = saving.result()
    assert listed.status_code == 200
    assert waited < 1, f"another user's request waited {waited:.1f} s"
    assert saved.status_code == 400, saved.text
    errors = saved.json()["errors"]
    assert {(error["node"], error["field"]) for error in errors} == {
        ("shape", f"config.value.{field}") for field in FIELDS
    }
    assert all("number too large" in error["message"] for error in errors), errors
    assert orders.versions.count() == 1
