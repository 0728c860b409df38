"""Where the sandbox finds its tools, read from Django settings with safe defaults.

Every setting is read with a default so the sandbox works before the project declares it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

PYTHON_PACKAGES_SETTING = "TRIBUTARY_CODE_PYTHON_PACKAGES"
NPM_PACKAGES_SETTING = "TRIBUTARY_CODE_NPM_PACKAGES"


@dataclass(frozen=True)
class SandboxConfig:
    """How to start sandboxes. ``bwrap`` empty means: run without bubblewrap."""

    runner_dir: Path
    python: str = "/usr/bin/python3"
    node: str = "/usr/bin/node"
    bwrap: str = "/usr/bin/bwrap"
    require_sandbox: bool = False
    node_pool_size: int = 2
    # Extra read-only paths some Python/Node builds need (e.g. a /usr/local prefix).
    extra_ro_paths: tuple[str, ...] = field(default_factory=tuple)
    # Off only to exercise (in tests) the degraded path for kernels without nested user
    # namespaces: a private directory instead of a private /tmp, orphans swept by the zygote.
    per_execution_namespaces: bool = True

    @property
    def python_packages_dir(self) -> Path:
        """Where ``install_code_packages`` puts Python packages (``pip install --target``)."""
        return self.runner_dir / "python"

    @property
    def node_modules_dir(self) -> Path:
        """Where ``install_code_packages`` puts npm packages (``<runner>/node/node_modules``)."""
        return self.runner_dir / "node" / "node_modules"

    def bwrap_path(self) -> str | None:
        """The bubblewrap executable, or None when it is disabled or missing."""
        if not self.bwrap:
            return None
        return shutil.which(self.bwrap)


def _setting(name: str, default: Any) -> Any:
    if not settings.configured:
        return default
    return getattr(settings, name, default)


def from_settings() -> SandboxConfig:
    """The configuration the project's settings describe."""
    data_dir = Path(_setting("DATA_DIR", Path.cwd() / "var"))
    return SandboxConfig(
        runner_dir=Path(_setting("TRIBUTARY_CODE_RUNNER_DIR", data_dir / "runner")),
        python=str(_setting("TRIBUTARY_CODE_PYTHON", "/usr/bin/python3")),
        node=str(_setting("TRIBUTARY_CODE_NODE", "/usr/bin/node")),
        bwrap=str(_setting("TRIBUTARY_CODE_BWRAP", "/usr/bin/bwrap")),
        require_sandbox=bool(_setting("TRIBUTARY_CODE_REQUIRE_SANDBOX", False)),
        node_pool_size=int(_setting("TRIBUTARY_CODE_NODE_POOL_SIZE", 2)),
    )


def declared_packages(setting: str) -> list[str]:
    """The package specs an admin declared in ``setting`` (a list of strings)."""
    value = _setting(setting, [])
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    return [str(spec) for spec in value]
