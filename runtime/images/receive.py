"""Receiving an uploaded image archive: onto disk, never into memory, and never more than
the size cap (TRIBUTARY_IMAGE_MAX_MB).

Two layers, because Django's ASGI handler reads a whole request body (into a temporary
file) before any view runs: ``limit_image_uploads`` wraps the ASGI app and counts the
bytes of the upload routes as they arrive, answering 413 once they pass the cap (or at once
when Content-Length says so); ``ArchiveReceiver``, the upload handler of the upload views,
writes the archive part of the form to a temporary file and stops at the cap, which is
what applies when the app is served some other way (WSGI, the test client)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.http import HttpRequest

from runtime.images.errors import max_bytes, over_the_cap

FIELD = "archive"
# The upload routes: the API's and the Images page's forms.
UPLOAD_PATHS = frozenset({"/api/images/upload/", "/images/upload/"})
# The form's other fields (workspace, name, description) and multipart framing.
FORM_SLACK = 1024 * 1024

Scope = dict[str, Any]
Message = Any  # an ASGI event: a mapping with a "type"
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Any, Any], Awaitable[None]]


def too_large_message() -> str:
    return over_the_cap("The archive")


class ArchiveReceiver(FileUploadHandler):
    """Takes the form's ``archive`` file to a temporary file on disk, counting its bytes;
    past the cap it stops the upload and sets ``too_large``. Other files are skipped."""

    def __init__(self, request: HttpRequest | None = None):
        super().__init__(request)
        self.limit = max_bytes()
        self.received = 0
        self.too_large = False
        self.taken = False
        self.file: TemporaryUploadedFile | None = None

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        if field_name != FIELD or self.taken:
            raise SkipFile()
        self.taken = True
        self.file = TemporaryUploadedFile(
            self.file_name or FIELD, self.content_type, 0, self.charset, self.content_type_extra
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        assert self.file is not None
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=True)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        assert self.file is not None
        self.file.seek(0)
        self.file.size = file_size
        return self.file


def limit_image_uploads(app: App) -> App:
    """``app`` with the upload routes' bodies counted against the cap as they arrive."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope.get("path") not in UPLOAD_PATHS
        ):
            await app(scope, receive, send)
            return
        limit = max_bytes() + FORM_SLACK
        if _declared_length(scope) > limit:
            await _refuse(scope, send)
            return
        state = {"received": 0, "refused": False, "started": False}

        async def counting() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not state["refused"]:
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    # Django's handler stops reading at a disconnect and answers nothing;
                    # the 413 is sent below instead.
                    state["refused"] = True
                    return {"type": "http.disconnect"}
            return message

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await app(scope, counting, watching)
        if state["refused"] and not state["started"]:
            await _refuse(scope, send)

    return guarded


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return 0


async def _refuse(scope: Scope, send: Send) -> None:
    """413 in the shape of the API's errors, or as the page's problem line."""
    message = too_large_message()
    if scope["path"].startswith("/api/"):
        body = json.dumps(
            {"detail": message, "errors": [{"field": FIELD, "message": message}]}
        ).encode()
        content_type = b"application/json"
    else:
        body = f'<p class="problem" role="alert">{message} ({FIELD})</p>'.encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            # The rest of the body may still be on the wire: the connection cannot carry
            # another request.
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
