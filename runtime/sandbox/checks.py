"""Django system checks for the code-step sandbox (registered by the project)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from .api import default_sandbox

HINT = "Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow user namespaces."


def check_sandbox(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """tributary.E001 when a sandbox is required but unusable, W001/W002 for missing layers."""
    status = default_sandbox().status()
    messages: list[CheckMessage] = []
    if not status["bubblewrap"]:
        text = status["warnings"][0]
        if status["required"]:
            messages.append(
                Error(
                    f"TRIBUTARY_CODE_REQUIRE_SANDBOX is on: {text}", hint=HINT, id="tributary.E001"
                )
            )
        else:
            messages.append(Warning(text, hint=HINT, id="tributary.W001"))
    if not status["seccomp"]:
        messages.append(
            Warning(
                "Code steps run without a seccomp filter.",
                hint="pip install pyseccomp and apt-get install libseccomp2.",
                id="tributary.W002",
            )
        )
    return messages
