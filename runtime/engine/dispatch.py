"""Queue step executions: always after the transaction that made them ready commits, so a
worker never receives an id it cannot yet see.

Tasks are sent by name, so this module (imported by the engine) does not import the task
module (which imports the engine).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable

from django.conf import settings
from django.db import transaction
from kombu.exceptions import KombuError

from config.celery import app
from runtime.engine import queues
from runtime.engine.inline import Ready, take_inline

logger = logging.getLogger(__name__)
EXECUTE_STEP = "runtime.tasks.execute_step"
# Beyond its own timeout a step gets this long to report before Celery interrupts it
# (soft limit: the step fails as timed out) and then kills the worker child (hard limit).
SOFT_GRACE_SECONDS = 5
HARD_GRACE_SECONDS = 30


def enqueue_steps(steps: Iterable[Ready], *, inline: Collection[int] = ()) -> None:
    """Queue ``steps`` once this transaction commits. Those in ``inline`` (pure steps whose
    only parent just finished) may instead run next in this very task (runtime.engine
    .inline) when the transaction commits inside one."""
    ready = list(steps)
    if ready:
        chosen = frozenset(inline)
        transaction.on_commit(lambda: _send_committed(ready, chosen))


def _send_committed(steps: list[Ready], inline: frozenset[int] = frozenset()) -> None:
    """The steps are queued in Postgres already; if the broker cannot take the message
    (down, restarting) the scheduler re-sends it from there, so this must not fail the
    request or task that committed them."""
    if inline:
        steps = [step for step in steps if not (step[0] in inline and take_inline(step))]
    try:
        send_now(steps)
    except (KombuError, OSError) as exc:
        logger.warning(
            "Broker unavailable (%s); %d queued step(s) will be re-sent by the scheduler.",
            exc,
            len(steps),
        )


def send_task_after_commit(name: str, *args: int, otherwise: str) -> None:
    """Send task ``name`` once this transaction commits. The work it asks for is recorded in
    Postgres, where a scheduler sweep finds it should the broker not take the message:
    ``otherwise`` says (in the warning) what happens then."""

    def send() -> None:
        try:
            app.send_task(name, args=args)
        except (KombuError, OSError) as exc:
            logger.warning("Broker unavailable (%s); %s", exc, otherwise)

    transaction.on_commit(send)


def send_now(steps: Iterable[Ready]) -> None:
    """Publish one task message per step to its queue (runtime.engine.queues), outside any
    transaction (recovery uses this).

    No countdowns or ETAs: waits live in Postgres (wake_at), where a broker restart cannot
    lose them and the visibility timeout cannot double them.
    """
    for step_id, timeout, queue in steps:
        if settings.EMBEDDED:  # the embedded worker's thread pool cannot interrupt a task
            app.send_task(EXECUTE_STEP, args=(step_id,), queue=queues.broker_name(queue))
        else:
            app.send_task(
                EXECUTE_STEP,
                args=(step_id,),
                queue=queues.broker_name(queue),
                soft_time_limit=math.ceil(timeout) + SOFT_GRACE_SECONDS,
                time_limit=math.ceil(timeout) + HARD_GRACE_SECONDS,
            )
