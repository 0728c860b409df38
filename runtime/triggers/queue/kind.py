"""trigger.queue: start a run for every message on an AMQP queue, a Redis stream (consumer
group), a NATS subject (JetStream durable consumer) or an MQTT topic (persistent session).

Activating writes a QueueSubscription per node in the publishing transaction; the
consumer process (`manage.py consumers`, inside `serve` in the embedded default) follows
them. A message is acknowledged only after its run is committed, a redelivered one that
already has a run is acknowledged without a second, and one that cannot start a run is
kept as a dead letter (see supervisor.py, listener.py and delivery.py beside it).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils import timezone

from designer.graph import Graph, GraphInvalid, Node, Problem
from designer.models import Flow
from runtime.kinds.contract import SampleRefused, TriggerKind
from runtime.kinds.samples import sample_fields, sample_time
from runtime.models import Connection, ConnectionKind, QueueSubscription
from runtime.models.connections import BROKER_KINDS
from runtime.resources.connections.clients.base import Message
from runtime.resources.connections.schema import connection_field
from runtime.triggers.queue.delivery import Trigger, message_payload

MAX_MESSAGE_BYTES = 1024 * 1024
MESSAGE_KEYS = ("body", "headers", "metadata")
MESSAGE_SHAPE = "A queue message delivers {body, headers, metadata}."
GROUP_PATTERN = r"^[A-Za-z0-9_\-]{1,100}$"
NATS_TOKEN = re.compile(r"^[^\s.*>]+$")


class QueueTrigger(TriggerKind):
    type = "trigger.queue"
    label = "Queue message"
    description = (
        "Start the flow for every message on a RabbitMQ queue, Redis stream, NATS subject "
        "(JetStream) or MQTT topic."
    )
    output_example = {
        "body": {},
        "headers": {},
        "metadata": {
            "connection": "bus",
            "message_id": "m-1",
            "redelivered": False,
            "received_at": "2026-01-01T09:00:00+00:00",
            "size": 2,
        },
    }
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["connection", "source"],
        "properties": {
            "connection": connection_field(BROKER_KINDS),
            "source": {
                "type": "string",
                "title": "Source",
                "minLength": 1,
                "maxLength": 500,
                "examples": ["orders"],
                "description": (
                    "AMQP: the queue (declared durable if missing). Redis: the stream. NATS: "
                    "the subject (a JetStream stream must store it). MQTT: the topic filter "
                    "(+ and # allowed)."
                ),
            },
            "stream": {
                "type": "string",
                "title": "NATS stream",
                "maxLength": 200,
                "description": "Empty: the stream that stores the subject.",
            },
            "qos": {"enum": [0, 1], "title": "MQTT QoS", "default": 1},
            "group": {
                "type": "string",
                "title": "Consumer group / durable / client id",
                "pattern": GROUP_PATTERN,
                "description": "Empty: one derived from the flow and node, stable across versions.",
            },
            "body_format": {
                "enum": ["auto", "json", "text"],
                "title": "Body",
                "default": "auto",
                "description": (
                    "auto: parsed when it is JSON, else text. json: anything else is a dead "
                    "letter. text: never parsed."
                ),
            },
            "max_message_bytes": {
                "type": "integer",
                "title": "Largest message (bytes)",
                "minimum": 1,
                "maximum": MAX_MESSAGE_BYTES,
                "default": 256 * 1024,
                "description": "Larger messages become dead letters.",
            },
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        if (
            "\x00" in node.config["source"]
            or node.config["source"].strip() != node.config["source"]
        ):
            yield Problem(
                "The source cannot start or end with spaces.", node=node.id, field="config.source"
            )

    def activate(self, flow: Flow, nodes: Sequence[Node]) -> None:
        now = timezone.now()
        for node in nodes:
            connection = _connection(flow, node)
            config = dict(node.config)
            subscription = QueueSubscription.objects.filter(flow=flow, node_id=node.id).first()
            if subscription is None:
                QueueSubscription.objects.create(
                    flow=flow,
                    node_id=node.id,
                    connection=connection,
                    config=config,
                    activated_at=now,
                )
            elif subscription.config != config or subscription.connection_id != connection.pk:
                if subscription.config.get("source") != config.get("source"):
                    subscription.activated_at = now  # a new source starts from now
                subscription.config, subscription.connection = config, connection
                subscription.revision += 1
                subscription.state, subscription.last_error = QueueSubscription.State.STARTING, ""
                subscription.save()
        QueueSubscription.objects.filter(flow=flow).exclude(
            node_id__in=[node.id for node in nodes]
        ).delete()

    def test_input(self, node: Node, sample: Any, *, flow: Flow) -> Any:
        """The message the sample states, sent as queue.publish sends it (a string as it
        is, anything else as compact JSON) and read as the consumer reads it; refused when
        a live message like it would be a dead letter."""
        given = sample_fields(sample, MESSAGE_KEYS, MESSAGE_SHAPE)
        body, metadata = given.get("body"), dict(_object(given, "metadata"))
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        message = Message(
            body=b"" if body is None else text.encode(),
            headers=_object(given, "headers"),
            message_id=str(metadata.pop("message_id", "") or ""),
            redelivered=bool(metadata.pop("redelivered", False)),
            metadata=metadata,
        )
        payload, problem = message_payload(_test_trigger(flow, node), message)
        if problem:
            raise SampleRefused(f"A live message like this is kept as a dead letter: {problem}")
        payload["metadata"]["received_at"] = sample_time(metadata.get("received_at"), "received_at")
        return payload


KIND = QueueTrigger()


def _object(sample: dict[str, Any], key: str) -> dict[str, Any]:
    value = sample.get(key) or {}
    if not isinstance(value, dict):
        raise SampleRefused(f"{key} is an object of names and values.")
    return value


def _test_trigger(flow: Flow, node: Node) -> Trigger:
    config = node.config
    return Trigger(
        subscription_id=0,
        revision=0,
        flow_id=flow.pk,
        node_id=node.id,
        kind="",
        connection_name=config["connection"],
        source=config["source"],
        body_format=config.get("body_format", "auto"),
        max_bytes=config.get("max_message_bytes", 256 * 1024),
    )


def _connection(flow: Flow, node: Node) -> Connection:
    """The node's connection, checked now that the flow's workspace is known: a graph is
    validated without it, so this is where a wrong name refuses the publish."""
    name = node.config["connection"]
    connection = Connection.objects.filter(workspace_id=flow.workspace_id, name=name).first()
    field = "config.connection"
    if connection is None:
        raise GraphInvalid(
            [
                Problem(
                    f"There is no connection {name!r} in this workspace.", node=node.id, field=field
                )
            ]
        )
    if connection.kind not in BROKER_KINDS:
        raise GraphInvalid(
            [
                Problem(
                    f"{name!r} is a {connection.get_kind_display()} connection; a queue trigger "
                    "needs an AMQP, Redis, NATS or MQTT one.",
                    node=node.id,
                    field=field,
                )
            ]
        )
    problem = source_problem(ConnectionKind(connection.kind), node.config)
    if problem:
        raise GraphInvalid([Problem(problem, node=node.id, field="config.source")])
    return connection


def source_problem(kind: ConnectionKind, config: Mapping[str, Any]) -> str | None:
    source = config["source"]
    if kind == ConnectionKind.MQTT:
        levels = source.split("/")
        for index, level in enumerate(levels):
            if "#" in level and (level != "#" or index != len(levels) - 1):
                return "In an MQTT topic filter, # must be a whole last level (orders/#)."
            if "+" in level and level != "+":
                return "In an MQTT topic filter, + must be a whole level (orders/+/created)."
    if kind == ConnectionKind.NATS:
        parts = source.split(".")
        for index, part in enumerate(parts):
            if part in ("*", ">"):
                if part == ">" and index != len(parts) - 1:
                    return "In a NATS subject, > must be the last token (orders.>)."
            elif not NATS_TOKEN.match(part):
                return f"{source!r} is not a NATS subject (tokens separated by dots, no spaces)."
    return None


def consumer_group(kind: str, flow_id: int, node_id: str, config: dict[str, Any]) -> str:
    """The consumer group (Redis), durable consumer (NATS) or client id (MQTT) of a trigger:
    the same across versions while the node keeps its id and source, so a new version goes
    on where the last one stopped. The source is part of it where the broker ties the name
    to what it reads (an MQTT session keeps its subscriptions, a NATS durable its filter)."""
    if config.get("group"):
        return str(config["group"])
    digest = hashlib.sha256(config["source"].encode()).hexdigest()[:8]
    if kind == ConnectionKind.NATS:
        return f"tributary_{flow_id}_{node_id}_{digest}"
    if kind == ConnectionKind.MQTT:
        return f"tributary-{flow_id}-{node_id}-{digest}"
    return f"tributary-{flow_id}-{node_id}"
