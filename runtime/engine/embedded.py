"""The embedded default: a Celery worker running as a thread of the web server's process.

With no REDIS_URL the broker is Kombu's in-memory transport, which only exists inside one
process, so the worker must live in the process that queues the tasks.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from django.conf import settings

from config.celery import app

logger = logging.getLogger(__name__)


def start_worker() -> Any:
    """Start Celery's own WorkController on a thread pool in a daemon thread.

    WorkController (unlike the `celery worker` program) installs no signal handlers, so it
    may run outside the main thread; it stops with the process.
    """
    worker = app.WorkController(
        pool_cls="threads",
        concurrency=settings.TRIBUTARY_EMBEDDED_CONCURRENCY,
        hostname=f"embedded@{socket.gethostname()}",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="INFO",
    )
    thread = threading.Thread(target=worker.start, name="embedded-worker", daemon=True)
    thread.start()
    logger.info("Embedded worker started with %s threads.", settings.TRIBUTARY_EMBEDDED_CONCURRENCY)
    return worker
