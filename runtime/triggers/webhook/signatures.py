"""Webhook signature schemes, compared in constant time over the raw body.

- github: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``
- stripe: ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "t.body")>``, with a
  timestamp tolerance against replays
- generic: ``<header>: <hex HMAC-SHA256(secret, body)>`` (an optional ``sha256=`` prefix)
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

# The config fields of a node that verifies signed requests (the webhook trigger, the
# resume URL of flow.wait), merged into its config schema's properties.
SIGNATURE_FIELDS: dict[str, Any] = {
    "signature": {
        "enum": ["none", "github", "stripe", "generic"],
        "title": "Verify signature",
        "default": "none",
    },
    "signature_secret": {
        "type": "string",
        "title": "Signing secret",
        "x-widget": "secret",
        "description": "The name of a Tributary secret holding the signing key.",
    },
    "signature_header": {
        "type": "string",
        "title": "Signature header (generic)",
        "default": "X-Signature",
        "pattern": "^[A-Za-z0-9-]{1,100}$",
    },
    "signature_tolerance_seconds": {
        "type": "integer",
        "title": "Timestamp tolerance (seconds)",
        "minimum": 1,
        "maximum": 86400,
        "default": 300,
    },
}


def verify_configured(
    config: Mapping[str, Any], *, secret: str, body: bytes, headers: Mapping[str, str]
) -> None:
    """``verify`` as a node's signature fields configure it (BadSignature when not)."""
    verify(
        config.get("signature", "none"),
        secret=secret,
        body=body,
        headers=headers,
        header=config.get("signature_header", "X-Signature"),
        tolerance=config.get("signature_tolerance_seconds", 300),
    )


class BadSignature(Exception):
    """The request is not signed as configured; the message is safe to return."""


def verify(
    scheme: str,
    *,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    header: str = "x-signature",
    tolerance: int = 300,
    now: float | None = None,
) -> None:
    if scheme == "github":
        _expect(
            headers.get("x-hub-signature-256", ""),
            "sha256=" + _hmac(secret, body),
            "X-Hub-Signature-256",
        )
    elif scheme == "stripe":
        _verify_stripe(
            secret,
            body,
            headers.get("stripe-signature", ""),
            tolerance,
            time.time() if now is None else now,
        )
    elif scheme == "generic":
        given = headers.get(header.lower(), "").removeprefix("sha256=")
        _expect(given, _hmac(secret, body), header)
    else:
        raise ValueError(f"Unknown signature scheme {scheme!r}")


def sign(scheme: str, *, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender would compute (used by tests and the designer's docs)."""
    if scheme == "github":
        return "sha256=" + _hmac(secret, body)
    if scheme == "stripe":
        stamp = int(time.time()) if timestamp is None else timestamp
        return f"t={stamp},v1={_hmac(secret, str(stamp).encode() + b'.' + body)}"
    return _hmac(secret, body)


def _hmac(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _expect(given: str, expected: str, header: str) -> None:
    if not given:
        raise BadSignature(f"The {header} header is missing.")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise BadSignature(f"The {header} signature does not match.")


def _verify_stripe(secret: str, body: bytes, header: str, tolerance: int, now: float) -> None:
    if not header:
        raise BadSignature("The Stripe-Signature header is missing.")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        stamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise BadSignature("The Stripe-Signature header has no timestamp.") from None
    if abs(now - stamp) > tolerance:
        raise BadSignature("The Stripe-Signature timestamp is outside the tolerance.")
    expected = _hmac(secret, str(stamp).encode() + b"." + body).encode()
    if not any(hmac.compare_digest(v.encode(), expected) for v in fields.get("v1", [])):
        raise BadSignature("The Stripe-Signature signature does not match.")
