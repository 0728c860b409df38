"""Database-change triggers never watch Tributary's or Django's own tables (their rows
would become payloads editors read: tokens, password hashes, sessions, secrets, runs), in
any letter case, and only in the schemas the server allows: refused when the graph is
saved, again when the trigger would be installed, and by the listener."""

from __future__ import annotations

import logging

import pytest
from django.apps import apps
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token

from designer.graph import GraphInvalid, Node
from designer.models import Flow
from runtime.models import DbChange, DbChangeSubscription, Run
from runtime.triggers.dbchange import kind as dbchange
from runtime.triggers.dbchange import outbox
from tests.conftest import Team
from tests.runtime.helpers import chain, publish
from tests.runtime.triggers.tables import execute, installed, watch, watch_graph

pytestmark = pytest.mark.django_db

OWN_TABLES = [
    "public.authtoken_token",
    "public.AUTH_USER",
    "Public.Django_Session",
    "public.runtime_secret",
    "public.runtime_run",
    "public.runtime_steprun",
    "public.tributary_dbchange",
    "public.django_migrations",
    "public.auth_user_groups",  # a many-to-many table Django creates for a model
    "public.tributary_anything_new",  # the reserved prefix
]


def create(team: Team, table: str) -> dict:
    response = team.client(team.editor).post(
        "/api/flows/", {"name": "Watch", "graph": watch_graph(table)}, format="json"
    )
    assert response.status_code == 400, response.json()
    [error] = response.json()["errors"]
    assert (error["node"], error["field"]) == ("rows", "config.table")
    assert not Flow.objects.filter(name="Watch").exists()
    return error


@pytest.mark.parametrize("table", OWN_TABLES)
def test_it_refuses_to_watch_tributarys_own_tables(team: Team, table: str) -> None:
    error = create(team, table)
    assert "Tributary's own tables" in error["message"]


def test_the_own_tables_are_every_installed_models_table() -> None:
    # Not a copy of the list the code uses: each model the app registry knows must be in it.
    for model in apps.get_models(include_auto_created=True):
        assert dbchange.refusal(f"public.{model._meta.db_table}"), model


def test_it_refuses_a_schema_the_server_does_not_allow(team: Team) -> None:
    error = create(team, "audit.orders")
    assert "'audit'" in error["message"] and "public" in error["message"]


def test_a_schema_the_server_allows_can_be_watched(team: Team, settings: SettingsWrapper) -> None:
    settings.TRIBUTARY_DBCHANGE_SCHEMAS = "public, shop"
    execute("CREATE SCHEMA shop")
    execute("CREATE TABLE shop.orders (id serial PRIMARY KEY)")
    watch(team, "shop.orders")
    assert installed("shop.orders")
    settings.TRIBUTARY_DBCHANGE_SCHEMAS = ["public"]
    create(team, "shop.orders")  # and refused once the setting no longer lists it


@pytest.mark.parametrize(
    "table", ["public.authtoken_token", "public.tributary_dbchange", "public.runtime_run"]
)
def test_installing_refuses_an_own_table_even_without_validation(team: Team, table: str) -> None:
    flow = publish(team, chain())
    node = Node(id="rows", type="trigger.dbchange", name="Rows", config={"table": table})
    with pytest.raises(GraphInvalid) as refused:
        dbchange.KIND.activate(flow, [node])
    [problem] = refused.value.problems
    assert (problem.node, problem.field) == ("rows", "config.table")
    assert "own tables" in problem.message
    assert not installed(table)


def test_the_listener_ignores_changes_of_an_own_table_watched_before_it_was_refused(
    team: Team, shop_table: str, caplog: pytest.LogCaptureFixture
) -> None:
    # What an older Tributary could have installed: a capture trigger on the token table
    # and a subscription to it.
    flow = watch(team, shop_table)
    execute(
        "CREATE TRIGGER tributary_capture AFTER INSERT OR UPDATE OR DELETE ON authtoken_token "
        "FOR EACH ROW EXECUTE FUNCTION tributary_capture_change()"
    )
    DbChangeSubscription.objects.filter(flow=flow).update(table="public.authtoken_token")
    Token.objects.create(user=team.editor)
    assert DbChange.objects.filter(table="public.authtoken_token").exists()
    with caplog.at_level(logging.ERROR, logger="runtime.triggers.dbchange.outbox"):
        assert outbox.drain_outbox() == 0
    assert not Run.objects.exists()
    assert not DbChange.objects.exists()  # the token row does not linger in the outbox
    assert "public.authtoken_token ignored" in caplog.text
