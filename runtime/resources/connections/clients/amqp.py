"""AMQP 0-9-1 (RabbitMQ) through py-amqp.

Publishing uses publisher confirms and ``mandatory``: the step succeeds only once the broker
has taken the message and routed it somewhere. Consuming acknowledges a message only after
its handler returned (its run is committed); a message in hand when the consumer stops or
dies goes back to the queue.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import amqp
from amqp import exceptions

from runtime.resources.connections.clients.base import (
    ConnectionFailed,
    Handle,
    Message,
    PublishFailed,
    PublishRequest,
    Ready,
    Source,
    Superseded,
    first_line,
)
from runtime.resources.connections.params import Params

PREFETCH = 20
HEARTBEAT = 30


class AmqpClient:
    def test(self, params: Params, timeout: float) -> str:
        conn = _connect(params, timeout)
        try:
            server = getattr(conn, "server_properties", None) or {}
            return (
                f"Connected to {server.get('product', 'AMQP')} {server.get('version', '')}".strip()
            )
        finally:
            _close(conn)

    def publish(self, params: Params, request: PublishRequest) -> dict[str, Any]:
        conn = _connect(params, request.timeout)
        try:
            channel = conn.channel()
            returned: list[str] = []
            getattr(channel, "events")["basic_return"].add(  # noqa: B009  # untyped in py-amqp
                lambda exc, exchange, key, message: returned.append(first_line(exc))
            )
            message = amqp.Message(
                request.body,
                content_type="application/json",
                message_id=request.message_id,
                delivery_mode=2,  # persistent
                application_headers=request.headers,
            )
            try:
                channel.basic_publish_confirm(
                    message,
                    exchange=request.exchange,
                    routing_key=request.destination,
                    mandatory=True,
                    confirm_timeout=request.timeout,
                )
            except exceptions.MessageNacked:
                raise PublishFailed("The broker refused the message (negative ack).") from None
            except exceptions.ChannelError as exc:
                raise PublishFailed(first_line(exc)) from None
            except (OSError, exceptions.ConnectionError) as exc:
                raise ConnectionFailed(f"AMQP connection lost: {first_line(exc)}") from None
            if returned:
                raise PublishFailed(
                    f"The broker could not route the message to any queue ({returned[0]}): "
                    f"check the exchange {request.exchange or '(default)'!r} and routing key "
                    f"{request.destination!r}."
                )
            return {
                "confirmed": True,
                "exchange": request.exchange,
                "message_id": request.message_id,
            }
        finally:
            _close(conn)

    def consume(
        self, params: Params, source: Source, handle: Handle, stop: threading.Event, ready: Ready
    ) -> None:
        conn = _connect(params, 10)
        try:
            channel = _queue_channel(conn, source.name)
            channel.basic_qos(0, PREFETCH, False)

            def on_message(message: amqp.Message) -> None:
                tag = message.delivery_info["delivery_tag"]
                try:
                    handle(_message(message, source))
                except Superseded:
                    channel.basic_reject(tag, requeue=True)
                    raise
                channel.basic_ack(tag)

            channel.basic_consume(source.name, callback=on_message)
            ready()
            while not stop.is_set():
                # Heartbeats both ways, busy or idle: a broker that vanished without closing
                # the socket is noticed within two heartbeat intervals.
                with contextlib.suppress(TimeoutError):
                    conn.drain_events(timeout=1)
                conn.heartbeat_tick()
        except (OSError, exceptions.AMQPError) as exc:
            if isinstance(exc, TimeoutError | socket.timeout):
                raise ConnectionFailed("The AMQP broker stopped answering.") from None
            raise ConnectionFailed(f"AMQP: {first_line(exc)}") from None
        finally:
            _close(conn)


def _queue_channel(conn: amqp.Connection, queue: str) -> Any:
    """A channel on ``queue``, declaring it (durable) when it does not exist yet. A
    passive declare first: an existing queue is used as its owner declared it."""
    channel = conn.channel()
    try:
        channel.queue_declare(queue, passive=True)
        return channel
    except exceptions.NotFound:
        channel = conn.channel()  # the failed declare closed the first one
        channel.queue_declare(queue, durable=True, auto_delete=False)
        return channel


def _message(message: amqp.Message, source: Source) -> Message:
    properties = {
        key: value
        for key, value in message.properties.items()
        if key != "application_headers" and isinstance(value, str | int | float | bool)
    }
    headers = message.properties.get("application_headers") or {}
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return Message(
        body=body,
        headers={str(key): _plain(value) for key, value in headers.items()},
        message_id=str(message.properties.get("message_id") or ""),
        redelivered=bool(message.delivery_info.get("redelivered")),
        metadata={
            "queue": source.name,
            "exchange": message.delivery_info.get("exchange", ""),
            "routing_key": message.delivery_info.get("routing_key", ""),
            "properties": properties,
        },
    )


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _connect(params: Params, timeout: float) -> amqp.Connection:
    conn = amqp.Connection(
        host=f"{params.host}:{params.port}",
        userid=params.username or "guest",
        password=params.password,
        virtual_host=params.database or "/",
        ssl=params.tls,
        connect_timeout=max(1.0, min(timeout, 30)),
        read_timeout=max(1.0, min(timeout, 30)),
        write_timeout=max(1.0, min(timeout, 30)),
        heartbeat=HEARTBEAT,
        client_properties={"connection_name": f"tributary:{params.name}"},
    )
    try:
        conn.connect()
    except exceptions.AccessRefused as exc:
        raise ConnectionFailed(
            f"The AMQP broker at {params.host}:{params.port} refused the login: {first_line(exc)}",
            retryable=False,
        ) from None
    except (OSError, exceptions.AMQPError) as exc:
        raise ConnectionFailed(
            f"Could not connect to AMQP at {params.host}:{params.port}: {first_line(exc)}"
        ) from None
    return conn


def _close(conn: amqp.Connection) -> None:
    try:
        conn.close()
    except Exception:  # closing a dead connection must not hide what killed it
        conn.collect()


CLIENT = AmqpClient()
