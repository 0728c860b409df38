"""The one place that publishes live run events, always after the change is committed.

Groups: ``run-<id>`` for a run page; ``flow-<id>`` for a flow's runs (the designer) and
``workspace-<id>`` for the lists of all a user's runs and flows (``/runs/``, ``/``). Events
are hints: a page applies them at once and re-reads the database (the truth) on connect and
after bursts, so a dropped or late event cannot leave it wrong. The list groups get only a
run's summary (ids, status, kind, times), never its error or output: a list page reads its
rows over HTTP, through the views that decide what each user may see.

Publishing never blocks a step: events go, in order, through a queue to one task on an
event loop — the web server's loop in the embedded default (the in-memory channel layer
lives there), or a publisher thread's own loop with the Redis layer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from runtime.engine.perprocess import PerProcess

logger = logging.getLogger(__name__)
Message = tuple[list[str], dict[str, Any]]


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def flow_group(flow_id: int) -> str:
    return f"flow-{flow_id}"


def workspace_group(workspace_id: int) -> str:
    return f"workspace-{workspace_id}"


def publish_run(run: Any, *, new: bool = False) -> None:
    """The run's own state changed (created, started, finished, cancelled): its page gets
    the run, the lists its summary. A new run goes to the lists only: nobody can be
    subscribed to the run itself yet. ``run.flow`` is read for its workspace (the engine
    and run_start hold it already). A for-each's item runs are not listed (their step's
    progress and items show them): thousands per loop would only make lists re-read."""
    if not new:
        _after_commit([run_group(run.pk)], {"type": "run.changed", "run": run_data(run)})
    if run.scope:
        return
    listed = {"type": "run.changed", "run": run_summary(run), "new": new}
    _after_commit([flow_group(run.flow_id), workspace_group(run.flow.workspace_id)], listed)


def publish_step(step: Any, *, flow_id: int) -> None:
    event = {"type": "step.changed", "step": step_data(step)}
    _after_commit([run_group(step.run_id)], event)


def publish_step_progress(
    *, run_id: int, flow_id: int, step_id: int, node_id: str, progress: dict[str, int]
) -> None:
    """A for-each step's items so far ({"total", "done", "failed", "running"}): for its
    run's page and the flow's canvas. The engine throttles these (runtime.engine.items)."""
    event = {
        "type": "step.progress",
        "run_id": run_id,
        "step_id": step_id,
        "node_id": node_id,
        "progress": progress,
    }
    _after_commit([run_group(run_id), flow_group(flow_id)], event)


def step_progress(step: Any) -> dict[str, int] | None:
    """A for-each step's item counters as a progress frame carries them; None for other
    steps (and for a loop that has not asked for its items yet)."""
    if step.items_total is None:
        return None
    return progress(step.items_total, step.items_started, step.items_done, step.items_failed)


def progress(total: int, started: int, done: int, failed: int) -> dict[str, int]:
    """A loop's counts as ``step.progress`` frames and step data carry them."""
    return {"total": total, "done": done, "failed": failed, "running": started - done}


def publish_step_state(*, run_id: int, step_id: int, node_id: str, status: str) -> None:
    """A step moved to ``status`` (queued, skipped...) without anything else to tell."""
    event = {
        "type": "step.changed",
        "step": {
            "id": step_id,
            "run_id": run_id,
            "node_id": node_id,
            "status": status,
            "handle": "",
            "attempt": 0,
            "failures": 0,
            "wake_at": None,
            "error": "",
            "uses_secrets": False,
            "started_at": None,
            "finished_at": None,
        },
    }
    _after_commit([run_group(run_id)], event)


def publish_log(*, run_id: int, node_id: str, line: str, index: int, uses_secrets: bool) -> None:
    """Line ``index`` (from 0) printed by a code step, sent at once. The heartbeat stores
    the lines so far every few seconds, so a page that connects late reads the earlier
    ones from the API and places later ones by their index. A viewer's socket drops the
    line of a step that uses secrets (runtime.disclosure)."""
    event = {
        "type": "step.log",
        "node_id": node_id,
        "line": line,
        "index": index,
        "uses_secrets": uses_secrets,
    }
    _Publisher.get().send(([run_group(run_id)], event))


def step_data(step: Any) -> dict[str, Any]:
    return {
        "id": step.pk,
        "run_id": step.run_id,
        "node_id": step.node_id,
        "status": step.status,
        "handle": step.handle,  # "error": failed into its error path (failed-and-handled)
        "attempt": step.attempt,
        # A waiting step with failures is retrying: wake_at is when it tries again.
        "failures": step.failures,
        "wake_at": _iso(step.wake_at),
        "error": step.error,
        "uses_secrets": step.uses_secrets,
        "started_at": _iso(step.started_at),
        "finished_at": _iso(step.finished_at),
        "progress": step_progress(step),
    }


def run_data(run: Any) -> dict[str, Any]:
    return {
        "id": run.pk,
        "flow_id": run.flow_id,
        "status": run.status,
        "error": run.error,
        "uses_secrets": run.uses_secrets,
        "trigger_kind": run.trigger_kind,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


def run_summary(run: Any) -> dict[str, Any]:
    """What a list may be told of a run: enough to say "Run #20 (webhook) failed" and to
    know which rows to fetch again, nothing a viewer might not be allowed to read."""
    return {
        "id": run.pk,
        "flow_id": run.flow_id,
        "workspace_id": run.flow.workspace_id,
        "status": run.status,
        "trigger_kind": run.trigger_kind,
        "is_test": run.is_test,
        # A for-each's item run (its loop's node id): the lists leave it out.
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called from the web server's loop (by consumers): in the embedded default the
    in-memory layer's groups live on that loop, so events must be sent from it."""
    _Publisher.get().bind(loop)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _after_commit(groups: list[str], event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _Publisher.get().send((groups, event)))


class _Publisher(PerProcess):
    """The process's publisher."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[Message] | None = None
        if self.layer is not None and not isinstance(self.layer, InMemoryChannelLayer):
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="realtime", daemon=True).start()
            self.bind(loop)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loop is loop:
            return
        queue: asyncio.Queue[Message] = asyncio.Queue()  # binds to the loop on first use
        self.loop, self.queue = loop, queue
        asyncio.run_coroutine_threadsafe(self._drain(queue), loop)

    async def _drain(self, queue: asyncio.Queue[Message]) -> None:
        """Send queued events in the order they happened. What piled up meanwhile (the
        events of one commit, a burst) goes as one message per group: each group_send
        costs Redis round trips, and a step's commit often carries two or three events."""
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            for group, events in _by_group(batch).items():
                message = (
                    events[0] if len(events) == 1 else {"type": "events.batch", "events": events}
                )
                try:
                    await self.layer.group_send(group, message)
                except Exception as exc:  # a lost update must break nothing; pages re-sync
                    logger.warning("Could not publish to %s: %s", group, exc)

    def send(self, message: Message) -> None:
        loop = self.loop
        if loop is None or loop.is_closed() or self.layer is None:
            return  # embedded and nobody is watching yet: nothing to tell
        loop.call_soon_threadsafe(self._put, message)

    def _put(self, message: Message) -> None:
        if self.queue is not None:
            self.queue.put_nowait(message)


def events_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The events a channel-layer message carries: one, or a batch sent together."""
    if message.get("type") == "events.batch":
        return list(message["events"])
    return [message]


def _by_group(batch: list[Message]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for groups, event in batch:
        for group in groups:
            grouped.setdefault(group, []).append(event)
    return grouped
