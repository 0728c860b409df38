"""The connection admin (runtime/resources/connections/admin.py): the password is write-only and
stored encrypted, bad settings are errors on their fields, and "Test connection" reports
the server's answer."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import AdminSite
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from runtime.models import Connection
from runtime.resources.connections.admin import ConnectionAdmin, ConnectionForm
from runtime.resources.secrets import secret_decrypt
from tests.conftest import Team
from tests.runtime.resources.connections.helpers import connect

pytestmark = pytest.mark.django_db


def form_data(team: Team, **extra: object) -> dict[str, object]:
    return {
        "workspace": team.workspace.pk,
        "name": "crm",
        "kind": "mysql",
        "host": "127.0.0.1",
        "port": 3306,
        "database": "test",
        "username": "root",
        "description": "",
        **extra,
    }


def test_the_form_stores_the_password_encrypted_and_never_shows_it(team: Team) -> None:
    form = ConnectionForm(data=form_data(team, password="admin-typed-pw"))
    assert form.is_valid(), form.errors
    connection = form.save()
    assert secret_decrypt(Connection.objects.get(pk=connection.pk).ciphertext) == "admin-typed-pw"
    edit = ConnectionForm(instance=connection)
    assert "admin-typed-pw" not in edit.as_p()
    kept = ConnectionForm(data=form_data(team, description="CRM"), instance=connection)
    assert kept.is_valid(), kept.errors
    kept.save()
    assert secret_decrypt(Connection.objects.get(pk=connection.pk).ciphertext) == "admin-typed-pw"


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"host": "a b"}, "host"), ({"kind": "amqp", "allow_writes": True}, "allow_writes")],
)
def test_the_form_puts_bad_settings_on_their_fields(
    team: Team, extra: dict[str, object], field: str
) -> None:
    form = ConnectionForm(data=form_data(team, **extra))
    assert not form.is_valid()
    assert list(form.errors) == [field]


def test_the_test_action_reports_the_servers_answer(team: Team) -> None:
    good = connect(team, "postgres", name="warehouse")
    bad = connect(team, "mysql", name="crm", password="wrong-pw")
    request = RequestFactory().post("/admin/runtime/connection/")
    request.user = team.admin
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    model_admin = ConnectionAdmin(Connection, AdminSite())
    model_admin.test_connections(request, Connection.objects.filter(pk__in=[good.pk, bad.pk]))
    shown = {str(message) for message in get_messages(request)}
    assert any(line.startswith("warehouse: Connected to PostgreSQL") for line in shown)
    assert any("crm: " in line and "Access denied" in line for line in shown)
    assert not any("wrong-pw" in line for line in shown)
