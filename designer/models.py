"""Workspaces, flows and their immutable, numbered versions, and the audit trail."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    """What a member may do in a workspace. Superusers act as admins everywhere."""

    ADMIN = "admin", "Admin"  # everything, including secrets, members and all run history
    EDITOR = "editor", "Editor"  # creates, edits, publishes and runs flows
    VIEWER = "viewer", "Viewer"  # reads flows and runs

    @classmethod
    def can_write(cls, role: str | None) -> bool:
        return role in (cls.ADMIN, cls.EDITOR)


class Workspace(models.Model):
    """A team's space: flows, secrets and members belong to exactly one workspace."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.workspace}"


class Flow(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="flows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    # The published version: the one triggers start runs on. None until first published.
    live_version = models.ForeignKey(
        "FlowVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "archived_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ImmutableVersionError(Exception):
    """Raised on any attempt to change a saved FlowVersion's graph, number or flow, or to
    delete one."""


# What makes a version what it is. The rest may change: author becomes NULL when its user
# is deleted (on_delete=SET_NULL is an UPDATE).
VERSION_IDENTITY = frozenset({"flow", "flow_id", "number", "graph"})


class FlowVersionQuerySet(models.QuerySet["FlowVersion"]):
    def update(self, **kwargs: Any) -> int:
        if VERSION_IDENTITY & set(kwargs):
            raise ImmutableVersionError(
                "A flow version's graph, number and flow never change; save a new version."
            )
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableVersionError("Flow versions are never deleted; runs are pinned to them.")


class FlowVersion(models.Model):
    """One saved graph of a flow. Immutable once saved: a change is a new, higher number.

    Its graph, number and flow are guarded three times: here (save/delete), in the queryset
    (update/delete) and by a database trigger (migrations 0002 and 0003), so no ORM, admin
    or SQL path can rewrite history that runs are pinned to.
    """

    flow = models.ForeignKey(Flow, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    message = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The version the author started editing from; lets the designer explain conflicts.
    based_on = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[FlowVersion]] = FlowVersionQuerySet.as_manager()

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="flowversion_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.flow} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and self._rewrites_identity(kwargs.get("update_fields")):
            raise ImmutableVersionError(f"{self} is immutable; save a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableVersionError(f"{self} is never deleted; runs are pinned to it.")

    def _rewrites_identity(self, update_fields: Any) -> bool:
        """Whether saving would change the stored graph, number or flow."""
        if update_fields is not None and not VERSION_IDENTITY & set(update_fields):
            return False
        stored = (
            FlowVersion.objects.filter(pk=self.pk).values_list("flow_id", "number", "graph").first()
        )
        return stored != (self.flow_id, self.number, self.graph)


class FlowEvent(models.Model):
    """The audit trail of a flow: who did what, when, from which version to which."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        IMPORTED = "imported", "Imported"
        VERSION_SAVED = "version_saved", "Version saved"
        PUBLISHED = "published", "Published"
        ROLLED_BACK = "rolled_back", "Rolled back"
        UNPUBLISHED = "unpublished", "Unpublished"
        ARCHIVED = "archived", "Archived"
        RESTORED = "restored", "Restored"
        RENAMED = "renamed", "Renamed"
        # A person decided a run's approval step (detail: run, node, decision, by).
        APPROVAL_DECIDED = "approval_decided", "Approval decided"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    from_version = models.PositiveIntegerField(null=True, blank=True)
    to_version = models.PositiveIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.flow}: {self.action} by {self.actor}"
