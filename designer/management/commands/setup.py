"""Prepare a server: migrate, create the first admin and workspace, load the example flow.

Safe to run on every start: each step does nothing when its work is already done.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from config.env import env_str
from designer.models import Workspace
from designer.services import flow_import, flow_publish, workspace_create

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "new_order_email.json"


class Command(BaseCommand):
    help = "Migrate the database, create the first admin user and load the example flow."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("Static files collected.")
        with transaction.atomic():
            admin = self._ensure_admin()
            if not Workspace.objects.exists():
                workspace = workspace_create(name="Default", admin=admin)
                self.stdout.write(f"Workspace {workspace.name!r} created.")
                if settings.TRIBUTARY_LOAD_EXAMPLE:
                    self._load_example(admin, workspace)

    def _ensure_admin(self) -> Any:
        User = get_user_model()
        username = env_str("TRIBUTARY_ADMIN_USERNAME", "admin") or "admin"
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            self.stdout.write(f"Admin user {username!r} already exists.")
            return existing
        password = env_str("TRIBUTARY_ADMIN_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(
            username=username, email=env_str("TRIBUTARY_ADMIN_EMAIL"), password=password
        )
        if generated:
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n  Admin user created. Log in as {username!r} with password: {password}\n"
                    "  (shown once; change it with: python manage.py changepassword "
                    f"{username})\n"
                )
            )
        else:
            self.stdout.write(f"Admin user {username!r} created with TRIBUTARY_ADMIN_PASSWORD.")
        return admin

    def _load_example(self, admin: Any, workspace: Workspace) -> None:
        data = json.loads(EXAMPLE.read_text())
        flow = flow_import(user=admin, workspace=workspace, data=data)
        flow_publish(flow=flow, user=admin, number=1)
        self.stdout.write(f"Example flow {flow.name!r} loaded and published.")
