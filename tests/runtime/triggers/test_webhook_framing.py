"""Bodies whose framing lies, sent byte for byte over a raw socket to the real server: a
Content-Length that claims less than is sent, or more. None starts a run, none is a 500,
none leaves the caller hanging."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from runtime.models import Run
from tests.conftest import Team, Web
from tests.runtime.triggers.hooks import hook_flow, hook_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
LIMIT = 1000


@dataclass
class Answer:
    status: int | None  # None: the server closed the connection without answering
    body: bytes
    closed: bool  # the server closed the connection after answering (or instead)


class Raw:
    """One HTTP/1.1 connection to the hook, written to and read from by hand."""

    def __init__(self, url: str, timeout: float = 30):
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        self.path = parts.path
        self.host = f"{parts.hostname}:{parts.port}"
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)

    def send(self, head: dict[str, str], body: bytes = b"", *, end: bool = False) -> None:
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in head.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        if end:
            self.sock.shutdown(socket.SHUT_WR)  # the client has nothing more to send

    def answer(self) -> Answer:
        """Read one response (or the end of the connection); a socket timeout here is
        the server hanging, and fails the test."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                return Answer(None, data, True)
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        while len(body) < int(headers.get("content-length", 0)):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            body += chunk
        closed = headers.get("connection") == "close" or not self._more()
        return Answer(int(lines[0].split()[1]), body, closed)

    def _more(self) -> bool:
        self.sock.settimeout(1)
        try:
            return self.sock.recv(1) != b""
        except TimeoutError:
            return True  # still open and silent

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def hook(team: Team, web: Web) -> str:
    return hook_url(web, hook_flow(team, {"max_body_bytes": LIMIT}))


def exchange(url: str, head: dict[str, str], body: bytes, *, end: bool = False) -> Answer:
    connection = Raw(url)
    try:
        connection.send(head, body, end=end)
        return connection.answer()
    finally:
        connection.close()


def test_a_body_longer_than_its_content_length_never_reaches_a_flow(hook: str) -> None:
    # HTTP frames the body by Content-Length: the first 10 bytes are the body, the rest a
    # malformed next request, which the server refuses and closes the connection over.
    answer = exchange(hook, {"Content-Length": "10"}, b"x" * (5 * LIMIT))
    assert answer.status == 400 and answer.closed
    assert not Run.objects.exists()


def test_a_chunked_body_that_also_claims_a_small_content_length_is_refused(hook: str) -> None:
    big = b"y" * (5 * LIMIT)
    chunked = f"{len(big):x}\r\n".encode() + big + b"\r\n0\r\n\r\n"
    answer = exchange(hook, {"Content-Length": "10", "Transfer-Encoding": "chunked"}, chunked)
    assert answer.status in {400, 413} and answer.closed
    assert not Run.objects.exists()


def test_a_content_length_over_the_limit_is_a_413_without_waiting_for_the_body(
    hook: str,
) -> None:
    answer = exchange(hook, {"Content-Length": str(5 * LIMIT)}, b"z" * 100)
    assert answer.status == 413 and answer.closed
    assert b"limit of 1,000 bytes" in answer.body
    assert not Run.objects.exists()


def test_a_client_waiting_for_100_continue_is_refused_before_it_sends_the_body(
    hook: str,
) -> None:
    answer = exchange(hook, {"Content-Length": str(5 * LIMIT), "Expect": "100-continue"}, b"")
    assert answer.status == 413, answer.body  # not "100 Continue": the body is not wanted
    assert b"limit of 1,000 bytes" in answer.body
    assert not Run.objects.exists()


def test_a_body_over_the_limit_sent_with_its_headers_is_a_413(hook: str) -> None:
    # Read whole with the headers, it meets the hook's limit after the lookup.
    answer = exchange(hook, {"Content-Length": str(2 * LIMIT)}, b"z" * (2 * LIMIT))
    assert answer.status == 413 and b"limit of 1,000 bytes" in answer.body
    assert not Run.objects.exists()


def test_a_body_shorter_than_its_content_length_is_a_408_when_the_rest_never_comes(
    hook: str,
) -> None:
    answer = exchange(hook, {"Content-Length": str(LIMIT - 100)}, b"z" * 100)
    assert answer.status == 408 and answer.closed
    assert b"stopped arriving" in answer.body
    assert not Run.objects.exists()


def test_a_body_cut_short_by_the_client_closing_starts_nothing(hook: str) -> None:
    answer = exchange(hook, {"Content-Length": str(LIMIT - 100)}, b"z" * 100, end=True)
    assert answer.closed and answer.status in {None, 400}
    assert not Run.objects.exists()


def test_the_next_honest_request_is_served(team: Team, hook: str) -> None:
    exchange(hook, {"Content-Length": "10"}, b"x" * (5 * LIMIT))
    answer = exchange(
        hook, {"Content-Length": "9", "Content-Type": "application/json"}, b'{"id": 1}'
    )
    assert answer.status == 202, answer.body
    assert Run.objects.get().input["body_size"] == 9
