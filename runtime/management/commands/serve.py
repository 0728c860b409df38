"""Run the web server, and in the embedded default the worker too, in this one process."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

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
        problem = public_url_problem(settings.PUBLIC_URL, host=host, port=port)
        if problem:
            self.stderr.write(problem)
        uvicorn.run(
            "config.asgi:application",
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,
            lifespan="off",
        )


LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def public_url_problem(public_url: str, *, host: str, port: int) -> str | None:
    """Why webhook URLs built on ``public_url`` would miss this server, or None. Only a
    URL naming this machine is judged: behind a proxy another port is normal."""
    if not public_url:
        return None
    parts = urlsplit(public_url)
    if parts.hostname not in LOCAL_HOSTS | {host}:
        return None
    named = parts.port or (443 if parts.scheme == "https" else 80)
    if named == port:
        return None
    return (
        f"TRIBUTARY_PUBLIC_URL is {public_url}, but this server listens on port {port}: "
        f"the webhook URLs it shows name port {named}. Leave TRIBUTARY_PUBLIC_URL empty to "
        "follow the address you open, or set it to this server's address."
    )
