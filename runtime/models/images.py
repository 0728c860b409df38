"""Container images registered in a workspace, and the content-addressed blobs they are made
of (kept in the database, so a worker on any machine can fetch them: see runtime/images/)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from designer.models import Workspace

DIGEST_LENGTH = 71  # "sha256:" + 64 hex digits


class ImageBlob(models.Model):
    """One blob of an OCI image (manifest, config or layer), stored once whoever uses it.
    Its bytes are split into ``ImageBlobChunk`` rows; ``digest`` is their sha256."""

    digest = models.CharField(max_length=DIGEST_LENGTH, unique=True)
    size = models.BigIntegerField()
    media_type = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.digest


class ImageBlobChunk(models.Model):
    blob = models.ForeignKey(ImageBlob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["blob", "index"]
        constraints = [
            models.UniqueConstraint(fields=["blob", "index"], name="imageblobchunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.blob_id}#{self.index}"


class ContainerImage(models.Model):
    """An image registered under a name. Registering the name again adds a row and moves
    ``current`` to it: flow versions saved earlier keep running the digest they recorded."""

    class Source(models.TextChoices):
        REGISTRY = "registry", "Registry"
        UPLOAD = "upload", "Upload"

    class Status(models.TextChoices):
        PULLING = "pulling", "Pulling"  # a worker is fetching it from the registry
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"  # ``error`` says why; nothing of it was stored

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="container_images"
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    error = models.TextField(blank=True)
    # The manifest's digest: what a saved version records and a worker runs ("" until
    # pulled).
    digest = models.CharField(max_length=DIGEST_LENGTH, blank=True)
    # {"entrypoint": [...], "cmd": [...], "env": [...], "working_dir": "", "user": "",
    #  "architecture": "amd64", "os": "linux"}, read from the image's config blob.
    config = models.JSONField(default=dict)
    # Every blob a worker needs: the manifest, the config and the layers, in that order.
    blobs = models.JSONField(default=list)
    size = models.BigIntegerField(default=0)  # bytes of all blobs, as stored
    source = models.CharField(max_length=10, choices=Source.choices)
    reference = models.CharField(max_length=500, blank=True)  # as given, for a registry
    credentials_secret = models.CharField(max_length=100, blank=True)
    # The name points here; only a ready image is ever current.
    current = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workspace", "name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"],
                condition=models.Q(current=True),
                name="containerimage_one_current_per_name",
            )
        ]
        indexes = [models.Index(fields=["workspace", "digest"], name="containerimage_digest")]

    def __str__(self) -> str:
        return f"{self.name}@{self.digest[:19]} ({self.workspace})"
