"""The REST API as a script sees it: requests through Django's WSGI handler with an
``Authorization: Token`` header, and answers checked against the OpenAPI schema the app
serves at /api/schema/. Used by the fuzzer (tests/test_api_fuzz.py) and by the tests of
what it found."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import schemathesis
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.schemas import OpenApiSchema
from werkzeug.test import Client, TestResponse


class InProcessApp:
    """Django's WSGI handler, called in the test's thread: requests see the test's
    transaction (its data), and what they write is rolled back with it.

    As Django's test client does, close_old_connections is kept from running at request
    start and end: it would close the connection in the middle of that transaction. Each
    request runs in a savepoint that a 5xx rolls back, so one server error cannot leave
    the transaction aborted for the requests after it (a real server starts afresh)."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        statuses: list[str] = []

        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        # Outside a test's transaction (loading the schema) there is nothing to protect.
        in_test_transaction = transaction.get_connection().in_atomic_block
        savepoint = transaction.savepoint() if in_test_transaction else None
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start)
            body = b"".join(response)
            response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
            if savepoint is not None and statuses and statuses[0].startswith("5"):
                transaction.savepoint_rollback(savepoint)
            elif savepoint is not None:
                transaction.savepoint_commit(savepoint)
        return [body]


@functools.cache
def served_schema() -> OpenApiSchema:
    """The schema at /api/schema/ (generated from the code, so one per test process)."""
    return schemathesis.openapi.from_wsgi("/api/schema/", InProcessApp())


def token_for(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


class TokenClient(Client):
    """werkzeug's test client, sending a user's token with every request."""

    def __init__(self, token: str) -> None:
        super().__init__(InProcessApp())
        self.token = token

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        kwargs["headers"] = {"Authorization": f"Token {self.token}", **kwargs.get("headers", {})}
        return super().open(*args, **kwargs)


def api(user: User) -> TokenClient:
    return TokenClient(token_for(user))


def conforms(response: TestResponse) -> TestResponse:
    """``response``, after checking its status and body are what the served schema
    documents for the operation it answered."""
    request = response.request
    operation = served_schema().find_operation_by_path(request.method, request.path)
    assert operation is not None, f"{request.method} {request.path} is not in the schema"
    documented = operation.responses.find_by_status_code(response.status_code)
    assert documented is not None, f"{operation.label} does not document {response.status}"
    operation.validate_response(response)
    return response
