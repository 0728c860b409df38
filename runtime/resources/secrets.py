"""Workspace secrets: encrypted at rest with TRIBUTARY_SECRETS_KEY (Fernet; several keys,
comma-separated, rotate: the first encrypts, all decrypt), resolved lazily while a step
runs, and redacted from everything a run stores."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from designer.models import Workspace
from runtime.kinds.contract import StepError
from runtime.models import Secret

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
REDACTED = "[redacted:{name}]"


def _cipher() -> MultiFernet:
    keys = settings.TRIBUTARY_SECRETS_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "TRIBUTARY_SECRETS_KEY is not set, so secrets cannot be stored or read. Generate "
            'one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "TRIBUTARY_SECRETS_KEY must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from None


def secret_encrypt(value: str) -> str:
    return _cipher().encrypt(value.encode()).decode()


def secret_decrypt(ciphertext: str) -> str:
    try:
        return _cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A secret cannot be decrypted with TRIBUTARY_SECRETS_KEY: was the key changed? "
            "Keep the old key after the new one while rotating."
        ) from None


class SecretBox(Mapping[str, str]):
    """The secrets of one workspace, decrypted on first use. Templates read it as
    ``secrets.NAME``; everything read is remembered so it can be redacted afterwards.

    A missing name fails the step with that name: a typo must not send an empty API key.
    """

    def __init__(self, workspace: Workspace | int):
        self.workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        # Every value to redact: secrets read, and connection passwords (params.for_step).
        self.used: dict[str, str] = {}
        # The secrets read into values the step shapes: they make it use secrets.
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        if name not in self.used:
            row = Secret.objects.filter(workspace_id=self.workspace_id, name=name).first()
            if row is None:
                raise StepError(
                    f"The secret {name!r} is not set in this workspace; an admin can add it "
                    "under Secrets.",
                    retryable=False,
                )
            self.used[name] = secret_decrypt(row.ciphertext)
        self.read.add(name)
        return self.used[name]

    def __iter__(self) -> Iterator[str]:
        # Listing names would let a template enumerate secrets it never named.
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            name in self.used
            or Secret.objects.filter(workspace_id=self.workspace_id, name=name).exists()
        )


def redact(value: Any, used: Mapping[str, str]) -> Any:
    """``value`` with every secret that was used replaced by [redacted:NAME]."""
    if not used:
        return value
    if isinstance(value, str):
        # Longest first, so a secret that contains another is not half-redacted.
        for name, secret in sorted(used.items(), key=lambda item: -len(item[1])):
            if secret:
                value = value.replace(secret, REDACTED.format(name=name))
        return value
    if isinstance(value, list):
        return [redact(item, used) for item in value]
    if isinstance(value, dict):
        return {redact(key, used): redact(item, used) for key, item in value.items()}
    return value
