"""NATS through nats-py (asyncio, run to completion per call on the calling thread).

Publishing goes through JetStream when a stream stores the subject, and succeeds on its
PubAck (stream and sequence; ``Nats-Msg-Id`` lets the stream drop a retried duplicate);
on a subject no stream stores it is a core publish, flushed, without confirmation.
Consuming uses a durable pull consumer with explicit acks, created at the trigger's
activation time; an unacknowledged message is redelivered after ACK_WAIT seconds.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import ssl
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
from nats import errors as nats_errors
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.js import api
from nats.js import errors as js_errors

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

logger = logging.getLogger(__name__)
ACK_WAIT = 10.0
BATCH = 20
T = TypeVar("T")


class NatsClient:
    def test(self, params: Params, timeout: float) -> str:
        async def probe() -> str:
            nc = await _connect(params, timeout)
            try:
                return f"Connected to NATS {nc.connected_server_version}"
            finally:
                await nc.close()

        return _run(probe())

    def publish(self, params: Params, request: PublishRequest) -> dict[str, Any]:
        return _run(_publish(params, request))

    def consume(
        self, params: Params, source: Source, handle: Handle, stop: threading.Event, ready: Ready
    ) -> None:
        # The loop runs only while waiting on NATS; ``handle`` (which writes to the database
        # through Django, synchronously) runs between, on this thread, with no loop running.
        loop = asyncio.new_event_loop()
        nc: Nats | None = None
        try:
            nc = loop.run_until_complete(_connect(params, 10))
            subscription, stream, created = loop.run_until_complete(_subscribe(nc, source))
            ready()
            while not stop.is_set():
                try:
                    batch = loop.run_until_complete(subscription.fetch(BATCH, timeout=1))
                except nats_errors.TimeoutError:
                    continue
                for msg in batch:
                    _deliver(loop, msg, _message(msg, stream, created), handle, stop)
        except (nats_errors.Error, js_errors.Error, OSError) as exc:
            raise ConnectionFailed(f"NATS: {first_line(exc)}") from None
        finally:
            if nc is not None:
                _close(loop, nc)
            loop.close()


async def _publish(params: Params, request: PublishRequest) -> dict[str, Any]:
    nc = await _connect(params, request.timeout)
    try:
        js = nc.jetstream(timeout=request.timeout)
        headers = {**request.headers, "Nats-Msg-Id": request.message_id}
        try:
            ack = await js.publish(request.destination, request.body, headers=headers)
        except js_errors.NoStreamResponseError:
            # No stream stores the subject: plain NATS, at most once, nothing to confirm.
            await nc.publish(request.destination, request.body, headers=headers)
            await nc.flush(timeout=max(1, int(request.timeout)))
            return {
                "subject": request.destination,
                "jetstream": False,
                "message_id": request.message_id,
            }
        except js_errors.APIError as exc:
            raise PublishFailed(f"NATS JetStream refused the message: {first_line(exc)}") from None
        except nats_errors.TimeoutError:
            raise ConnectionFailed(
                "NATS JetStream did not acknowledge the message in time."
            ) from None
        return {
            "subject": request.destination,
            "jetstream": True,
            "stream": ack.stream,
            "sequence": ack.seq,
            "duplicate": bool(ack.duplicate),
            "message_id": request.message_id,
        }
    finally:
        await nc.close()


async def _subscribe(nc: Nats, source: Source) -> tuple[Any, str, str]:
    js = nc.jetstream(timeout=10)
    stream = await _stream(js, source)
    created = _epoch((await js.stream_info(stream)).created)
    await _ensure_consumer(js, stream, source)
    subscription = await js.pull_subscribe_bind(durable=source.group, stream=stream)
    return subscription, stream, created


def _message(msg: Msg, stream: str, created: str) -> Message:
    meta = msg.metadata
    return Message(
        body=msg.data,
        headers=dict(msg.headers or {}),
        # The stream's sequence is the message's identity; with the stream's creation time
        # it stays unique even if the stream is deleted and created again.
        message_id=f"{stream}@{created}:{meta.sequence.stream}",
        redelivered=meta.num_delivered > 1,
        metadata={
            "subject": msg.subject,
            "stream": stream,
            "sequence": meta.sequence.stream,
            "num_delivered": meta.num_delivered,
        },
    )


def _deliver(
    loop: asyncio.AbstractEventLoop,
    msg: Msg,
    message: Message,
    handle: Handle,
    stop: threading.Event,
) -> None:
    try:
        if stop.is_set():
            raise Superseded()
        handle(message)
    except BaseException:
        loop.run_until_complete(msg.nak())  # back to the stream at once, not after ACK_WAIT
        raise
    loop.run_until_complete(msg.ack_sync())


def _epoch(created: Any) -> str:
    if isinstance(created, datetime.datetime):
        return str(int(created.timestamp() * 1_000_000))
    return str(created or "")


async def _stream(js: Any, source: Source) -> str:
    if source.stream:
        return source.stream
    try:
        return str(await js.find_stream_name_by_subject(source.name))
    except js_errors.NotFoundError:
        raise ConnectionFailed(
            f"No JetStream stream stores the subject {source.name!r}: create one (e.g. "
            f"`nats stream add ORDERS --subjects {source.name!r}`) or name it in the trigger.",
        ) from None


async def _ensure_consumer(js: Any, stream: str, source: Source) -> None:
    try:
        await js.consumer_info(stream, source.group)
        return
    except js_errors.NotFoundError:
        pass
    start = datetime.datetime.fromtimestamp(source.since_ms / 1000, tz=datetime.UTC)
    await js.add_consumer(
        stream,
        api.ConsumerConfig(
            durable_name=source.group,
            filter_subject=source.name,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.BY_START_TIME,
            opt_start_time=start,
            ack_wait=ACK_WAIT,
            max_ack_pending=BATCH * 5,
        ),
    )


async def _connect(params: Params, timeout: float) -> Nats:
    scheme = "tls" if params.tls else "nats"
    problems: list[str] = []

    async def on_error(exc: Exception) -> None:
        problems.append(first_line(exc))

    options: dict[str, Any] = {
        "servers": [f"{scheme}://{params.host}:{params.port}"],
        "connect_timeout": max(1, int(min(timeout, 30))),
        "allow_reconnect": False,
        "max_reconnect_attempts": 0,
        "name": f"tributary:{params.name}",
        "error_cb": on_error,
    }
    if params.tls:
        options["tls"] = ssl.create_default_context()
    if params.username:
        options["user"], options["password"] = params.username, params.password
    elif params.password:
        options["token"] = params.password
    try:
        return await nats.connect(**options)
    except (TimeoutError, nats_errors.Error, OSError) as exc:
        detail = problems[-1] if problems else first_line(exc)
        authorization = "authorization" in detail.lower()
        raise ConnectionFailed(
            f"Could not connect to NATS at {params.host}:{params.port}: {detail}",
            retryable=not authorization,
        ) from None


def _close(loop: asyncio.AbstractEventLoop, nc: Nats) -> None:
    try:
        loop.run_until_complete(nc.close())
    except Exception:  # closing a dead connection must not hide what killed it
        logger.debug("Closing the NATS connection failed", exc_info=True)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


CLIENT = NatsClient()
