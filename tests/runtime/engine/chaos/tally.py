"""Counting what happened: runs lost or stuck, effects and raw deliveries at the ledger,
and the cause of every raw duplicate.

Attributing a duplicate: a second delivery of a key means the attempt that sent the one
before it was never recorded, so the cause is whatever ended *that sender* before it could
record. The ledger knows which process sent each delivery, when it arrived and when it was
answered (tests/runtime/engine/chaos/ledger.py); the injector logs which worker processes
each fault hit (signalled, or cut off from Redis or PostgreSQL), and when. A fault is a
cause when it hit the sender

- after its request left: at most IN_SOCKET before the ledger saw it (it may still have
  been in the socket; a sender gone before the ledger could identify it counts only with
  a SIGKILL in that second);
- before it could record: while the ledger held the answer, or within RECORD_GRACE after
  it — a live worker records within milliseconds, so a later kill is not the cause.

A SIGKILL among the causes explains the duplicate (``SIGKILL during the effect``; ``…after
the answer`` when it came between the effect and its record, the same window of the
attempt). Otherwise the first cause names the bug: a SIGTERM (graceful: it must let the
step finish), a cut connection (the step must be recorded on a new one), a SIGKILL after a
hung SIGTERM — or ``unexplained``: nothing hit the sender in time, it lived on and still
did not record its step.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from runtime.engine.status import RUN_FINISHED, RunStatus
from tests.runtime.engine.chaos.customer import Customer
from tests.runtime.engine.chaos.faults import SIGKILLS, Fault
from tests.runtime.engine.chaos.ledger import Delivery, Ledger
from tests.runtime.engine.chaos.rig import RUNS, STEPS, Rig

ALLOWED = ("SIGKILL during the effect", "SIGKILL during the effect (after the answer)")
IN_SOCKET = 1.0  # seconds a request may sit in the socket after its sender died
# Seconds a live worker may take to record its step once the ledger answered: milliseconds
# normally, a few hundred on a lost database connection (runtime/engine/reconnect.py) or a
# busy machine; the summary reports the slowest seen.
RECORD_GRACE = 2.0


@dataclass
class Tally:
    runs: int = 0
    succeeded: int = 0
    failed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # orders without a run
    stuck: list[str] = field(default_factory=list)  # runs not finished
    extra_runs: list[str] = field(default_factory=list)  # runs no order asked for
    wrong_replays: list[str] = field(default_factory=list)
    replays: int = 0
    posts: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    deliveries: int = 0
    effects: int = 0
    duplicate_effects: list[str] = field(default_factory=list)  # after the ledger's dedupe
    duplicates: Counter[str] = field(default_factory=Counter)  # raw, by cause
    unexplained: list[str] = field(default_factory=list)  # raw duplicates not allowed
    lost_workers: int = 0  # steps handed to another worker (StepRun.lost, summed)
    slowest_record: float = 0.0  # seconds from the ledger's last answer to the pay step's end
    seconds: float = 0.0
    details: list[dict[str, Any]] = field(default_factory=list)  # every raw duplicate

    def summary(self) -> str:
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items()))
        causes = ", ".join(f"{cause} {n}" for cause, n in sorted(self.duplicates.items()))
        return (
            f"chaos: {self.runs} runs ({self.succeeded} succeeded, {len(self.failed)} failed, "
            f"{len(self.lost)} lost, {len(self.stuck)} stuck) in {self.seconds:.0f} s; "
            f"{sum(self.faults.values())} faults ({faults}); {self.posts} webhook posts, "
            f"{self.replays} replays answered with the original run; "
            f"{self.deliveries} raw deliveries, {self.effects} effects, "
            f"{len(self.duplicate_effects)} duplicate effects after dedupe, "
            f"{sum(self.duplicates.values())} raw duplicates ({causes or 'none'}), "
            f"{len(self.unexplained)} not from a SIGKILL; "
            f"{self.lost_workers} steps taken over from a lost worker; "
            f"slowest record after the ledger's answer {self.slowest_record * 1000:.0f} ms"
        )


def tally(rig: Rig, ledger: Ledger, customer: Customer, faults: list[Fault]) -> Tally:
    result = Tally(faults=Counter(fault.kind for fault in faults))
    _count_runs(result, rig, customer)
    _count_effects(result, rig, ledger, customer)
    _attribute(result, ledger.deliveries, faults)
    result.slowest_record = _slowest_record(rig, ledger, customer)
    return result


def _count_runs(result: Tally, rig: Rig, customer: Customer) -> None:
    rows = rig.database.query(f"SELECT id, status, idempotency_key, error FROM {RUNS}")  # noqa: S608
    runs = {run_id: (status, key, error) for run_id, status, key, error in rows}
    result.runs = len(runs)
    asked = {order.run_id: order.key for order in customer.orders}
    for order in customer.orders:
        if order.run_id is None or order.run_id not in runs:
            result.lost.append(f"{order.key} (run {order.run_id}, errors {order.errors[-3:]})")
    for run_id, (status, key, error) in sorted(runs.items()):
        if asked.get(run_id) != key:
            result.extra_runs.append(f"run {run_id} ({key})")
        if status == RunStatus.SUCCEEDED:
            result.succeeded += 1
        elif status in RUN_FINISHED:
            result.failed.append(f"run {run_id} ({key}): {error}")
        else:
            result.stuck.append(f"run {run_id} ({key}): {status}")
    result.posts = sum(order.posts for order in customer.orders)
    result.replays, result.wrong_replays = customer.replays, customer.wrong_replays
    result.lost_workers = int(rig.scalar(f"SELECT coalesce(sum(lost), 0) FROM {STEPS}"))  # noqa: S608


def _count_effects(result: Tally, rig: Rig, ledger: Ledger, customer: Customer) -> None:
    """One effect per order, under one key, whose receipt is the run's output."""
    result.deliveries, result.effects = len(ledger.deliveries), len(ledger.effects)
    keys_of: dict[int, set[str]] = defaultdict(set)
    for effect in ledger.effects.values():
        keys_of[effect.order].add(effect.key)
    receipts = {effect.order: effect.receipt for effect in ledger.effects.values()}
    outputs: dict[int, Any] = dict(
        rig.database.query(f"SELECT id, output FROM {RUNS} WHERE status = 'succeeded'")  # noqa: S608
    )
    for order in customer.orders:
        if len(keys_of[order.number]) > 1:
            result.duplicate_effects.append(f"{order.key}: keys {sorted(keys_of[order.number])}")
        if order.run_id in outputs and outputs[order.run_id] != receipts.get(order.number):
            result.duplicate_effects.append(
                f"{order.key}: run output {outputs[order.run_id]}, "
                f"receipt {receipts.get(order.number)}"
            )


