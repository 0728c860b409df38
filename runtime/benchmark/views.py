"""Endpoints that exist only in benchmark server processes (runtime.benchmark.settings):
the bare Django baseline, baselines that must run where the broker is, a bulk run start, a
backlog kept topped up, and a step "touch" for live-status latency. All but the first need
X-Bench-Key."""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction
from django.db.models import F, Max, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from kombu import Queue

from config.celery import app
from designer.models import Flow
from runtime.benchmark import baselines
from runtime.engine.queues import broker_name
from runtime.engine.status import RUN_FINISHED, RunStatus, StepStatus
from runtime.live import publish as realtime
from runtime.models import CronFire, Run, StepRun
from runtime.runs import run_start

View = Callable[[HttpRequest], HttpResponse]


@csrf_exempt
@require_POST
def accept(request: HttpRequest) -> HttpResponse:
    """The baseline for webhook accept: a Django view that answers 202 and does nothing."""
    return JsonResponse({"accepted": True}, status=202)


def _keyed(view: View) -> View:
    def guarded(request: HttpRequest) -> HttpResponse:
        expected = os.environ.get("TRIBUTARY_BENCH_KEY", "")
        given = request.headers.get("X-Bench-Key", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return JsonResponse({"detail": "X-Bench-Key required."}, status=403)
        return view(request)

    return csrf_exempt(require_POST(guarded))


def _body(request: HttpRequest) -> dict[str, Any]:
    return json.loads(request.body or b"{}")


@_keyed
def baseline(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    name, size = body["name"], int(body.get("size", 1))
    result: Any
    if name == "chain":
        result = baselines.celery_chain(size)
    elif name == "roundtrip":
        result = baselines.celery_roundtrips(size)
    elif name == "drain":
        result = baselines.celery_drain(size)
    elif name == "fib":
        result = [baselines.fib_subprocess(int(body.get("n", 27))) for _ in range(size)]
    elif name == "group_send":
        result = async_to_sync(baselines.group_send_roundtrips)(size)
    else:
        return JsonResponse({"detail": f"Unknown baseline {name!r}."}, status=400)
    return JsonResponse({"result": result})


@_keyed
def start_runs(request: HttpRequest) -> HttpResponse:
    """Start ``n`` runs of a flow's live version at once, as a trigger would."""
    body = _body(request)
    flow = Flow.objects.select_related("live_version").get(pk=body["flow"])
    ids = [_start(flow, body.get("payload", {})) for _ in range(int(body["n"]))]
    return JsonResponse({"runs": ids})


@_keyed
def backlog(request: HttpRequest) -> HttpResponse:
    """Keep ``depth`` runs of a flow unfinished, starting the missing ones, and say what
    they hold: the unfinished runs' ids, how many of its steps are running, and how many
    messages wait on the broker's ``queue`` that no worker has taken yet."""
    body = _body(request)
    flow = Flow.objects.select_related("live_version").get(pk=body["flow"])
    running = StepRun.objects.filter(run__flow=flow, status=StepStatus.RUNNING).count()
    # Counted before the top-up, so what it adds does not hide a queue that ran dry.
    # Declared, not passively: kombu's Redis transport calls an empty queue missing.
    with app.connection_for_read() as broker:
        queue = Queue(broker_name(body["queue"]), channel=broker.default_channel)
        # Annotated as the queue's name; it is (name, message_count, consumer_count).
        declared: Any = queue.queue_declare()
    runs = Run.objects.filter(flow=flow).exclude(status__in=RUN_FINISHED)
    unfinished = list(runs.values_list("pk", flat=True))
    for _ in range(int(body.get("depth", 0)) - len(unfinished)):
        unfinished.append(_start(flow, {}))
    return JsonResponse(
        {"unfinished": unfinished, "running": running, "waiting": declared.message_count}
    )


def _start(flow: Flow, payload: Any) -> int:
    """Start a run of the flow's live version, as a trigger would."""
    assert flow.live_version is not None
    run = run_start(
        flow=flow,
        version=flow.live_version,
        payload=payload,
        trigger_kind="manual",
        origin="benchmark",
    )
    return int(run.pk)


@_keyed
def touch(request: HttpRequest) -> HttpResponse:
    """Commit a change to a step and publish it the way the engine does; answer with the
    moment the commit returned (the clock the websocket clients compare with)."""
    body = _body(request)
    moments: list[float] = []
    with transaction.atomic():
        StepRun.objects.filter(pk=body["step"]).update(attempt=F("attempt") + 1)
        step = StepRun.objects.get(pk=body["step"])
        transaction.on_commit(lambda: moments.append(time.time()))
        realtime.publish_step(step, flow_id=0)
    return JsonResponse({"committed_at": moments[0]})


@_keyed
def stats(request: HttpRequest) -> HttpResponse:
    """What a flow's runs did: counts, the span from the first created to the last
    finished, and (for cron flows) how late each fire was."""
    flow_id = _body(request)["flow"]
    runs = Run.objects.filter(flow_id=flow_id)
    span = runs.aggregate(first=Min("created_at"), last=Max("finished_at"))
    delays = [
        (fire.fired_at - fire.scheduled_for).total_seconds()
        for fire in CronFire.objects.filter(flow_id=flow_id)
    ]
    return JsonResponse(
        {
            "runs": runs.count(),
            "succeeded": runs.filter(status=RunStatus.SUCCEEDED).count(),
            "unfinished": runs.exclude(status__in=RUN_FINISHED).count(),
            "first_created": span["first"].timestamp() if span["first"] else None,
            "last_finished": span["last"].timestamp() if span["last"] else None,
            "cron_delays": delays,
        }
    )
