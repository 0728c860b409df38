"""Signature schemes against the providers' own documentation: GitHub's published
example, and signatures computed here with hmac/hashlib as GitHub and Stripe describe
them (never with the code under test)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from runtime.triggers.webhook.signatures import BadSignature, sign, verify

SECRET = "whsec_abc"
BODY = b'{"id": 1}'


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_githubs_documented_example_verifies() -> None:
    # The example in GitHub's "Validating webhook deliveries".
    secret = "It's a Secret to Everybody"
    digest = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    headers = {"x-hub-signature-256": f"sha256={digest}"}
    verify("github", secret=secret, body=b"Hello, World!", headers=headers)
    with pytest.raises(BadSignature, match="does not match"):
        verify("github", secret=secret, body=b"Hello, World?", headers=headers)


def test_a_stripe_header_verifies_by_any_of_its_v1_signatures() -> None:
    # Stripe sends one v1 per active secret while a secret is being rolled.
    stamp = 1_700_000_000
    good = hex_hmac(SECRET, f"{stamp}.".encode() + BODY)
    header = f"t={stamp},v1={hex_hmac('old', b'x')},v1={good},v0=ignored"
    verify("stripe", secret=SECRET, body=BODY, headers={"stripe-signature": header}, now=stamp)
    with pytest.raises(BadSignature, match="tolerance"):
        verify(
            "stripe",
            secret=SECRET,
            body=BODY,
            headers={"stripe-signature": header},
            now=stamp + 301,
            tolerance=300,
        )


def test_sign_computes_what_the_providers_send() -> None:
    stamp = 1_700_000_000
    assert sign("github", secret=SECRET, body=BODY) == "sha256=" + hex_hmac(SECRET, BODY)
    assert sign("stripe", secret=SECRET, body=BODY, timestamp=stamp) == (
        f"t={stamp},v1={hex_hmac(SECRET, str(stamp).encode() + b'.' + BODY)}"
    )
    assert sign("generic", secret=SECRET, body=BODY) == hex_hmac(SECRET, BODY)
