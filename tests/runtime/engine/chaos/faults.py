"""The faults: one injector thread that, every few orders until stopped, picks the next kind
from a shuffled round of all of them (so each occurs about as often), injects it and logs
it with the time and the worker processes it hit.

- ``sigkill mid-effect``: SIGKILL a worker (its whole process group) whose request is
  held at the ledger — the one fault allowed to repeat an effect;
- ``sigkill``: SIGKILL a worker at whatever it is doing (mostly mid-step);
- ``sigterm mid-effect``: SIGTERM a worker's main process while its request is held at
  the ledger (what ``docker stop``, Kubernetes and ``celery multi stop`` do): a warm
  shutdown, which must finish the step and record it;
- ``sigterm to every process mid-effect``: the same SIGTERM sent to the main process and
  its pool processes at once (systemd's default ``KillMode=control-group``, ``pkill``):
  just as graceful (runtime/engine/shutdown.py);
- ``redis restart``: SIGKILL the redis-server and start it again, empty;
- ``pg terminate <who>``: terminate the PostgreSQL backends of the scheduler or the web
  server, or the workers' while a request is held at the ledger (the step must then be
  recorded on a new connection);
- ``duplicate step messages``: send the execute-step task again for steps that are
  running or done, as a broker redelivery or a second scheduler would;
- ``duplicate webhook``: deliver an accepted order again, three times at once.

Every stopped worker is replaced at once, so WORKERS keep running.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from subprocess import Popen

from celery import Celery

from runtime.engine.dispatch import EXECUTE_STEP
from runtime.engine.status import StepStatus
from tests.runtime.engine.chaos.customer import Customer
from tests.runtime.engine.chaos.ledger import Ledger
from tests.runtime.engine.chaos.rig import STEPS, Rig

SIGKILLS = ("sigkill mid-effect", "sigkill")
# A SIGTERMed worker that has not finished its warm shutdown by then is SIGKILLed: a fault
# of its own, since the step it hung in may then run again.
SIGTERM_PATIENCE = 60.0
HUNG_SIGTERM = "sigkill after a hung sigterm"


@dataclass
class Fault:
    kind: str
    at: float  # time.time() when it was injected
    # The workers' processes it hit: those it signalled, or whose Redis or PostgreSQL
    # connections it cut.
    pids: tuple[int, ...] = ()
    detail: str = ""


@dataclass
class Injector:
    rig: Rig
    ledger: Ledger
    customer: Customer
    # Orders posted between two faults: a density per run, whatever the machine's speed.
    every: tuple[int, int]
    log: list[Fault] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    failure: Exception | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="faults", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop injecting; returns when every fault, a warm shutdown too, has played out.
        Raises what broke the injector, if anything did."""
        self.stopped.set()
        for thread in list(self._threads):
            thread.join()
        if self.failure is not None:
            raise self.failure

    def _run(self) -> None:
        try:
            self._inject()
        except Exception as exc:  # kept for stop(): a thread's exception is lost otherwise
            self.failure = exc

    def _inject(self) -> None:
        while not self.stopped.is_set():
            names = list(KINDS)
            random.shuffle(names)
            for name in names:
                if not self._wait_for_orders(random.randint(*self.every)):  # noqa: S311
                    return
                fault = KINDS[name](self)
                if fault is not None:
                    self.log.append(fault)

    def _wait_for_orders(self, count: int) -> bool:
        """Wait until ``count`` more orders were posted; False once stopped."""
        target = self.customer.posted + count
        while self.customer.posted < target:
            if self.stopped.wait(0.05):
                return False
        return not self.stopped.is_set()

    # --- Workers -----------------------------------------------------------------------

    def _mid_effect(self) -> tuple[str, int] | None:
        """A worker whose request is held at the ledger, and the sending pid; waits up
        to 3 s for one."""
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            trees = self.rig.worker_trees()
            for delivery in self.ledger.in_flight():
                for name, pids in trees.items():
                    if delivery.pid in pids[1:]:
                        return name, delivery.pid
            time.sleep(0.02)
        return None

    def sigkill_mid_effect(self) -> Fault | None:
        found = self._mid_effect()
        if found is None:
            return None
        name, sender = found
        at = time.time()
        pids = self.rig.signal_worker(name, signal.SIGKILL, group=True)
        return Fault("sigkill mid-effect", at, tuple(pids), f"{name}, sender {sender}")

    def sigkill(self) -> Fault | None:
        name = random.choice(sorted(self.rig.worker_trees()))  # noqa: S311
        at = time.time()
        pids = self.rig.signal_worker(name, signal.SIGKILL, group=True)
        return Fault("sigkill", at, tuple(pids), name)

    def sigterm_mid_effect(self, *, group: bool) -> Fault | None:
        found = self._mid_effect()
        if found is None:
            return None
        name, sender = found
        with self.rig.lock:
            process = self.rig.workers[name]
        at = time.time()
        pids = self.rig.signal_worker(name, signal.SIGTERM, group=group)
        watcher = threading.Thread(target=self._escalate, args=(name, process, pids), daemon=True)
        watcher.start()
        self._threads.append(watcher)
        kind = "sigterm to every process mid-effect" if group else "sigterm mid-effect"
        return Fault(kind, at, tuple(pids), f"{name}, sender {sender}")

    def _escalate(self, name: str, process: Popen, pids: list[int]) -> None:
        try:
            process.wait(SIGTERM_PATIENCE)
        except subprocess.TimeoutExpired:  # the warm shutdown hangs
            os.killpg(process.pid, signal.SIGKILL)
            self.log.append(Fault(HUNG_SIGTERM, time.time(), tuple(pids), name))

    # --- Redis, PostgreSQL ---------------------------------------------------------------

    def redis_restart(self) -> Fault:
        at, hit = time.time(), tuple(self.rig.worker_pids())
        self.rig.redis.kill()
        down = random.uniform(0.2, 1.5)  # noqa: S311
        time.sleep(down)
        self.rig.redis.start()
        return Fault("redis restart", at, hit, detail=f"down {down:.1f} s")

    def pg_terminate(self, who: str, application_name: str) -> Fault:
        at = time.time()
        cut = self.rig.database.terminate(application_name)
        return Fault(f"pg terminate {who}", at, detail=f"{cut} backends")

    def pg_terminate_workers(self) -> Fault | None:
        """Cut the workers' connections while a request is held at the ledger: its step
        must be recorded on a new connection, not left to its lease and run again."""
        if self._mid_effect() is None:
            return None
        at, hit = time.time(), tuple(self.rig.worker_pids())
        cut = self.rig.database.terminate("worker-%")
        return Fault("pg terminate workers mid-effect", at, hit, detail=f"{cut} backends")

    # --- Duplicates ----------------------------------------------------------------------

    def duplicate_step_messages(self) -> Fault:
        """Send the execute-step task again for the steps running now and a few done."""
        at = time.time()
        done = self._steps(StepStatus.SUCCEEDED)
        chosen = self._steps(StepStatus.RUNNING) + random.sample(done, min(5, len(done)))
        broker = Celery("chaos", broker=self.rig.redis.url, set_as_current=False)
        with broker.connection_for_write() as connection:
            for step_id in chosen:
                broker.send_task(EXECUTE_STEP, args=(step_id,), connection=connection)
        return Fault("duplicate step messages", at, detail=f"steps {chosen}")

    def duplicate_webhook(self) -> Fault:
        at = time.time()
        number = self.customer.repeat(copies=3)
        return Fault("duplicate webhook", at, detail=f"order {number}")

    def _steps(self, status: StepStatus) -> list[int]:
        rows = self.rig.database.query(
            f"SELECT id FROM {STEPS} WHERE status = %s ORDER BY id DESC LIMIT 20",  # noqa: S608
            (status,),
        )
        return [step_id for (step_id,) in rows]


KINDS: dict[str, Callable[[Injector], Fault | None]] = {
    "sigkill mid-effect": Injector.sigkill_mid_effect,
    "sigkill": Injector.sigkill,
    "sigterm mid-effect": lambda injector: injector.sigterm_mid_effect(group=False),
    "sigterm to every process mid-effect": lambda i: i.sigterm_mid_effect(group=True),
    "redis restart": Injector.redis_restart,
    "pg terminate workers mid-effect": Injector.pg_terminate_workers,
    "pg terminate scheduler": lambda injector: injector.pg_terminate("scheduler", "scheduler"),
    "pg terminate web": lambda injector: injector.pg_terminate("web", "web"),
    "duplicate step messages": Injector.duplicate_step_messages,
    "duplicate webhook": Injector.duplicate_webhook,
}
