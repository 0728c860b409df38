"""How registering an image says no: a sentence saying what to fix, the field it concerns,
and the HTTP status (400 by default; 413 for an archive over the size cap)."""

from __future__ import annotations

from django.conf import settings

from runtime.runs import RunRefused


class ImageRefused(RunRefused):
    """The image cannot be registered as given. A registry pull stores the message as the
    image's ``error``; the API and the page answer it with ``status`` (a RunRefused, so the
    API's error handler already renders it as a 400 naming ``field``)."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        self.status = status
        super().__init__(message, field=field)


def max_bytes() -> int:
    """The largest image (sum of its blobs) or uploaded archive accepted."""
    return int(settings.TRIBUTARY_IMAGE_MAX_MB) * 1024 * 1024


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.2f} MB"


def over_the_cap(what: str, size: int | None = None) -> str:
    limit = settings.TRIBUTARY_IMAGE_MAX_MB
    amount = f" is {megabytes(size)}" if size is not None else " is larger"
    return f"{what}{amount}; the limit is {limit:,} MB (TRIBUTARY_IMAGE_MAX_MB)."
