"""A consumer process killed (SIGKILL) in the middle of a stream of messages loses none and
starts no second run for a message it already turned into one: messages are acknowledged
only after their run is committed, and a redelivered one finds its run by the broker's id.
No worker runs here: a Run row is what "a run was started" means."""

from __future__ import annotations

import json
import os
import signal
import threading

import pytest

from tests.conftest import Team
from tests.runtime.resources.connections.brokers import (
    KINDS,
    bus,
    consuming_flow,
    forget_mqtt_session,
    group_of,
    runs_of,
    wait_consuming,
    wait_runs,
)
from tests.runtime.resources.connections.helpers import connect
from tests.stack import MakeStack, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
MESSAGES = 150


@pytest.mark.parametrize("kind", KINDS)
def test_a_consumer_killed_mid_stream_loses_nothing_and_runs_nothing_twice(
    team: Team, make_stack: MakeStack, kind: str
) -> None:
    connect(team, kind, name="bus")
    stack = make_stack()
    with bus(kind) as place:
        flow = consuming_flow(team, place, "Orders")
        group = group_of(flow, kind)
        try:
            first = stack.start("consumers", "manage.py", "consumers")
            wait_consuming(flow, log=stack.log("consumers"))

            def send_all() -> None:
                for n in range(MESSAGES):
                    place.send(json.dumps({"n": n}).encode(), message_id=f"order-{n}")

            sender = threading.Thread(target=send_all)
            sender.start()
            wait_until(lambda: runs_of(flow).count() >= 10, "the first runs")
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
            killed_at = runs_of(flow).count()
            sender.join()
            assert killed_at < MESSAGES, "the consumer was not killed mid-stream"

            stack.start("consumers-again", "manage.py", "consumers")
            wait_runs(flow, MESSAGES, timeout=90)
            wait_until(lambda: place.settled(group), "every message acknowledged", timeout=60)
            runs = list(runs_of(flow))
            assert len(runs) == MESSAGES
            assert sorted(run.input["body"]["n"] for run in runs) == list(range(MESSAGES))
            assert len({run.input["metadata"]["message_id"] for run in runs}) == MESSAGES
            assert len({run.idempotency_key for run in runs}) == MESSAGES
        finally:
            stack.stop()
            if kind == "mqtt":
                forget_mqtt_session(group)
