"""POST /resume/<run>/<node>/<token>/: resume a run paused at a "wait for event" step
(runtime.steps.flow_wait). The token is the authorization (runtime.kinds.resume); it works
once. The request's body becomes the step's output ({"via": "url", "body": ...})."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from runtime.engine import waits
from runtime.resources.secrets import SecretBox
from runtime.steps.flow_wait import KIND as WAIT
from runtime.triggers.webhook.request import BadRequest, request_payload
from runtime.triggers.webhook.signatures import BadSignature, verify_configured

NOT_FOUND = "No run waits at this address (check the URL: it is one run's, and one step's)."


@csrf_exempt
@require_POST
def resume(request: HttpRequest, run_id: int, node_id: str, token: str) -> JsonResponse:
    step = waits.step_for_token(run_id, node_id, token)
    if step is None or step.kind != WAIT.type:
        return JsonResponse({"detail": NOT_FOUND}, status=404)
    limit = settings.TRIBUTARY_MAX_OUTPUT_BYTES
    if int(request.headers.get("Content-Length") or 0) > limit:
        return _too_big(limit)
    try:
        raw = request.body
    except RequestDataTooBig:
        return _too_big(limit)
    if len(raw) > limit:
        return _too_big(limit)
    headers = {key.lower(): value for key, value in request.headers.items()}
    problem = _signature_problem(waits.step_config(step), step.run.flow.workspace_id, raw, headers)
    if problem:
        return JsonResponse({"detail": problem}, status=401)
    try:
        sent = request_payload(
            method="POST",
            path=request.path,
            query_string="",
            headers=headers,
            raw=raw,
            keep_sensitive=False,
        )
    except BadRequest as exc:
        return JsonResponse({"detail": str(exc), "field": "body"}, status=400)
    resolution = {"via": "url", "body": sent["body"], "received_at": timezone.now().isoformat()}
    try:
        waits.resume(step=step, resolution=resolution)
    except waits.WaitEnded as exc:
        return JsonResponse({"detail": str(exc)}, status=409)
    return JsonResponse({"resumed": True, "run_id": run_id, "node_id": node_id}, status=202)


def _signature_problem(
    config: dict[str, Any], workspace_id: int, raw: bytes, headers: dict[str, str]
) -> str | None:
    scheme = config.get("signature", "none")
    if scheme == "none":
        return None
    try:
        secret = SecretBox(workspace_id)[config["signature_secret"]]
    except Exception:  # a missing secret is the flow's fault: refuse, never resume unverified
        return "The signature cannot be verified."
    try:
        verify_configured(config, secret=secret, body=raw, headers=headers)
    except BadSignature as exc:
        return str(exc)
    return None


def _too_big(limit: int) -> JsonResponse:
    return JsonResponse({"detail": f"The body is larger than {limit:,} bytes."}, status=413)
