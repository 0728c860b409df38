"""The small contract every client module implements, and the values it exchanges.

Database clients (postgres, mysql): ``test(params, timeout)`` and ``query(params, request)``.
Broker clients (amqp, redis, nats, mqtt): ``test``, ``publish(params, request)`` and
``consume(params, source, handle, stop)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.resources.connections.params import Params


class ConnectionFailed(Exception):
    """The service could not be reached or refused us; ``str(exc)`` carries the server's
    own message. ``retryable=False`` when waiting will not help (wrong password)."""

    def __init__(self, message: str, *, retryable: bool = True):
        self.retryable = retryable
        super().__init__(message)


class StatementFailed(Exception):
    """The database refused or aborted the statement (syntax, permission, read-only,
    timeout); ``str(exc)`` is the database's message."""

    def __init__(self, message: str, *, timeout: bool = False, read_only: bool = False):
        self.timeout = timeout
        self.read_only = read_only
        super().__init__(message)


class PublishFailed(Exception):
    """The broker refused the message (unknown exchange, no route, negative ack)."""


@dataclass
class QueryRequest:
    sql: str
    parameters: list[Any] | dict[str, Any]
    max_rows: int
    timeout: float
    writes: bool  # run in a read-write transaction (the connection allows writes)


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    row_count: int  # rows returned, or rows affected by a statement without a result

    @classmethod
    def read(
        cls,
        columns: list[str],
        fetched: list[Any],
        max_rows: int,
        value: Callable[[Any], Any] = lambda raw: raw,
    ) -> QueryResult:
        """The rows of a result whose first ``max_rows + 1`` rows were fetched (one more
        than kept, to tell whether there were more); ``value`` turns each driver value into
        a JSON value."""
        rows = [
            {name: value(item) for name, item in zip(columns, row, strict=True)}
            for row in fetched[:max_rows]
        ]
        return cls(
            columns=columns, rows=rows, truncated=len(fetched) > max_rows, row_count=len(rows)
        )


@dataclass
class PublishRequest:
    destination: str  # routing key, stream or channel, subject, topic
    body: bytes
    headers: dict[str, str]
    message_id: str
    timeout: float
    exchange: str = ""  # amqp
    redis_mode: str = "stream"  # redis: stream | channel
    qos: int = 1  # mqtt


@dataclass
class Source:
    """What a queue trigger consumes."""

    name: str  # queue, stream, subject or topic filter
    group: str  # redis consumer group / nats durable / mqtt client id, stable per trigger
    since_ms: int  # activation time: where a new consumer group or durable starts
    qos: int = 1
    stream: str = ""  # nats: the JetStream stream, found by subject when empty


@dataclass
class Message:
    body: bytes
    headers: dict[str, Any]
    message_id: str  # the broker's id, or "" when the message carries none
    redelivered: bool
    metadata: dict[str, Any] = field(default_factory=dict)  # queue/stream/subject/topic...


class Superseded(Exception):
    """The trigger changed or stopped while a message was in hand: give the message back
    (unacknowledged) and stop consuming."""


Handle = Callable[[Message], None]
Ready = Callable[[], None]


class DatabaseClient(Protocol):
    def test(self, params: Params, timeout: float) -> str: ...
    def query(self, params: Params, request: QueryRequest) -> QueryResult: ...


class BrokerClient(Protocol):
    def test(self, params: Params, timeout: float) -> str: ...
    def publish(self, params: Params, request: PublishRequest) -> dict[str, Any]: ...
    def consume(
        self,
        params: Params,
        source: Source,
        handle: Handle,
        stop: threading.Event,
        ready: Ready,
    ) -> None: ...


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:1000]


def text_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(k): v if isinstance(v, str | int | float | bool) else str(v) for k, v in headers.items()
    }
