"""Celery tasks: thin, they take ids and call the runtime's functions."""

from celery import shared_task

from runtime import approvals
from runtime.engine import recovery
from runtime.engine.execute import step_execute


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


@shared_task(name="runtime.tasks.approval_mail", ignore_result=True)
def approval_mail(suspension_id: int) -> None:
    """Mail an approval's links to the addresses it lists (runtime.approvals)."""
    approvals.approval_mail_send(suspension_id)
