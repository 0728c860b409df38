"""System checks for a misconfigured designer, with stable ids (tributary.W01x)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

BUNDLE = Path(settings.BASE_DIR) / "static" / "build" / "canvas.js"


@register()
def canvas_bundle_built(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if BUNDLE.exists():
        return []
    return [
        Warning(
            "The flow canvas bundle has not been built, so flow pages show no graph.",
            hint="Run: npm ci && npm run build (scripts/start does this).",
            id="tributary.W010",
        )
    ]
