"""queue.publish: send a JSON message to an AMQP exchange, a Redis stream or channel, a
NATS subject or an MQTT topic on a named connection, confirmed where the protocol can.

The message id defaults to the step's idempotency key, the same on every retry of the
step: each protocol carries it where its consumers deduplicate (AMQP ``message_id``,
JetStream ``Nats-Msg-Id``, a Redis stream field, an MQTT user property), and a Tributary
queue trigger starts one run per id.
"""

from __future__ import annotations

import json

from runtime.kinds.contract import StepContext, StepError, StepKind, StepOutput, template
from runtime.models.connections import BROKER_KINDS, ConnectionKind
from runtime.resources.connections.clients.base import (
    ConnectionFailed,
    PublishFailed,
    PublishRequest,
)
from runtime.resources.connections.params import Params, for_step
from runtime.resources.connections.registry import BROKERS
from runtime.resources.connections.schema import connection_field
from runtime.tracing import spans

MAX_MESSAGE_BYTES = 1024 * 1024
# messaging.system as OpenTelemetry spells it where it names one (AMQP is RabbitMQ's);
# Redis, NATS and MQTT have no standard value and keep the connection kind.
OTEL_SYSTEMS = {ConnectionKind.AMQP: "rabbitmq"}


class QueuePublish(StepKind):
    type = "queue.publish"
    queue = "io"
    effects = True
    label = "Publish message"
    description = (
        "Publish a JSON message to RabbitMQ (AMQP), a Redis stream or channel, NATS or MQTT, "
        "with the broker's confirmation where it gives one."
    )
    # The receipt's other fields depend on the broker (stream id, JetStream sequence...).
    output_example = {"message_id": "9b2f6c1e-3a8d-5f4b-8c2e-7d1a0b9e4f36"}
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["connection", "destination"],
        "properties": {
            "connection": connection_field(BROKER_KINDS),
            "destination": template(
                "Destination",
                minLength=1,
                maxLength=1000,
                examples=["orders.created"],
                description=(
                    "AMQP: the routing key (the queue's name on the default exchange). Redis: "
                    "the stream or channel. NATS: the subject. MQTT: the topic."
                ),
            ),
            "exchange": template(
                "Exchange (AMQP)",
                maxLength=255,
                description="Empty: the default exchange, which routes to the queue named "
                "by the routing key.",
            ),
            "redis_mode": {
                "enum": ["stream", "channel"],
                "title": "Redis: stream or channel",
                "default": "stream",
                "description": "stream: XADD, confirmed by the entry id. channel: PUBLISH, "
                "unconfirmed (only the number of current subscribers).",
            },
            "qos": {
                "enum": [0, 1],
                "title": "MQTT QoS",
                "default": 1,
                "description": "1: the broker acknowledges the message (PUBACK).",
            },
            "body": {
                "title": "Body",
                "x-widget": "json",
                "x-template": "value",
                "description": 'A JSON value; strings are templates, and "{{ x }}" alone '
                "keeps x's type.",
                "examples": [{"order": "{{ event.trigger.body.id }}"}],
            },
            "headers": {
                "type": "object",
                "title": "Headers / properties",
                "x-widget": "keyvalue",
                "maxProperties": 100,
                "additionalProperties": template("Value", maxLength=8192),
            },
            "message_id": template(
                "Message id",
                maxLength=200,
                description="Empty: the step's idempotency key, the same on every retry.",
            ),
            "timeout_seconds": {
                "type": "number",
                "title": "Timeout (seconds)",
                "exclusiveMinimum": 0,
                "maximum": 120,
                "default": 10,
            },
        },
    }

    def rehearse(self, ctx: StepContext) -> bool:
        self._prepare(ctx)
        return True

    def run(self, ctx: StepContext) -> StepOutput:
        params, request = self._prepare(ctx)
        name = ctx.config["connection"]
        attributes = {
            "messaging.system": OTEL_SYSTEMS.get(params.kind, params.kind),
            "messaging.destination.name": request.destination,
            "messaging.message.id": request.message_id,
            "tributary.connection": name,
        }
        try:
            with spans.child_span("queue.publish", "producer", attributes):
                receipt = BROKERS[params.kind].publish(params, request)
        except ConnectionFailed as exc:
            raise StepError(str(exc), retryable=exc.retryable) from None
        except PublishFailed as exc:
            raise StepError(
                f"The broker did not take the message: {exc}", retryable=False
            ) from None
        return StepOutput(receipt)

    def _prepare(self, ctx: StepContext) -> tuple[Params, PublishRequest]:
        """The connection and the message as it will be published (recorded as the input)."""
        name = ctx.config["connection"]
        params = for_step(ctx.secrets, name, BROKER_KINDS)
        request = self._request(ctx)
        ctx.input = {
            "connection": name,
            "exchange": request.exchange,
            "destination": request.destination,
            "headers": request.headers,
            "message_id": request.message_id,
            "body": json.loads(request.body),
        }
        return params, request

    def _request(self, ctx: StepContext) -> PublishRequest:
        destination = ctx.render(ctx.config["destination"]).strip()
        if not destination:
            raise StepError("The destination rendered empty.", retryable=False)
        body = json.dumps(ctx.render_value(ctx.config.get("body", {})), separators=(",", ":"))
        if len(body.encode()) > MAX_MESSAGE_BYTES:
            raise StepError(
                f"The message is {len(body.encode()):,} bytes; the limit is {MAX_MESSAGE_BYTES:,}.",
                retryable=False,
            )
        headers = {key: ctx.render(value) for key, value in ctx.config.get("headers", {}).items()}
        message_id = ctx.render(ctx.config.get("message_id", "")).strip() or ctx.idempotency_key
        return PublishRequest(
            destination=destination,
            exchange=ctx.render(ctx.config.get("exchange", "")).strip(),
            body=body.encode(),
            headers=headers,
            message_id=message_id[:200],
            timeout=min(ctx.config.get("timeout_seconds", 10), max(ctx.remaining(), 1)),
            redis_mode=ctx.config.get("redis_mode", "stream"),
            qos=ctx.config.get("qos", 1),
        )


KIND = QueuePublish()
