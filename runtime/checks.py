"""System checks for a misconfigured runtime, with stable ids: the code sandbox
(tributary.E001, W001, W002, from runtime.sandbox.checks) and secrets (tributary.W020)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from runtime.sandbox.checks import check_sandbox

register(check_sandbox)


@register()
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
