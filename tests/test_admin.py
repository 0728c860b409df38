"""The admin is where an administrator reviews everything: each model lists, history is
read-only, and secret values never show."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from designer.models import FlowVersion
from runtime.models import Run, Secret
from runtime.services import secret_set
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, start

PAGES = [
    "designer/flow",
    "designer/flowversion",
    "designer/flowevent",
    "designer/workspace",
    "runtime/run",
    "runtime/steprun",
    "runtime/secret",
    "runtime/webhookendpoint",
    "runtime/cronschedule",
    "runtime/eventsubscription",
    "runtime/dbchangesubscription",
]


@pytest.fixture
def admin_client(team: Team) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_every_model_has_a_list_page(admin_client: Client, team: Team, page: str) -> None:
    start(team, chain(node("shape", "data.transform", value=1)))
    assert admin_client.get(f"/admin/{page}/").status_code == 200


@pytest.mark.django_db
def test_runs_and_versions_cannot_be_changed_or_deleted(admin_client: Client, team: Team) -> None:
    run = start(team, chain(node("shape", "data.transform", value=1)))
    version = run.version
    page = admin_client.get(f"/admin/runtime/run/{run.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert (
        admin_client.post(f"/admin/runtime/run/{run.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert (
        admin_client.post(
            f"/admin/designer/flowversion/{version.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert Run.objects.filter(pk=run.pk).exists()


@pytest.mark.django_db
def test_secret_values_never_show(admin_client: Client, team: Team) -> None:
    secret_set(workspace=team.workspace, name="KEY", value="top-secret-value", user=team.admin)
    secret = Secret.objects.get()
    page = admin_client.get(f"/admin/runtime/secret/{secret.pk}/change/").content.decode()
    assert "top-secret-value" not in page and secret.ciphertext not in page
    listing = admin_client.get("/admin/runtime/secret/").content.decode()
    assert "KEY" in listing and "top-secret-value" not in listing


@pytest.mark.django_db
def test_an_admin_deletes_a_user_who_saved_versions_and_the_versions_stay(
    admin_client: Client, team: Team
) -> None:
    # FlowVersion.author is SET_NULL: the database must let that one UPDATE through.
    run = start(team, chain(node("shape", "data.transform", value=1)))
    response = admin_client.post(f"/admin/auth/user/{team.editor.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=team.editor.pk).exists()
    version = FlowVersion.objects.get(pk=run.version.pk)
    assert (version.author, version.number) == (None, 1)
    page = admin_client.get(f"/admin/designer/flowversion/{version.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
