"""Chaos: hundreds of webhook runs while workers are killed and stopped, Redis restarts
empty, PostgreSQL connections are cut and messages and webhooks are delivered twice.
Nothing may be lost or stuck, no effect may happen twice once the receiver deduplicates
on the idempotency key, and raw repeats may only come from a SIGKILL during the effect.

The flow: webhook → data.transform → flow.delay (0.3 s) → http.request POST to a local
ledger → data.transform (the run's output is the ledger's receipt). Everything runs on a
stack of the test's own (tests/runtime/engine/chaos/rig.py): its own PostgreSQL database,
created, migrated and dropped for it, so cutting every connection of that database cannot
disturb the session's test database or the test process's own connection; its own
redis-server on a free port; a web server, a scheduler and three workers (two pool
processes each), replaced as they are killed.

What is counted (tests/runtime/engine/chaos/tally.py):

- lost: an order the webhook never accepted, or whose run does not exist;
- stuck: a run not finished once the faults stopped and the stack had a minute to heal;
- duplicate effects: an order the ledger acted on twice (under two keys), or a run whose
  output is not the receipt of its order's one effect;
- raw duplicates: every delivery of a key after the first, each attributed to the fault
  that ended the process that sent the one before it. The ledger learns which process sent
  each request from /proc while the sender waits for its answer, and the injector logs the
  processes each fault ended and when (tally.py explains the rule). Only a SIGKILL of the
  sender after its request left and before its step was recorded may cause one.

The summary line (``-s`` shows it; the terminal summary and ``record_property("chaos")``
always carry it) gives runs, faults by kind, webhook posts and replays, raw deliveries,
effects, duplicates by cause, lost, stuck and the steps taken over from lost workers.

The short run below is part of the suite. ``scripts/chaos RUNS`` runs the long one
(marked ``long``, left out otherwise) with RUNS runs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import SmtpSink
from tests.runtime.engine.chaos.customer import Customer
from tests.runtime.engine.chaos.faults import HUNG_SIGTERM, KINDS, Injector
from tests.runtime.engine.chaos.ledger import Ledger, start_ledger
from tests.runtime.engine.chaos.rig import Rig, open_rig
from tests.runtime.engine.chaos.tally import Tally, tally

pytestmark = [pytest.mark.worker]

SHORT_RUNS = 150  # CI's variant (about a minute); scripts/chaos runs LONG_RUNS
LONG_RUNS = int(os.environ.get("TRIBUTARY_CHAOS_RUNS", "3000"))
PER_SECOND = 4.0  # orders posted per second at most
MAX_OPEN = 40  # unfinished runs at most: the customer waits beyond (see Customer.post_all)
FAULT_EVERY = (3, 9)  # orders between two faults: about 50 faults in 300 runs
HEAL_SECONDS = 60.0


@pytest.mark.timeout(600)  # about a minute alone; a busy shared machine may double it
def test_150_webhook_runs_under_faults_lose_nothing_and_repeat_effects_only_after_sigkills(
    tmp_path: Path, smtp_sink: SmtpSink, record_property: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="httpx")  # one line per webhook post
    result = chaos(tmp_path, smtp_sink, runs=SHORT_RUNS)
    report(result, record_property)
    assert_sound(result, runs=SHORT_RUNS)


@pytest.mark.long
@pytest.mark.timeout(600 + 2 * LONG_RUNS)  # the pace follows what the machine can do
def test_a_long_chaos_run_loses_nothing_and_repeats_effects_only_after_sigkills(
    tmp_path: Path, smtp_sink: SmtpSink, record_property: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="httpx")
    result = chaos(tmp_path, smtp_sink, runs=LONG_RUNS)
    report(result, record_property)
    assert_sound(result, runs=LONG_RUNS)


def chaos(logs: Path, smtp_sink: SmtpSink, *, runs: int) -> Tally:
    """Post ``runs`` orders while injecting faults; stop the faults, let the stack heal,
    and count."""
    ledger = Ledger()
    server = start_ledger(ledger)
    try:
        with open_rig(logs, smtp_sink.port, ledger.url) as rig:
            ledger.senders = rig.worker_pids
            customer = Customer.of(rig.hook_url, runs)
            injector = Injector(rig, ledger, customer, every=FAULT_EVERY)
            started = time.monotonic()
            injector.start()
            try:
                customer.post_all(PER_SECOND, open_runs=rig.open_runs, max_open=MAX_OPEN)
            finally:
                injector.stop()
            heal(rig)
            result = tally(rig, ledger, customer, injector.log)
            result.seconds = time.monotonic() - started
            # For a post-mortem beside the processes' logs: every fault and raw duplicate.
            faults = [asdict(fault) for fault in injector.log]
            (logs / "chaos.json").write_text(
                json.dumps({"faults": faults, "duplicates": result.details}, indent=1)
            )
            return result
    finally:
        server.shutdown()


def heal(rig: Rig) -> None:
    """Wait for the replacement workers, then for every run to finish. A run is stuck when
    HEAL_SECONDS pass without any run finishing: far more than recovery takes (a lease and
    a scheduler pass), however busy the machine is."""
    rig.wait_until_ready()
    unfinished, progress = None, time.monotonic()
    while time.monotonic() - progress < HEAL_SECONDS:
        count = rig.open_runs()
        if not count:
            return
        if count != unfinished:
            unfinished, progress = count, time.monotonic()
        time.sleep(0.5)


def report(result: Tally, record_property: Any) -> None:
    record_property("chaos", result.summary())
    print("\n" + result.summary())  # noqa: T201 - the test's report, shown with -s


def assert_sound(result: Tally, *, runs: int) -> None:
    assert not result.lost, result.lost
    assert not result.stuck, result.stuck
    assert not result.failed, result.failed
    assert result.succeeded == result.runs == runs, result.summary()
    assert not result.extra_runs, result.extra_runs
    assert not result.wrong_replays, result.wrong_replays
    assert not result.duplicate_effects, result.duplicate_effects
    assert result.effects == runs, result.summary()
    assert not result.unexplained, result.unexplained
    assert not result.faults[HUNG_SIGTERM], result.faults  # every warm shutdown ended
    # Every kind of fault happened, twice at least, and the repeats the test relies on did.
    assert {kind for kind in KINDS if result.faults[kind] < 2} == set(), result.faults
    assert result.replays > 0, result.summary()
