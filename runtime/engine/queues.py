"""Which Celery queue a step's task goes to: queues by kind of work, so each kind of work
can have a worker pool of its own and a slow one cannot hold up a fast one.

A step goes to, in order of precedence:

1. its node's ``settings.queue``;
2. its flow's ``settings.queue`` (every step of the flow: ``"reports"``);
3. ``TRIBUTARY_QUEUE_ROUTES`` for its kind (the operator's: ``code.python=reports``);
4. its kind's own: ``light`` (transform, branch, the bookkeeping of delays, waits, loops
   and calls), ``io`` (HTTP, email, SQL, queue publish) or ``compute`` (code and
   container functions).

The queue is resolved when the step's row is created and kept on it (``StepRun.queue``),
so recovery re-sends a step to the same queue and /metrics counts what waits per queue.
A queue named by a version but no longer declared by the operator falls back to 3 and 4
rather than to a queue no worker listens to.

A worker started without ``-Q`` consumes every declared queue (CELERY_TASK_QUEUES), so
the one-machine default is unchanged; ``celery worker -Q compute`` serves only code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import redis
from django.conf import settings

from designer.graph import Graph, Node, Problem

logger = logging.getLogger(__name__)
IO = "io"  # the queue of a kind that names none


def declared() -> list[str]:
    """Every queue a step may go to, the built-in ones first."""
    return list(settings.TRIBUTARY_QUEUE_NAMES)


def for_node(node: Node, graph: Graph) -> str:
    """The queue of a step of ``node`` in a run of ``graph`` (see the module's docstring)."""
    known = settings.TRIBUTARY_QUEUE_NAMES
    for chosen in (node.settings.queue, graph.settings.queue):
        if chosen in known:
            return chosen
        if chosen:
            logger.warning(
                "Queue %r of step %s is not declared (TRIBUTARY_QUEUES); using its kind's.",
                chosen,
                node.id,
            )
    return kind_queue(node.type)


def kind_queue(kind_type: str) -> str:
    """The queue of a step kind when neither its node nor its flow names one."""
    routed = settings.TRIBUTARY_QUEUE_ROUTES.get(kind_type)
    if routed:
        return str(routed)
    from runtime.kinds.catalog import CATALOG

    return str(getattr(CATALOG.get(kind_type), "queue", IO))


def broker_name(queue: str) -> str:
    """The queue's name on the broker (TRIBUTARY_QUEUE_PREFIX lets installations share one)."""
    return f"{settings.TRIBUTARY_QUEUE_PREFIX}{queue}"


def broker_depths(names: Iterable[str]) -> dict[str, int] | None:
    """Messages waiting in each queue's broker list, in one round trip; None when there is
    no broker to ask (the embedded one is in memory) or it does not answer. A message a
    worker has taken is not in the list any more (it waits unacknowledged beside it), so
    this is what no worker has picked up yet."""
    names = list(names)
    if not settings.REDIS_URL:
        return None
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
    try:
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(broker_name(name))
            return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))
    except redis.RedisError:
        return None
    finally:
        client.close()


def served_here(queue: str) -> bool:
    """Whether this process's worker consumes ``queue``: every queue unless it was started
    with -Q (Celery keeps the selection in app.amqp.queues, inherited by pool processes)."""
    from config.celery import app

    return broker_name(queue) in app.amqp.queues.consume_from


def graph_problems(graph: Graph) -> Iterator[Problem]:
    """A version may only name queues the operator declared: a step sent to a queue no
    worker listens to would wait for ever."""
    known = settings.TRIBUTARY_QUEUE_NAMES
    hint = f"Declared queues: {', '.join(known)} (the operator adds others with TRIBUTARY_QUEUES)."
    if graph.settings.queue and graph.settings.queue not in known:
        yield Problem(
            f"No worker queue is called {graph.settings.queue!r}. {hint}", field="settings.queue"
        )
    for node in graph.nodes.values():
        if node.settings.queue and node.settings.queue not in known:
            yield Problem(
                f"No worker queue is called {node.settings.queue!r}. {hint}",
                node=node.id,
                field="settings.queue",
            )
