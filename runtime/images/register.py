"""Registering a container image under a name in a workspace: from an uploaded archive (in
the request: seconds) or from a registry reference (a ContainerImage row that is
``pulling``, and a Celery task that pulls it: minutes).

Either way the image becomes ``ready`` and ``current`` in one transaction that also stores
its blobs and moves ``current`` off the name's previous image; a refused or failed image
stores nothing (a failed pull keeps its row, ``failed``, with the sentence saying why).
Callers have checked that the user administers the workspace."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from config.celery import app
from designer.models import Workspace
from runtime.images import store
from runtime.images.archive import archive_to_layout
from runtime.images.errors import ImageRefused
from runtime.images.layout import MISMATCH, Image, image_check, layout_read
from runtime.images.registry import reference_parse, registry_pull
from runtime.models import ContainerImage
from runtime.resources.secrets import SecretBox

logger = logging.getLogger(__name__)
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
PULL_TASK = "runtime.images.tasks.pull_image"
# Past the pull's own timeout, Celery interrupts the task (not in the embedded worker,
# whose threads cannot be interrupted).
PULL_GRACE_SECONDS = 60
Status = ContainerImage.Status


def image_register_upload(
    *, workspace: Workspace, name: str, description: str, upload_path: Path, user: User
) -> ContainerImage:
    """Register the archive at ``upload_path`` (docker save, podman save, an OCI layout
    tar) as ``name``'s current image. ImageRefused naming the field and what to fix."""
    _check_name(name)
    with _workdir() as workdir:
        image = layout_read(archive_to_layout(upload_path, workdir))
        _check(image, field="archive")
        row = ContainerImage(
            workspace=workspace,
            name=name,
            description=description,
            source=ContainerImage.Source.UPLOAD,
            created_by=user,
        )
        with transaction.atomic():
            _make_current(row, image, field="archive")
            row.save()
    _log(row)
    return row


def image_register_reference(
    *,
    workspace: Workspace,
    name: str,
    description: str,
    reference: str,
    credentials_secret: str,
    user: User,
) -> ContainerImage:
    """Add ``name``'s image from a registry as ``pulling``; a worker pulls it once this
    transaction commits (``image_pull``). ImageRefused naming the field for a bad name,
    reference or credentials secret."""
    _check_name(name)
    parsed = reference_parse(reference)
    if credentials_secret:
        _credentials(workspace.pk, credentials_secret, field="credentials_secret")
    row = ContainerImage.objects.create(
        workspace=workspace,
        name=name,
        description=description,
        status=Status.PULLING,
        current=False,
        source=ContainerImage.Source.REGISTRY,
        reference=parsed.text,
        credentials_secret=credentials_secret,
        created_by=user,
    )
    transaction.on_commit(lambda: _send_pull(row.pk))
    return row


def image_pull(image_id: int) -> None:
    """The pull task's body: pull image ``image_id`` if it is still ``pulling``, then make
    it ready and current, or failed with the reason. Safe to run twice (Celery delivers at
    least once): a second run finds it no longer pulling, or pulls it again."""
    row = ContainerImage.objects.filter(pk=image_id, status=Status.PULLING).first()
    if row is None:
        return
    try:
        _pull(row)
    except ImageRefused as exc:
        _fail(image_id, str(exc))
    except Exception:
        logger.exception("Pulling image #%s failed", image_id)
        _fail(image_id, "Pulling the image failed unexpectedly; the server log says why.")
    else:
        _log(row)


def _pull(row: ContainerImage) -> None:
    reference = reference_parse(row.reference)
    credentials = None
    if row.credentials_secret:
        credentials = _credentials(row.workspace_id, row.credentials_secret)
    with _workdir() as workdir:
        layout = registry_pull(
            reference=reference,
            credentials=credentials,
            secret=row.credentials_secret,
            workdir=workdir,
        )
        image = layout_read(layout)
        _check(image)
        with transaction.atomic():
            # Locked, so that a second delivery of the task waits here, then finds it done.
            locked = (
                ContainerImage.objects.select_for_update()
                .filter(pk=row.pk, status=Status.PULLING)
                .first()
            )
            if locked is None:
                return
            _make_current(locked, image)
            locked.save()
            row.digest = locked.digest


def _make_current(row: ContainerImage, image: Image, *, field: str | None = None) -> None:
    """Store the image's blobs and make ``row`` (saved by the caller, in this transaction)
    the name's ready, current image. Locks the workspace row: two registrations of a name
    at once would both find no other current image and the second would break the
    one-current-per-name constraint."""
    Workspace.objects.select_for_update().filter(pk=row.workspace_id).first()
    for blob in image.blobs:
        try:
            store.blob_put(digest=blob.digest, path=blob.path, media_type=blob.media_type)
        except store.BlobCorrupt:
            message = MISMATCH.format(digest=blob.digest, what="layer")
            raise ImageRefused(message, field=field) from None
    ContainerImage.objects.filter(
        workspace_id=row.workspace_id, name=row.name, current=True
    ).update(current=False)
    row.status = Status.READY
    row.current = True
    row.error = ""
    row.digest = image.digest
    row.config = image.config
    row.blobs = [blob.as_dict() for blob in image.blobs]
    row.size = image.size


def _fail(image_id: int, error: str) -> None:
    ContainerImage.objects.filter(pk=image_id, status=Status.PULLING).update(
        status=Status.FAILED, error=error
    )


def _check(image: Image, *, field: str | None = None) -> None:
    try:
        image_check(image)
    except ImageRefused as exc:
        exc.field = exc.field or field
        raise


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ImageRefused(
            "An image name is lowercase letters, digits, '.', '_' and '-', starting with a "
            "letter or digit, at most 100 characters (e.g. pricing-model).",
            field="name",
        )


def _credentials(workspace_id: int, secret: str, *, field: str | None = None) -> str:
    """The "username:password" in the workspace secret ``secret``."""
    box = SecretBox(workspace_id)
    if secret not in box:
        raise ImageRefused(
            f"The secret {secret} is not set in this workspace; an admin can add it under Secrets.",
            field=field,
        )
    value = box[secret]
    if ":" not in value:
        raise ImageRefused(
            f"The secret {secret} must hold the registry's username:password.", field=field
        )
    return value


def _send_pull(image_id: int) -> None:
    """Queue the pull; should the broker not take it, the image fails saying so (nothing
    else would ever pull it)."""
    timeout = settings.TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS
    limit = None if settings.EMBEDDED else timeout + PULL_GRACE_SECONDS
    try:
        app.send_task(PULL_TASK, args=(image_id,), time_limit=limit)
    except (KombuError, OSError) as exc:
        logger.warning("Broker unavailable (%s): image #%s is not pulled.", exc, image_id)
        _fail(image_id, "The pull could not be queued (the task broker is down): try again.")


@contextmanager
def _workdir() -> Iterator[Path]:
    """A private directory for skopeo's layouts and temporary files, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="tributary-image-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _log(row: ContainerImage) -> None:
    logger.info(
        "Image registered: %s@%s in workspace #%s from %s %s",
        row.name,
        row.digest,
        row.workspace_id,
        row.source,
        row.reference or "(upload)",
    )


def fail_abandoned_pulls() -> int:
    """Fail the pulls no worker finished within their time limit (the task's message was
    lost, or its worker killed): the row would say "pulling" forever. A scheduler job."""
    limit = settings.TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS + 2 * PULL_GRACE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=limit)
    return ContainerImage.objects.filter(status=Status.PULLING, created_at__lt=cutoff).update(
        status=Status.FAILED,
        error=f"No worker finished pulling the image within {limit} s; register it again.",
    )
