"""Signed webhooks against the real server. Every signature is computed here with
hmac/hashlib exactly as GitHub and Stripe document them, not with Tributary's own
signing code, so a mistake shared by signing and verifying cannot pass."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest

from designer.models import Flow
from runtime.models import Run, WebhookEndpoint
from runtime.services import secret_set
from tests.conftest import Team, Web
from tests.runtime.triggers.hooks import hook_flow, hook_url, refused
from tests.stack import wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
SECRET = "whsec_abc"
BODY = json.dumps({"id": 1}).encode()


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def github(secret: str, body: bytes) -> dict[str, str]:
    """X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body."""
    return {"X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body)}


def stripe(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {"Stripe-Signature": f"t={stamp},v1={hex_hmac(secret, f'{stamp}.'.encode() + body)}"}


def generic(secret: str, body: bytes) -> dict[str, str]:
    return {"X-Signature": hex_hmac(secret, body)}


SCHEMES = {"github": github, "stripe": stripe, "generic": generic}


def signed_flow(team: Team, scheme: str, **config: object) -> Flow:
    secret_set(workspace=team.workspace, name="HOOK_KEY", value=SECRET, user=team.admin)
    return hook_flow(team, {"signature": scheme, "signature_secret": "HOOK_KEY", **config})


def post(web: Web, flow: Flow, headers: dict[str, str], body: bytes = BODY) -> httpx.Response:
    return httpx.post(
        hook_url(web, flow),
        content=body,
        headers=headers | {"Content-Type": "application/json"},
    )


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_a_delivery_signed_as_the_provider_documents_starts_a_run(
    team: Team, web: Web, scheme: str
) -> None:
    flow = signed_flow(team, scheme)
    response = post(web, flow, SCHEMES[scheme](SECRET, BODY))
    assert response.status_code == 202, response.text
    assert wait_for_run(Run.objects.get(pk=response.json()["run_id"])).output == 1


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_a_wrong_key_a_changed_body_or_no_signature_is_a_401(
    team: Team, web: Web, scheme: str
) -> None:
    flow = signed_flow(team, scheme)
    sign = SCHEMES[scheme]
    refused(post(web, flow, sign("wrong", BODY)), 401)
    refused(post(web, flow, sign(SECRET, BODY), body=BODY.replace(b"1", b"2")), 401)
    refused(post(web, flow, {}), 401)


def test_a_stale_stripe_timestamp_is_a_401_even_when_correctly_signed(team: Team, web: Web) -> None:
    flow = signed_flow(team, "stripe", signature_tolerance_seconds=300)
    stale = stripe(SECRET, BODY, timestamp=int(time.time()) - 600)
    assert "tolerance" in refused(post(web, flow, stale), 401)["detail"]


def test_a_missing_signing_secret_refuses_and_tells_the_editors(team: Team, web: Web) -> None:
    flow = hook_flow(team, {"signature": "github", "signature_secret": "NOT_SET"})
    refused(post(web, flow, github("anything", BODY)), 401)
    assert "NOT_SET" in WebhookEndpoint.objects.get(flow=flow).last_error
