"""Celery tasks: thin, they take ids and call the runtime's functions."""

import logging

from celery import shared_task

from runtime import approvals
from runtime.engine import alerts, failures, recovery
from runtime.engine.execute import step_execute
from runtime.images.tasks import pull_image
from runtime.replay import batches, flowtests
from runtime.triggers import error

logger = logging.getLogger(__name__)
# Celery's autodiscovery imports this module only: the tasks of subpackages are named here.
__all__ = ["pull_image"]


@shared_task(name="runtime.tasks.execute_step", ignore_result=True)
def execute_step(step_id: int) -> None:
    step_execute(step_id)


@shared_task(name="runtime.tasks.cancel_children", ignore_result=True)
def cancel_children(run_id: int) -> None:
    """Cancel the open child runs of run ``run_id``'s ended steps (runtime.engine.children)."""
    recovery.cancel_orphaned_children(parent_run_id=run_id)


@shared_task(name="runtime.tasks.cancel_items", ignore_result=True)
def cancel_items(step_id: int) -> None:
    """Cancel the open item runs of a for-each step that stopped at a failed item."""
    recovery.cancel_open_items(step_id)


@shared_task(name="runtime.tasks.run_failed", ignore_result=True)
def run_failed(run_id: int) -> None:
    """Start the error flow and send the alert of failed run ``run_id``; safe twice (the
    error flow is started once per run, the alert once per quiet period)."""
    failure = failures.failure_get(run_id)
    if failure is None:
        return
    # One failing (the error flow deleted meanwhile, the mail server down) must not cost
    # the other: nothing sweeps for a lost one.
    try:
        error.error_flow_start(failure)
    except Exception:
        logger.exception("Could not start the error flow of failed run #%s", run_id)
    alerts.alert_send(failure)


@shared_task(name="runtime.tasks.approval_mail", ignore_result=True)
def approval_mail(suspension_id: int) -> None:
    """Mail an approval's links to the addresses it lists (runtime.approvals)."""
    approvals.approval_mail_send(suspension_id)


@shared_task(name="runtime.tasks.replay_fill", ignore_result=True)
def replay_fill(batch_id: int, run_ids: list[int]) -> None:
    """Start the replays of batch ``batch_id`` (runtime.replay); safe twice."""
    batches.batch_fill(batch_id, run_ids)


@shared_task(name="runtime.tasks.tests_fill", ignore_result=True)
def tests_fill(batch_id: int, test_ids: list[int]) -> None:
    """Start the replays of a flow's tests against a version (runtime.replay); safe twice."""
    flowtests.tests_fill(batch_id, test_ids)
