"""The Celery application. Settings live in config/settings.py under the CELERY_ prefix."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

from runtime.engine import shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tributary")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _retire_stale_connections(**kwargs: Any) -> None:
    """What Django does around each request: close connections that are broken or older
    than CONN_MAX_AGE, keep the rest (CELERY_DB_REUSE_MAX stops Celery closing them all)."""
    close_old_connections()


# Pool processes finish their running step on SIGTERM, even one sent to every process of
# the worker (runtime/engine/shutdown.py).
task_prerun.connect(shutdown.task_started)
task_postrun.connect(shutdown.task_finished)
# Traces connect their worker signals in runtime.apps: runtime.tracing reads the settings
# when imported, and this module is imported while settings load (config/__init__.py).
