"""A websocket client for live run pages, logged in as a persona, against the real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from websockets.sync.client import ClientConnection, connect

from tests.conftest import Web


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@contextmanager
def live(
    web: Web, path: str, user: User | None, origin: str | None = None
) -> Iterator[ClientConnection]:
    headers = {"Origin": origin or web.url}
    if user is not None:
        headers["Cookie"] = session_cookie(user)
    with connect(web.url.replace("http", "ws") + path, additional_headers=headers) as socket:
        yield socket


def receive(socket: ClientConnection) -> dict[str, Any]:
    return json.loads(socket.recv(timeout=15))


def until(socket: ClientConnection, predicate: Any) -> list[dict[str, Any]]:
    seen = []
    while True:
        message = receive(socket)
        seen.append(message)
        if predicate(message):
            return seen
