from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from runtime.sandbox.checks import check_sandbox


class RuntimeConfig(AppConfig):
    name = "runtime"
    verbose_name = "Runtime"

    def ready(self) -> None:
        # System checks with stable ids: the code sandbox (tributary.E001, W001, W002) and
        # secrets (tributary.W020).
        register(check_sandbox)
        register(secrets_key_set)


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
