"""Workspace secrets, encrypted at rest (see runtime/secrets.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from designer.models import Workspace


class Secret(models.Model):
    """A named secret of a workspace, encrypted at rest. Configs use {{ secrets.NAME }};
    the value is never returned by the API nor written to runs (it is redacted)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=100)
    ciphertext = models.TextField()
    description = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workspace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="secret_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.workspace})"
