"""ASGI entry point: webhooks straight to their own app, other HTTP through Django."""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_app = get_asgi_application()

# Imported after Django is set up: it uses the ORM.
from runtime.webhooks import webhook_app  # noqa: E402


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith("/hooks/"):
        await webhook_app(scope, receive, send)
    else:
        await django_app(scope, receive, send)
