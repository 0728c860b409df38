"""The one sentence every page shows while code steps run without the OS sandbox.

The system check (tributary.W001) only reaches whoever reads ``manage.py check``; people who
write code steps must see it where they work. The page layer calls ``sandbox_warning()``
(or lists ``banner`` as a context processor) and renders the sentence as a banner.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .api import Sandbox, default_sandbox


def sandbox_warning() -> str | None:
    """A sentence for the UI when this machine cannot sandbox code steps, else None.

    Cheap on every request: the probe (does bubblewrap really start?) runs once per process
    and configuration, when ``default_sandbox()`` builds its Sandbox. It describes the
    machine it runs on; the web server and the workers are assumed to be alike.
    """
    return warning_for(default_sandbox())


def warning_for(sandbox: Sandbox) -> str | None:
    """The banner sentence for ``sandbox``'s configuration (None when bubblewrap works)."""
    if sandbox.bwrap:
        return None
    if sandbox.config.require_sandbox:
        return (
            "Code steps cannot run: bubblewrap, the OS sandbox they require, is not available "
            "on this server. An administrator must install it (apt-get install bubblewrap)."
        )
    return (
        "Code steps run WITHOUT the OS sandbox: bubblewrap is not available on this server, "
        "so Python and JavaScript code can read files and reach the network. Do not run "
        "untrusted code; an administrator should install bubblewrap."
    )


def banner(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``sandbox_warning`` for signed-in users, nothing for others."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"sandbox_warning": sandbox_warning()}