def _slowest_record(rig: Rig, ledger: Ledger, customer: Customer) -> float:
    """How long a live worker took to record its step after the ledger answered (what
    RECORD_GRACE must exceed): from each order's last answer to its pay step's end."""
    rows = rig.database.query(
        f"SELECT run_id, extract(epoch FROM finished_at) FROM {STEPS}"  # noqa: S608
        " WHERE node_id = 'pay' AND status = 'succeeded'"
    )
    finished = {run_id: float(at) for run_id, at in rows}
    answered = {d.order: d.answered for d in ledger.deliveries if d.answered is not None}
    gaps = [
        finished[order.run_id] - answered[order.number]
        for order in customer.orders
        if order.run_id in finished and order.number in answered
    ]
    return max(gaps, default=0.0)


def _attribute(result: Tally, deliveries: list[Delivery], faults: list[Fault]) -> None:
    by_key: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in sorted(deliveries, key=lambda d: d.arrived):
        by_key[delivery.key].append(delivery)
    for key, sent in by_key.items():
        for previous, repeat in itertools.pairwise(sent):
            cause = cause_of(previous, repeat, faults)
            result.duplicates[cause] += 1
            result.details.append(
                {"cause": cause, "first": asdict(previous), "then": asdict(repeat)}
            )
            if cause not in ALLOWED:
                result.unexplained.append(f"{key}: {cause} (sender {previous.pid})")


def cause_of(previous: Delivery, repeat: Delivery, faults: list[Fault]) -> str:
    """Why ``repeat`` was sent: what hit the process that sent ``previous`` while its
    attempt was still unrecorded (see the module's docstring)."""
    if not previous.pid:  # gone before the ledger could look: killed just before
        end = previous.arrived
    elif previous.answered is None or previous.answer_lost:  # died waiting for the answer
        end = repeat.arrived
    else:
        end = min(previous.answered + RECORD_GRACE, repeat.arrived)
    hits = [
        fault
        for fault in sorted(faults, key=lambda f: f.at)
        if previous.arrived - IN_SOCKET <= fault.at <= end
        and (previous.pid in fault.pids or (not previous.pid and fault.kind in SIGKILLS))
    ]
    kills = [fault for fault in hits if fault.kind in SIGKILLS]
    if kills:  # enough on its own, whatever else hit the sender
        answered = None if previous.answer_lost else previous.answered
        return ALLOWED[1] if answered is not None and kills[0].at > answered else ALLOWED[0]
    return hits[0].kind if hits else "unexplained"
