from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown, worker_shutdown
from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from runtime.sandbox.checks import check_sandbox
from runtime.tracing import spans


class RuntimeConfig(AppConfig):
    name = "runtime"
    verbose_name = "Runtime"

    def ready(self) -> None:
        # System checks with stable ids: the code sandbox (tributary.E001, W001, W002) and
        # secrets (tributary.W020).
        register(check_sandbox)
        register(secrets_key_set)
        # Traces (runtime/tracing): each pool process makes its own exporter as it starts,
        # and sends what it still holds as it stops (pool processes end with os._exit,
        # skipping the SDK's atexit hook); worker_shutdown covers the solo and threads
        # pools. No-ops when off.
        worker_process_init.connect(spans.process_started)
        worker_process_shutdown.connect(spans.process_stopping)
        worker_shutdown.connect(spans.process_stopping)


def secrets_key_set(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.TRIBUTARY_SECRETS_KEYS:
        return []
    return [
        Warning(
            "TRIBUTARY_SECRETS_KEY is not set: workspace secrets cannot be stored or used.",
            hint='Generate one: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())" (scripts/start writes one to .env).',
            id="tributary.W020",
        )
    ]
