"""Image archives uploaded by an admin: what ``docker save`` and ``podman save`` write
(docker-archive, possibly gzip-compressed), and tars of an OCI layout (oci-archive, what
``podman save --format oci-archive`` writes). Recognised by their members, converted to an
OCI layout by skopeo."""

from __future__ import annotations

import gzip
import tarfile
import zlib
from pathlib import Path

from django.conf import settings

from runtime.images.errors import ImageRefused, max_bytes, over_the_cap
from runtime.images.layout import TAG
from runtime.images.skopeo import SkopeoFailed, SkopeoTimeout, skopeo

NOT_AN_ARCHIVE = (
    "This file is not an image archive: expected what docker save, podman save or an OCI "
    "layout tar produce."
)
GZIP_MAGIC = b"\x1f\x8b"
COPY_BYTES = 1024 * 1024


def archive_to_layout(archive: Path, workdir: Path) -> Path:
    """Convert the uploaded ``archive`` into an OCI layout under ``workdir`` and return
    its path; ImageRefused (field ``archive``) saying what is wrong with the file."""
    tar = _uncompressed(archive, workdir)
    transport = archive_format(tar)
    layout = workdir / "layout"
    try:
        skopeo(
            "copy",
            "--quiet",
            f"{transport}:{tar}",
            f"oci:{layout}:{TAG}",
            workdir=workdir,
            timeout=settings.TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS,
        )
    except SkopeoTimeout:
        raise ImageRefused(
            "Converting the archive took longer than "
            f"{settings.TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS} s "
            "(TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS).",
            field="archive",
        ) from None
    except SkopeoFailed as exc:
        raise ImageRefused(_problem(exc.message), field="archive") from None
    return layout


def archive_format(tar: Path) -> str:
    """skopeo's transport for the tar: ``docker-archive`` when it holds a manifest.json
    (docker save, podman save), ``oci-archive`` when it holds an oci-layout file."""
    names = set()
    try:
        with tarfile.open(tar, "r:") as archive:
            for member in archive:
                name = member.name.removeprefix("./").lstrip("/")
                if name == "manifest.json":
                    return "docker-archive"
                names.add(name)
    except (tarfile.TarError, OSError, EOFError):
        raise ImageRefused(NOT_AN_ARCHIVE, field="archive") from None
    if "oci-layout" in names:
        return "oci-archive"
    raise ImageRefused(NOT_AN_ARCHIVE, field="archive")


def _uncompressed(archive: Path, workdir: Path) -> Path:
    """``archive`` itself, or, gzip-compressed (docker save | gzip), its content in
    ``workdir``: skopeo 1.9 reads only plain tars. The content may not pass the size cap
    either, as if it had been uploaded uncompressed."""
    with archive.open("rb") as handle:
        if handle.read(2) != GZIP_MAGIC:
            return archive
    target = workdir / "archive.tar"
    limit = max_bytes()
    written = 0
    try:
        with gzip.open(archive, "rb") as source, target.open("wb") as sink:
            while chunk := source.read(COPY_BYTES):
                written += len(chunk)
                if written > limit:
                    raise ImageRefused(
                        over_the_cap("The archive, uncompressed,"), field="archive", status=413
                    )
                sink.write(chunk)
    except (OSError, EOFError, zlib.error):
        raise ImageRefused(NOT_AN_ARCHIVE, field="archive") from None
    return target


def _problem(message: str) -> str:
    """A sentence for what skopeo said about an archive."""
    lowered = message.lower()
    if "digest did not match" in lowered or "does not match config's diffid" in lowered:
        return (
            "A blob in the archive does not match its digest (digest mismatch): the archive "
            "is corrupted; save the image again."
        )
    if "more than one image" in lowered or "multiple images" in lowered:
        return "The archive holds several images: save one image per archive."
    return f"The archive could not be read as an image: {message}"
