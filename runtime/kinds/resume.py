"""Resume URLs of waiting steps: ``/resume/<run>/<node>/<token>/``. The token is derived
from the server's key, so any step of a run can name the URL of a later wait before the
wait begins (to send it to whoever must call it), and nobody without the key can guess
another run's."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def resume_token(run_id: int, node_id: str) -> str:
    key = hashlib.sha256(b"tributary.resume:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{run_id}:{node_id}".encode(), hashlib.sha256).hexdigest()[:40]


def token_matches(run_id: int, node_id: str, token: str) -> bool:
    return hmac.compare_digest(resume_token(run_id, node_id), token)


def resume_url(run_id: int, node_id: str) -> str:
    """Absolute when TRIBUTARY_PUBLIC_URL is set (a worker does not know the address people
    reach the server at), else a path on the server."""
    return f"{settings.PUBLIC_URL}/resume/{run_id}/{node_id}/{resume_token(run_id, node_id)}/"
