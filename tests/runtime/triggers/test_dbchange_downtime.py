"""A change made while the listener is down is not lost: it waits in the outbox and starts
its run, once, when a scheduler comes back. In a module of its own: no other scheduler may
be running while this one is down."""

from __future__ import annotations

import os
import signal
import time

import pytest

from runtime.models import DbChange, Run
from tests.conftest import Team
from tests.runtime.triggers.tables import execute, runs_eventually, watch
from tests.stack import MakeStack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_change_made_while_the_listener_is_down_still_starts_its_run(
    team: Team, make_stack: MakeStack, shop_table: str
) -> None:
    stack = make_stack()
    stack.start_worker()
    stack.start_scheduler()
    watch(team, shop_table)
    execute("INSERT INTO shop_orders (email) VALUES ('early@example.com')")
    [first] = runs_eventually(1)
    assert wait_for_run(first).output == "insert 1"

    scheduler = stack.processes["scheduler"]
    os.killpg(scheduler.pid, signal.SIGKILL)  # no goodbye: as if the machine died
    scheduler.wait()
    execute("UPDATE shop_orders SET status = 'paid' WHERE id = 1")
    time.sleep(2.5)  # over two drain intervals of a live scheduler: nobody is listening
    assert Run.objects.count() == 1
    assert [(c.operation, c.new["status"]) for c in DbChange.objects.all()] == [("update", "paid")]

    stack.start_scheduler()
    runs = runs_eventually(2)
    assert wait_for_run(runs[1]).output == "update 1"
    time.sleep(1.5)  # a change delivered twice would show up now
    assert Run.objects.count() == 2
    assert not DbChange.objects.exists()
