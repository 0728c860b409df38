"""Local stand-ins for what leaves the machine: an HTTP API and an SMTP server, both on
127.0.0.1, so steps are tested against real sockets without the internet."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller


@dataclass
class FakeApi:
    """Routes: /json, /echo, /status/<code>, /slow?seconds=, /trickle?seconds=&every=,
    /flaky/<key>?fail=N, /redirect?to=<path>, /text. Every request is counted by path and
    recorded, and handed to ``hooks[path]`` first if there is one; a /trickle whose client
    hung up early is counted in ``abandoned``."""

    port: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    abandoned: threading.Event = field(default_factory=threading.Event)
    # Called with each request to a path before it is answered (a fault to inject).
    hooks: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.hits.clear()
        self.requests.clear()
        self.failures_left.clear()
        self.abandoned.clear()
        self.hooks.clear()


def serve_locally(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """An HTTP server for ``handler`` on a free 127.0.0.1 port, serving from a thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_fake_api() -> tuple[FakeApi, ThreadingHTTPServer]:
    api = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            api.hits[parts.path] += 1
            seen = {
                "method": self.command,
                "path": parts.path,
                "query": query,
                "headers": dict(self.headers),
                "body": body,
                "at": time.time(),
            }
            api.requests.append(seen)
            if parts.path in api.hooks:
                api.hooks[parts.path](seen)
            self._route(parts.path, query, seen)

        def _route(self, path: str, query: dict[str, str], seen: dict[str, Any]) -> None:
            if path.startswith("/status/"):
                self._send(int(path.rsplit("/", 1)[1]), {"error": "as requested"})
            elif path == "/slow":
                time.sleep(float(query.get("seconds", "1")))
                self._send(200, {"slept": float(query.get("seconds", "1"))})
            elif path == "/trickle":  # a byte every `every` seconds, for `seconds`
                self._trickle(float(query.get("seconds", "10")), float(query.get("every", "0.2")))
            elif path.startswith("/flaky/"):
                left = api.failures_left.setdefault(path, int(query.get("fail", "1")))
                if left > 0:
                    api.failures_left[path] = left - 1
                    self._send(503, {"error": "try again"})
                else:
                    self._send(200, {"ok": True, "after": int(query.get("fail", "1"))})
            elif path == "/redirect":
                self.send_response(302)
                self.send_header("Location", query.get("to", "/json"))
                self.end_headers()
            elif path == "/text":
                self._send(200, "plain words", content_type="text/plain")
            else:  # /json, /echo: what we received
                self._send(
                    200, {k: seen[k] for k in ("method", "path", "query", "headers", "body")}
                )

        def _trickle(self, seconds: float, every: float) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            deadline = time.monotonic() + seconds
            try:
                while time.monotonic() < deadline:
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(every)
            except OSError:
                api.abandoned.set()  # the client gave up before the end

        def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = serve_locally(Handler)
    api.port = server.server_address[1]
    return api, server


class SmtpSink:
    """An SMTP server that keeps every message it is given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[dict[str, Any]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.content.decode("utf-8", errors="replace"),
            }
        )
        return "250 OK"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
