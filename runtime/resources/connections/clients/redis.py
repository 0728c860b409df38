"""Redis streams (and pub/sub channels for publishing) through redis-py.

Publishing to a stream is confirmed by the entry id XADD returns; a channel has no
confirmation, only the number of subscribers that received the message. Consuming reads a
stream through a consumer group: entries are acknowledged (XACK) only after their run is
committed. A consumer that restarts first re-reads the entries it was given but never
acknowledged (its pending list), so a crash loses nothing.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import redis
from redis import exceptions

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

BATCH = 20
CONSUMER = "tributary"  # one consumer per trigger (the process holding its lock)


class RedisClient:
    def test(self, params: Params, timeout: float) -> str:
        client = _client(params, timeout)
        try:
            info = _call(params, client.info, "server")
            return f"Connected to Redis {info.get('redis_version', '')}".strip()
        finally:
            client.close()

    def publish(self, params: Params, request: PublishRequest) -> dict[str, Any]:
        client = _client(params, request.timeout)
        try:
            if request.redis_mode == "channel":
                receivers = _call(params, client.publish, request.destination, request.body)
                return {"channel": request.destination, "receivers": receivers}
            fields: dict[str, Any] = {"body": request.body, "message_id": request.message_id}
            if request.headers:
                fields["headers"] = json.dumps(request.headers)
            entry = _call(params, client.xadd, request.destination, fields)
            return {
                "stream": request.destination,
                "id": _text(entry),
                "message_id": request.message_id,
            }
        finally:
            client.close()

    def consume(
        self, params: Params, source: Source, handle: Handle, stop: threading.Event, ready: Ready
    ) -> None:
        client = _client(params, 10)
        try:
            _ensure_group(params, client, source)
            ready()
            backlog = True  # first the entries handed out before and never acknowledged
            while not stop.is_set():
                entries = _read(params, client, source, backlog=backlog)
                if backlog and not entries:
                    backlog = False
                for entry_id, fields in entries:
                    if stop.is_set():
                        raise Superseded()
                    if fields:  # an entry deleted from the stream since has no fields
                        handle(_message(_text(entry_id), fields, source, redelivered=backlog))
                    _call(params, client.xack, source.name, source.group, entry_id)
        finally:
            client.close()


def _read(
    params: Params, client: redis.Redis, source: Source, *, backlog: bool
) -> list[tuple[Any, dict[bytes, bytes]]]:
    """The next entries: from the pending list (id 0) while catching up, else new ones
    (>), waiting up to a second for them so the loop notices a stop."""
    batches = _call(
        params,
        client.xreadgroup,
        source.group,
        CONSUMER,
        {source.name: "0" if backlog else ">"},
        count=BATCH,
        block=None if backlog else 1000,
    )
    return list(batches[0][1]) if batches else []


def _ensure_group(params: Params, client: redis.Redis, source: Source) -> None:
    """Create the trigger's consumer group at its activation time, so entries added since
    the flow was published are not skipped, while older history is."""
    try:
        client.xgroup_create(source.name, source.group, id=f"{source.since_ms}-0", mkstream=True)
    except exceptions.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise ConnectionFailed(f"Redis: {first_line(exc)}", retryable=False) from None
    except exceptions.RedisError as exc:
        raise ConnectionFailed(f"Redis at {params.host}:{params.port}: {first_line(exc)}") from None


def _message(
    entry_id: str, fields: dict[bytes, bytes], source: Source, *, redelivered: bool
) -> Message:
    values = {_text(key): _text(value) for key, value in fields.items()}
    if "body" in values:
        body = fields.get(b"body", b"")
        headers = _headers(values.get("headers", ""))
        message_id = values.get("message_id", "")
        extra = {k: v for k, v in values.items() if k not in ("body", "headers", "message_id")}
    else:  # a stream written natively (XADD orders * id 7 email a@b): the fields are the body
        body, headers, message_id, extra = json.dumps(values).encode(), {}, "", {}
    return Message(
        body=body,
        headers=headers,
        message_id=entry_id,
        redelivered=redelivered,
        metadata={"stream": source.name, "group": source.group, "fields": extra}
        | ({"sender_message_id": message_id} if message_id else {}),
    )


def _headers(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"headers": text}
    return value if isinstance(value, dict) else {"headers": value}


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _client(params: Params, timeout: float) -> redis.Redis:
    try:
        db = int(params.database or 0)
    except ValueError:
        raise ConnectionFailed(
            f"The Redis database must be a number, not {params.database!r}.", retryable=False
        ) from None
    return redis.Redis(
        host=params.host,
        port=params.port,
        db=db,
        username=params.username or None,
        password=params.password or None,
        ssl=params.tls,
        socket_connect_timeout=max(1.0, min(timeout, 30)),
        # Above the 1 s blocking read of the consumer loop.
        socket_timeout=max(3.0, min(timeout, 30)),
        client_name="tributary",
    )


def _call(params: Params, call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except exceptions.AuthenticationError as exc:
        raise ConnectionFailed(
            f"Redis at {params.host}:{params.port} refused the login: {first_line(exc)}",
            retryable=False,
        ) from None
    except exceptions.ResponseError as exc:
        raise PublishFailed(f"Redis: {first_line(exc)}") from None
    except exceptions.RedisError as exc:
        raise ConnectionFailed(
            f"Could not talk to Redis at {params.host}:{params.port}: {first_line(exc)}"
        ) from None


CLIENT = RedisClient()
