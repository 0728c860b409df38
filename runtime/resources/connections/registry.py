"""Which client module serves each connection kind."""

from __future__ import annotations

from runtime.models import ConnectionKind
from runtime.resources.connections.clients import amqp, mqtt, mysql, nats, postgres, redis
from runtime.resources.connections.clients.base import BrokerClient, DatabaseClient

DATABASES: dict[str, DatabaseClient] = {
    ConnectionKind.POSTGRES: postgres.CLIENT,
    ConnectionKind.MYSQL: mysql.CLIENT,
}
BROKERS: dict[str, BrokerClient] = {
    ConnectionKind.AMQP: amqp.CLIENT,
    ConnectionKind.REDIS: redis.CLIENT,
    ConnectionKind.NATS: nats.CLIENT,
    ConnectionKind.MQTT: mqtt.CLIENT,
}


def tester(kind: str) -> DatabaseClient | BrokerClient:
    return DATABASES.get(kind) or BROKERS[kind]
