"""MQTT 5 (Mosquitto and others) through paho-mqtt, driving its network loop by hand.

Publishing at QoS 1 waits for the broker's PUBACK. Consuming uses a persistent session
(a stable client id, clean start off, a week's session expiry) and manual acks: the PUBACK
for a QoS 1 message is sent only after its run is committed, and a message left
unacknowledged by a crash is sent again when the session reconnects. Messages that
arrive while the trigger's consumer is away wait in the session.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from runtime.resources.connections.clients.base import (
    ConnectionFailed,
    Handle,
    Message,
    PublishFailed,
    PublishRequest,
    Ready,
    Source,
    first_line,
)
from runtime.resources.connections.params import Params

logger = logging.getLogger(__name__)
SESSION_EXPIRY = 7 * 24 * 3600
KEEPALIVE = 30
ID_PROPERTY = "message_id"


class _Session:
    """One client and what its callbacks reported."""

    def __init__(self, params: Params, client_id: str, *, manual_ack: bool):
        self.params = params
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=manual_ack,
            reconnect_on_failure=False,
        )
        if params.username:
            self.client.username_pw_set(params.username, params.password or None)
        if params.tls:
            self.client.tls_set()
        self.connected: ReasonCode | None = None
        self.subscribed: list[ReasonCode] | None = None
        self.published: dict[int, ReasonCode] = {}
        self.failure: BaseException | None = None
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, code: ReasonCode, props: Any
    ) -> None:
        self.connected = code

    def _on_subscribe(
        self, client: Any, userdata: Any, mid: int, codes: list[ReasonCode], props: Any
    ) -> None:
        self.subscribed = codes

    def _on_publish(
        self, client: Any, userdata: Any, mid: int, code: ReasonCode, props: Any
    ) -> None:
        self.published[mid] = code

    def connect(self, timeout: float, *, persistent: bool) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY if persistent else 0
        where = f"{self.params.host}:{self.params.port}"
        try:
            self.client.connect(
                self.params.host,
                self.params.port,
                keepalive=KEEPALIVE,
                clean_start=not persistent,
                properties=properties,
            )
        except OSError as exc:
            raise ConnectionFailed(
                f"Could not connect to MQTT at {where}: {first_line(exc)}"
            ) from None
        self.loop_until(lambda: self.connected is not None, timeout, "answer the connection")
        assert self.connected is not None
        if self.connected.is_failure:
            refused = self.connected.value in (0x86, 0x87, 0x8C)  # bad login, not authorized
            raise ConnectionFailed(
                f"The MQTT broker at {where} refused the connection: {self.connected}",
                retryable=not refused,
            )

    def loop_until(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            self.loop(min(0.2, max(0.01, deadline - time.monotonic())))
            if time.monotonic() > deadline and not done():
                raise ConnectionFailed(f"The MQTT broker did not {what} within {timeout:g} s.")

    def loop(self, timeout: float) -> None:
        code = self.client.loop(timeout)
        if self.failure is not None:
            raise self.failure
        if code != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionFailed(f"MQTT connection lost: {mqtt.error_string(code)}")

    def close(self) -> None:
        try:
            self.client.disconnect()
            self.client.loop(0.1)
        except Exception:  # already gone: nothing to say goodbye to
            logger.debug("MQTT disconnect failed", exc_info=True)


class MqttClient:
    def test(self, params: Params, timeout: float) -> str:
        session = _Session(params, f"tributary-test-{uuid.uuid4().hex[:12]}", manual_ack=False)
        session.connect(timeout, persistent=False)
        session.close()
        return f"Connected to the MQTT broker at {params.host}:{params.port}"

    def publish(self, params: Params, request: PublishRequest) -> dict[str, Any]:
        session = _Session(params, f"tributary-pub-{uuid.uuid4().hex[:12]}", manual_ack=False)
        session.connect(request.timeout, persistent=False)
        try:
            properties = Properties(PacketTypes.PUBLISH)
            properties.ContentType = "application/json"
            properties.UserProperty = [(ID_PROPERTY, request.message_id), *request.headers.items()]
            info = session.client.publish(
                request.destination, request.body, qos=request.qos, properties=properties
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise PublishFailed(f"MQTT: {mqtt.error_string(info.rc)}")
            if request.qos > 0:
                session.loop_until(
                    lambda: info.mid in session.published,
                    request.timeout,
                    "acknowledge the message",
                )
                code = session.published[info.mid]
                if code.is_failure:
                    raise PublishFailed(f"The MQTT broker refused the message: {code}")
            else:
                session.loop_until(info.is_published, request.timeout, "take the message")
            return {
                "topic": request.destination,
                "qos": request.qos,
                "acknowledged": request.qos > 0,
                "message_id": request.message_id,
            }
        finally:
            session.close()

    def consume(
        self, params: Params, source: Source, handle: Handle, stop: threading.Event, ready: Ready
    ) -> None:
        session = _Session(params, source.group, manual_ack=True)

        def on_message(client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
            if session.failure is not None:
                return  # stopping: leave it unacknowledged, the session keeps it
            try:
                handle(_message(message))
            except BaseException as exc:
                session.failure = exc
                return
            if message.qos > 0:
                client.ack(message.mid, message.qos)

        session.client.on_message = on_message
        session.connect(10, persistent=True)
        try:
            session.client.subscribe(source.name, options=SubscribeOptions(qos=source.qos))
            session.loop_until(
                lambda: session.subscribed is not None, 10, "confirm the subscription"
            )
            codes = session.subscribed or []
            if any(code.is_failure for code in codes):
                raise ConnectionFailed(
                    f"The MQTT broker refused the subscription to {source.name!r}: {codes[0]}",
                    retryable=False,
                )
            ready()
            while not stop.is_set():
                session.loop(1.0)
        finally:
            session.close()


def _message(message: mqtt.MQTTMessage) -> Message:
    properties: dict[str, Any] = {}
    user: dict[str, str] = {}
    props = getattr(message, "properties", None)
    if props is not None:
        for name, value in props.json().items():
            if name == "UserProperty":
                user = {str(key): str(item) for key, item in value}
            else:
                properties[name] = value
    message_id = user.pop(ID_PROPERTY, "")
    return Message(
        body=bytes(message.payload),
        headers=user,
        message_id=message_id,
        redelivered=bool(message.dup),
        metadata={
            "topic": message.topic,
            "qos": message.qos,
            "retain": bool(message.retain),
            "properties": json.loads(json.dumps(properties, default=str)),
        },
    )


CLIENT = MqttClient()
