"""What workspace secrets and connections share: a unique name in a workspace, a
description, who made it and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from designer.models import Workspace


class WorkspaceNamed(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="%(class)ss")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["workspace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="%(class)s_unique_name")
        ]
