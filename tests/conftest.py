"""Personas and clients shared by every test package.

Tests run against the real PostgreSQL named by DATABASE_URL (scripts/test sets it); the
embedded SQLite default has its own smoke test that starts the server in a subprocess.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from designer.models import Role, Workspace
from tests import factories


def pytest_report_header() -> str:
    return "Tributary tests: real PostgreSQL, Redis, Celery worker, ASGI server and Chromium"


@pytest.fixture(autouse=True)
def _require_postgres(request: pytest.FixtureRequest) -> None:
    if "django_db_setup" in request.fixturenames and connection.vendor != "postgresql":
        pytest.fail(
            "Tests run against PostgreSQL: set DATABASE_URL (scripts/test does), e.g. "
            "postgres://postgres@127.0.0.1:5432/tributary"
        )


@pytest.fixture(autouse=True)
def _in_process_settings(settings: SettingsWrapper) -> None:
    # Each PBKDF2 hash costs ~0.4 s; personas are created for almost every test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pages rendered in-process need no collectstatic manifest; servers started as
    # subprocesses use the real storage.
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }


@dataclass
class Team:
    """One workspace with a member of every role, and an outsider from another workspace."""

    workspace: Workspace
    admin: User
    editor: User
    viewer: User
    outsider: User

    def client(self, who: User | None) -> APIClient:
        client = APIClient()
        if who is not None:
            client.force_login(who)
        return client


@pytest.fixture
def team(db: None) -> Team:
    admin = factories.user("alice")
    space = factories.workspace("Shop", admin=admin)
    other = factories.workspace("Elsewhere")
    return Team(
        workspace=space,
        admin=admin,
        editor=factories.member(space, "eddie", Role.EDITOR),
        viewer=factories.member(space, "vera", Role.VIEWER),
        outsider=factories.member(other, "olga", Role.ADMIN),
    )


@pytest.fixture
def editor_client(team: Team) -> APIClient:
    return team.client(team.editor)
