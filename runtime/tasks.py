"""Celery tasks: thin, they take ids and call the runtime's functions."""

from celery import shared_task

from runtime.engine.execute import step_execute


@shared_task(name="runtime.tasks.execute_step", ignore_result=True)
def execute_step(step_id: int) -> None:
    step_execute(step_id)
