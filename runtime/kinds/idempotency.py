"""Idempotency keys: one per step of a run, the same on every attempt of it.

Effects are at least once: a worker killed after an HTTP call succeeded but before the step
was recorded runs the step again. Every side-effecting step therefore carries a key that a
receiver can deduplicate on (``Idempotency-Key`` for Stripe-style APIs, ``message_id`` for
AMQP, ``Nats-Msg-Id`` for JetStream, the email's ``Message-ID``). It is derived, not stored:
the same run and node give the same key on any worker, a retry or a redelivered message;
another run (a re-run is another run) gives another key. The run's creation time is part
of it so that two databases that reuse a run id never share keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from runtime.kinds.catalog import CATALOG
from runtime.kinds.contract import StepKind

_NAMESPACE = uuid.UUID("5b0c7a5e-6f1e-4c8a-9a57-3f0d1e2b7c41")


def idempotency_key(*, run_id: int, created_at: datetime, node_id: str) -> str:
    """The key of step ``node_id`` of run ``run_id``: a UUID, as text."""
    name = f"{run_id}:{created_at.timestamp():.6f}:{node_id}"
    return str(uuid.uuid5(_NAMESPACE, name))


def effect_keys(
    *, run_id: int, created_at: datetime, nodes: Iterable[Mapping[str, Any]]
) -> dict[str, str]:
    """``{node_id: key}`` for the nodes (a stored graph's) whose steps hand their key to
    what they call: what the run page shows beside each effect."""
    keys = {}
    for node in nodes:
        kind = CATALOG.get(node.get("type", ""))
        if isinstance(kind, StepKind) and kind.sends_key(node.get("config") or {}):
            keys[node["id"]] = idempotency_key(
                run_id=run_id, created_at=created_at, node_id=node["id"]
            )
    return keys
