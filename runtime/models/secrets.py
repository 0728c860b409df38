"""Workspace secrets, encrypted at rest (see runtime/resources/secrets.py)."""

from __future__ import annotations

from django.db import models

from designer.models import Workspace
from runtime.models.base import WorkspaceNamed


class Secret(WorkspaceNamed):
    """A named secret of a workspace, encrypted at rest. Configs use {{ secrets.NAME }};
    the value is never returned by the API nor written to runs (it is redacted)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="secrets")
    ciphertext = models.TextField()

    class Meta(WorkspaceNamed.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.name} ({self.workspace})"
