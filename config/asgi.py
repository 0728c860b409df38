"""ASGI entry point: webhooks straight to their own app, other HTTP through Django,
websockets through Channels (session auth, same-origin only)."""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_app = get_asgi_application()

# Imported after Django is set up: they use the ORM.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from runtime.images.receive import limit_image_uploads  # noqa: E402
from runtime.live.routing import websocket_urlpatterns  # noqa: E402
from runtime.triggers.webhook.endpoint import webhook_app  # noqa: E402

# Image archive uploads are counted against their cap as they arrive: Django's handler
# would read a whole body to disk before any view could refuse it.
django_http = limit_image_uploads(django_app)
websockets = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await websockets(scope, receive, send)
    elif scope["type"] == "http" and scope["path"].startswith("/hooks/"):
        await webhook_app(scope, receive, send)
    else:
        await django_http(scope, receive, send)
