"""Image blobs in the database: written once per digest, verified on the way in and out.

Blobs live in PostgreSQL (or the embedded SQLite) rather than on a disk, because workers on
other machines must be able to fetch what a flow version runs without a shared filesystem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from django.db import transaction

from runtime.models import ImageBlob, ImageBlobChunk

CHUNK_BYTES = 4 * 1024 * 1024


class BlobCorrupt(Exception):
    """A blob's bytes do not match its digest."""


def digest_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"


def blob_put(*, digest: str, path: Path, media_type: str = "") -> ImageBlob:
    """Store the file at ``path`` as the blob ``digest`` (once: an existing blob is kept).
    Raises BlobCorrupt when the file's sha256 is not ``digest``. Call inside the
    transaction that registers the image, so that a failure stores nothing."""
    existing = ImageBlob.objects.filter(digest=digest).first()
    if existing is not None:
        return existing
    if digest_of(path) != digest:
        raise BlobCorrupt(f"The blob {digest} does not match its digest.")
    with transaction.atomic():
        blob = ImageBlob.objects.create(
            digest=digest, size=path.stat().st_size, media_type=media_type
        )
        with path.open("rb") as handle:
            index = 0
            while chunk := handle.read(CHUNK_BYTES):
                ImageBlobChunk.objects.create(blob=blob, index=index, data=chunk)
                index += 1
    return blob


def blob_write(*, digest: str, target: Path) -> int:
    """Write blob ``digest`` to ``target`` and return its size; BlobCorrupt when the stored
    bytes do not hash to ``digest`` (``target`` is removed then), LookupError when there is
    no such blob."""
    blob = ImageBlob.objects.filter(digest=digest).first()
    if blob is None:
        raise LookupError(f"The blob {digest} is not stored.")
    hasher = hashlib.sha256()
    size = 0
    with target.open("wb") as handle:
        for chunk in _chunks(blob):
            hasher.update(chunk)
            handle.write(chunk)
            size += len(chunk)
    if f"sha256:{hasher.hexdigest()}" != digest or size != blob.size:
        target.unlink(missing_ok=True)
        raise BlobCorrupt(f"The stored blob {digest} does not match its digest.")
    return size


def _chunks(blob: ImageBlob) -> Iterator[bytes]:
    # One chunk at a time: a layer may be hundreds of MiB.
    ids = list(blob.chunks.order_by("index").values_list("pk", flat=True))
    for pk in ids:
        data = ImageBlobChunk.objects.values_list("data", flat=True).get(pk=pk)
        yield bytes(data)
