"""Django system checks for the code-step sandbox (registered by the project)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from .api import default_sandbox
from .container import container_problems

HINT = "Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow user namespaces."


def check_sandbox(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """tributary.E001 when a sandbox is required but unusable, W001/W002 for missing layers,
    W003 when container-image steps cannot run here."""
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
    for problem in container_problems():
        messages.append(
            Warning(
                f"Container-image steps cannot run on this machine: {problem}",
                hint="apt-get install skopeo umoci busybox-static bubblewrap",
                id="tributary.W003",
            )
        )
    return messages
