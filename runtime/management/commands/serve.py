"""Run the web server, and in the embedded default the worker too, in this one process."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from runtime.engine import embedded, scheduler
from runtime.triggers.queue import supervisor as queue_supervisor


class Command(BaseCommand):
    help = (
        "Serve Tributary at http://HOST:PORT. Without REDIS_URL (the embedded default) this "
        "process also runs the worker; with REDIS_URL, start `celery -A config worker` apart."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=1, help="Web server processes (only with REDIS_URL)."
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        if settings.EMBEDDED:
            if workers != 1:
                self.stderr.write("The embedded default runs one process; ignoring --workers.")
                workers = 1
            embedded.start_worker()
            scheduler.start_thread()
            queue_supervisor.start_thread()
            mode = (
                "embedded (in-process worker, scheduler and queue consumers, in-memory live "
                "updates)"
            )
        else:
            mode = (
                "scaled out: run `celery -A config worker`, `manage.py scheduler` and "
                "`manage.py consumers` beside it"
            )
        self.stdout.write(f"Tributary {mode}\nListening on http://{host}:{port}/")
        uvicorn.run(
            "config.asgi:application",
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,
            lifespan="off",
        )
