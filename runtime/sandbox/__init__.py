"""Running users' code steps (Python and JavaScript) in an OS sandbox.

Read README.md beside this file for the threat model and the layers. The worker calls::

    result = run_code("python", source, event, context, Limits(timeout_seconds=10))

and pages show ``sandbox_warning()`` (None, or a sentence) while code runs unsandboxed.
"""

from .api import Sandbox, run_code, sandbox_status, warm_up
from .types import CodeResult, Ending, Limits, SandboxError, SandboxUnavailable
from .warning import sandbox_warning

__all__ = [
    "CodeResult",
    "Ending",
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailable",
    "run_code",
    "sandbox_status",
    "sandbox_warning",
    "warm_up",
]
