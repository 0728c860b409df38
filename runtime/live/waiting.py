"""Wait, without a thread, for a run to finish (a webhook in "wait" mode)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import close_old_connections

from runtime.engine.status import RUN_FINISHED
from runtime.live.publish import events_of, run_group
from runtime.models import Run


async def wait_for_run(run_id: int, *, timeout: float) -> Run | None:
    """The run once finished, or None after ``timeout`` seconds.

    Scaled out, it listens on the run's channel-layer group for the "finished" event.
    Embedded, the worker threads cannot wake this event loop through the in-memory
    layer, so it polls the database, quickly at first.
    """
    deadline = time.monotonic() + timeout
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return await _poll(run_id, deadline)
    channel = await layer.new_channel()
    await layer.group_add(run_group(run_id), channel)
    try:
        run = await _finished(run_id)  # it may have finished before we subscribed
        while run is None and time.monotonic() < deadline:
            try:
                message = await asyncio.wait_for(
                    layer.receive(channel), deadline - time.monotonic()
                )
            except TimeoutError:
                break
            if _is_finish(message):
                run = await _finished(run_id)
        return run
    finally:
        await layer.group_discard(run_group(run_id), channel)


async def _poll(run_id: int, deadline: float) -> Run | None:
    pause = 0.005
    while True:
        run = await _finished(run_id)
        if run is not None or time.monotonic() >= deadline:
            return run
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.1)


def _is_finish(message: dict[str, Any]) -> bool:
    return any(
        event.get("type") == "run.changed" and event["run"]["status"] in RUN_FINISHED
        for event in events_of(message)
    )


@sync_to_async(thread_sensitive=False)
def _finished(run_id: int) -> Run | None:
    close_old_connections()
    return Run.objects.filter(pk=run_id, status__in=RUN_FINISHED).first()
