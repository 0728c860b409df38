"""Failure alerts: an email to the addresses a flow lists (``settings.on_failure.alert``)
when one of its runs fails, at most one per quiet period per flow.

The quiet period is claimed on the flow's FlowAlert row, in the transaction that sends
the email: a conditional UPDATE (last sent before the period began) or, for a flow's first
alert, the INSERT of its row. Two workers failing runs of one flow at once: the second
waits on the first's row lock (or unique key), then finds the period taken and sends
nothing. If the mail server refuses the email, the transaction rolls back and the next
failure may try again. A redelivered task finds its own claim and sends nothing.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from designer.flow_settings import Alert
from runtime.engine.failures import Failure
from runtime.models import FlowAlert

logger = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 30


def alert_send(failure: Failure) -> bool:
    """Email ``failure``'s alert unless the flow sent one within its quiet period.
    Returns whether it was sent; a mail server that refuses it is logged, not raised."""
    alert = failure.on_failure.alert
    if alert is None:
        return False
    run = failure.run
    try:
        with transaction.atomic():
            if not _claim(run.flow_id, run.pk, alert.quiet_minutes):
                logger.info(
                    "No failure alert for run #%s: flow #%s sent one in the last %s minutes.",
                    run.pk,
                    run.flow_id,
                    alert.quiet_minutes,
                )
                return False
            _message(failure, alert).send()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("The failure alert of run #%s was not sent: %s", run.pk, exc)
        return False
    logger.info("Failure alert for run #%s sent to %d address(es).", run.pk, len(alert.emails))
    return True


def _claim(flow_id: int, run_id: int, quiet_minutes: int) -> bool:
    """Take the flow's quiet period from now (its row stays locked until the caller's
    transaction ends); False when an alert was sent within it."""
    now = timezone.now()
    due = FlowAlert.objects.filter(
        flow_id=flow_id, last_sent_at__lte=now - timedelta(minutes=quiet_minutes)
    )
    if due.update(last_sent_at=now, last_run_id=run_id):
        return True
    # No row yet, or one within the period. get_or_create inserts in a savepoint: of two
    # first alerts the second waits on the unique key, then reads the first's row.
    _, created = FlowAlert.objects.get_or_create(
        flow_id=flow_id, defaults={"last_sent_at": now, "last_run_id": run_id}
    )
    return created


def _message(failure: Failure, alert: Alert) -> EmailMessage:
    event = failure.event
    step = event["failed_step"]
    where = f"at {step['name']}" if step else ""
    subject = " ".join(f"{event['flow']['name']} failed {where}".split())
    lines = [
        f"Run #{event['run']['id']} of {event['flow']['name']} (version {event['version']}) "
        f"failed{' ' + where if where else ''} at {event['failed_at']}.",
        "",
        f"Error: {event['error']}",
        "",
        f"Open the run: {event['run']['url']}",
        "",
        f"Further failures of this flow within {alert.quiet_minutes} minutes send no email.",
    ]
    return EmailMessage(
        subject=f"[Tributary] {subject}",
        body="\n".join(lines),
        to=list(alert.emails),
        connection=get_connection(timeout=SEND_TIMEOUT_SECONDS),
    )
