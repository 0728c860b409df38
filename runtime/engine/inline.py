"""Pure steps run in the task that finished their only parent.

A data.transform or logic.branch costs milliseconds; the Celery round trip to run it (a
publish, a delivery, a task) costs as much again. When a step commits and its only child is
such a step, the worker runs the child next in the same task — still claimed with a lease,
recorded in its own row with its own status and live events, exactly as if a message had
brought it. Nothing else changes: the child is QUEUED in PostgreSQL before the parent's
transaction commits, so if this process dies before running it, the scheduler's sweep for
queued steps without a message re-sends it (TRIBUTARY_REQUEUE_AFTER_SECONDS).

A task runs at most MAX_STEPS pure steps and for at most MAX_SECONDS after its own step;
what is left is published as usual. TRIBUTARY_INLINE_PURE_STEPS=false turns it off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from kombu.exceptions import KombuError

from designer.graph import Graph

logger = logging.getLogger(__name__)
MAX_STEPS = 50
MAX_SECONDS = 1.0

Ready = tuple[int, float, str]  # (step run id, its timeout in seconds, its queue)
_local = threading.local()


def eligible(graph: Graph, node_id: str, queue: str) -> bool:
    """Whether step ``node_id`` may run in the task of its parent: its kind is pure, it has
    exactly one incoming edge, and its ``queue`` is one this worker serves (a worker of the
    compute pool never runs a light step: runtime.engine.queues)."""
    if not getattr(settings, "TRIBUTARY_INLINE_PURE_STEPS", True):
        return False
    from runtime.engine.queues import served_here
    from runtime.kinds.catalog import CATALOG

    if not served_here(queue):
        return False

    kind = CATALOG.get(graph.nodes[node_id].type)
    return bool(kind is not None and getattr(kind, "inline", False)) and (
        len(graph.incoming(node_id)) == 1
    )


def take_inline(step: Ready) -> bool:
    """Keep ``step`` to run next in this thread's task (True), or not (False: publish it).
    Only inside run_with_inline, and within its budget."""
    pending: list[Ready] | None = getattr(_local, "pending", None)
    if pending is None or _local.taken >= MAX_STEPS or time.monotonic() > _local.until:
        return False
    pending.append(step)
    _local.taken += 1
    return True


def run_with_inline(step_id: int, execute: Callable[[int], None]) -> None:
    """Execute ``step_id``, then the pure steps its commits kept for this task; whatever is
    kept but not run (an error, the budget) is published before returning."""
    from runtime.engine.dispatch import send_now

    if getattr(_local, "pending", None) is not None:  # already inside: just run it
        execute(step_id)
        return
    _local.pending, _local.taken = [], 0
    _local.until = time.monotonic() + MAX_SECONDS
    try:
        execute(step_id)
        while _local.pending:
            next_id = _local.pending.pop(0)[0]
            execute(next_id)
    finally:
        left: list[Ready] = _local.pending
        _local.pending = None
        if left:
            try:
                send_now(left)
            except (KombuError, OSError) as exc:  # queued in PostgreSQL: the sweep re-sends
                logger.warning(
                    "Broker unavailable (%s); %d step(s) wait for the sweep.", exc, len(left)
                )
