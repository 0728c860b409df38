"""One received message: a run, a duplicate acknowledged without one, or a dead letter.

The caller acknowledges the message once ``deliver`` returns, so everything it records is
committed first. Raises Superseded when the trigger changed or stopped since the consumer
started (the caller hands the message back), and lets database errors through (the caller
reconnects; the broker redelivers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from designer.models import Flow
from runtime.models import QueueDeadLetter, QueueSubscription, Run
from runtime.resources.connections.clients.base import Message, Superseded
from runtime.runs import AlreadyStarted, RunRefused, check_payload, run_start

logger = logging.getLogger(__name__)
KEY_PREFIX = "queue:"
DEAD_LETTER_BODY_CHARS = 64 * 1024


@dataclass(frozen=True)
class Trigger:
    """What a consumer knows about the subscription it was started for."""

    subscription_id: int
    revision: int
    flow_id: int
    node_id: str
    kind: str
    connection_name: str
    source: str
    body_format: str
    max_bytes: int


def deliver(trigger: Trigger, message: Message) -> str:
    """Start the message's run; returns "started", "duplicate" or "dead-lettered"."""
    payload, problem = message_payload(trigger, message)
    if problem is None:
        try:
            check_payload(payload)
        except RunRefused as exc:
            problem = f"The message cannot be a run's input: {exc}"
    with transaction.atomic():
        flow = _lock(trigger)
        if problem is not None:
            dead_letter(trigger, message, problem)
            return "dead-lettered"
        key = _key(trigger, message)
        if key is None:
            return "duplicate"
        try:
            with transaction.atomic():
                run_start(
                    flow=flow,
                    version=flow.live_version,
                    payload=payload,
                    trigger_node=trigger.node_id,
                    trigger_kind="queue",
                    origin=f"{trigger.kind} {trigger.source}"[:200],
                    idempotency_key=key,
                )
        except AlreadyStarted:
            return "duplicate"
        except RunRefused as exc:
            dead_letter(trigger, message, f"The run could not start: {exc}")
            return "dead-lettered"
        QueueSubscription.objects.filter(pk=trigger.subscription_id).update(
            last_message_at=timezone.now()
        )
    return "started"


def _lock(trigger: Trigger) -> Any:
    """Lock the flow, then the subscription, in the order publishing does: a publish,
    rollback or archive either finished before (and this sees it) or waits for this
    message's run to commit."""
    flow = (
        Flow.objects.select_for_update(no_key=True, of=("self",))
        .select_related("live_version")
        .filter(pk=trigger.flow_id)
        .first()
    )
    current = (
        QueueSubscription.objects.select_for_update()
        .filter(pk=trigger.subscription_id, revision=trigger.revision)
        .exists()
    )
    if flow is None or not current or flow.archived_at is not None or flow.live_version is None:
        raise Superseded()
    return flow


def message_payload(trigger: Trigger, message: Message) -> tuple[dict[str, Any], str | None]:
    """What the message delivers as event.trigger, and why it must be a dead letter
    instead (or None). Also reads a test run's sample message (queue/kind.py)."""
    size = len(message.body)
    if size > trigger.max_bytes:
        return (
            {},
            f"The message is {size:,} bytes; this trigger accepts at most {trigger.max_bytes:,}.",
        )
    body, problem = _body(message.body, trigger.body_format)
    metadata = {
        **message.metadata,
        "connection": trigger.connection_name,
        "message_id": message.message_id,
        "redelivered": message.redelivered,
        "received_at": timezone.now().isoformat(),
        "size": size,
    }
    return {"body": body, "headers": message.headers, "metadata": metadata}, problem


def _body(raw: bytes, body_format: str) -> tuple[Any, str | None]:
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        return None, f"The message is not UTF-8 text: {exc}."
    if body_format == "text":
        return text, None
    try:
        return json.loads(text), None
    except ValueError as exc:
        if body_format == "json":
            return None, f"The message is not JSON: {exc}."
        return text, None


def _key(trigger: Trigger, message: Message) -> str | None:
    """The run's idempotency key: the broker's message id. A message without one is known
    by its content: a redelivered copy of a message that has a run is a duplicate (None),
    while a fresh message equal to an earlier one still gets its own run."""
    if message.message_id:
        key = KEY_PREFIX + message.message_id
        return key if len(key) <= 200 else KEY_PREFIX + hashlib.sha256(key.encode()).hexdigest()
    digest = hashlib.sha256(
        message.body + json.dumps(message.headers, sort_keys=True, default=str).encode()
    ).hexdigest()
    key = f"{KEY_PREFIX}sha256:{digest}"
    runs = Run.objects.filter(flow_id=trigger.flow_id, trigger_node=trigger.node_id)
    seen = runs.filter(idempotency_key__startswith=key).exists()
    if seen and message.redelivered:
        return None
    return f"{key}#{uuid.uuid4().hex[:12]}" if seen else key


def dead_letter(trigger: Trigger, message: Message, reason: str) -> None:
    """Keep the message where people can see it (admin, API); a redelivered copy of a
    message already kept adds nothing."""
    logger.warning(
        "Queue trigger %s of flow %s: message %s dead-lettered: %s",
        trigger.node_id,
        trigger.flow_id,
        message.message_id or "(no id)",
        reason,
    )
    QueueDeadLetter.objects.get_or_create(
        flow_id=trigger.flow_id,
        node_id=trigger.node_id,
        message_id=message.message_id[:200] if message.message_id else uuid.uuid4().hex,
        defaults={
            "connection_name": trigger.connection_name,
            "source": trigger.source[:500],
            "reason": reason,
            "body": message.body[: DEAD_LETTER_BODY_CHARS * 4]
            .decode(errors="replace")[:DEAD_LETTER_BODY_CHARS]
            .replace("\x00", "\ufffd"),
            "body_size": len(message.body),
            "headers": json.loads(json.dumps(message.headers, default=str).replace("\\u0000", "")),
            "metadata": json.loads(
                json.dumps(message.metadata, default=str).replace("\\u0000", "")
            ),
        },
    )
