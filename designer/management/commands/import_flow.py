"""Create a flow from an export file; the graph is validated like any save."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from designer.graph import GraphInvalid
from designer.models import Workspace
from designer.services import InvalidRequest, flow_import, flow_publish


class Command(BaseCommand):
    help = "Import a flow from a JSON export (use - for standard input)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument(
            "--workspace",
            default=None,
            help="Workspace slug (default: the only one, if there is one).",
        )
        parser.add_argument(
            "--user",
            default=None,
            help="Username recorded as the author (default: first superuser).",
        )
        parser.add_argument("--name", default=None, help="Override the flow's name.")
        parser.add_argument("--publish", action="store_true", help="Publish version 1.")

    def handle(self, *args: Any, **options: Any) -> None:
        data = self._read(options["path"])
        user = self._user(options["user"])
        workspace = self._workspace(options["workspace"])
        try:
            flow = flow_import(user=user, workspace=workspace, data=data, name=options["name"])
        except GraphInvalid as exc:
            lines = [
                f"  - {p.node or '(graph)'}{'.' + p.field if p.field else ''}: {p.message}"
                for p in exc.problems
            ]
            raise CommandError("\n".join([str(exc), *lines])) from None
        except InvalidRequest as exc:
            raise CommandError(str(exc)) from None
        if options["publish"]:
            flow_publish(flow=flow, user=user, number=1)
        self.stdout.write(f"Imported {flow.name!r} as flow {flow.pk}.")

    def _read(self, path: str) -> Any:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text()
            return json.loads(text)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except ValueError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}.") from None

    def _user(self, username: str | None) -> Any:
        users = get_user_model().objects
        user = (
            users.filter(username=username).first()
            if username
            else users.filter(is_superuser=True).order_by("pk").first()
        )
        if user is None:
            raise CommandError(
                f"No user {username!r}."
                if username
                else "No superuser yet; run manage.py setup or pass --user."
            )
        return user

    def _workspace(self, slug: str | None) -> Workspace:
        if slug:
            workspace = Workspace.objects.filter(slug=slug).first()
            if workspace is None:
                raise CommandError(f"No workspace {slug!r}.")
            return workspace
        workspaces = list(Workspace.objects.all()[:2])
        if len(workspaces) != 1:
            raise CommandError("Say which workspace with --workspace <slug>.")
        return workspaces[0]
