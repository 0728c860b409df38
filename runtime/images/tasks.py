"""The image pull task: thin, it takes an id (runtime.images.register does the work).
Registered with the worker by runtime.tasks, the module Celery's autodiscovery finds."""

from celery import shared_task

from runtime.images import register


@shared_task(name=register.PULL_TASK, ignore_result=True)
def pull_image(image_id: int) -> None:
    register.image_pull(image_id)
