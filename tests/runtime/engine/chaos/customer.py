"""The customer: posts numbered orders to the flow's webhook, each with its own
``Idempotency-Key``, the way a shop or Stripe does — until the webhook accepts it, trying
again after an error or a dropped connection — and sometimes delivers one again."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

GIVE_UP_AFTER = 90.0  # seconds of refusals before an order counts as never accepted
PAUSE = 0.2


@dataclass
class Order:
    number: int
    run_id: int | None = None  # the run the webhook answered with
    posts: int = 0  # requests sent for it, first delivery and retries
    errors: list[str] = field(default_factory=list)  # what made the customer try again

    @property
    def key(self) -> str:
        return f"order-{self.number}"


@dataclass
class Customer:
    hook_url: str
    orders: list[Order]
    posted: int = 0  # orders handed to the senders so far
    replays: int = 0  # repeated deliveries answered with the original run
    wrong_replays: list[str] = field(default_factory=list)  # another run, or no answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, hook_url: str, count: int) -> Customer:
        return cls(hook_url, [Order(number) for number in range(1, count + 1)])

    def post_all(
        self, per_second: float, *, open_runs: Callable[[], int], max_open: int, threads: int = 8
    ) -> None:
        """Deliver every order, at ``per_second`` at most, and only while fewer than
        ``max_open`` runs are unfinished (a busy machine slows the stack down; a backlog
        that grows without bound would test the machine, not the engine). Returns when
        each was accepted or given up on."""
        with ThreadPoolExecutor(threads) as pool:
            for order in self.orders:
                due = time.monotonic() + 1 / per_second
                while open_runs() >= max_open:
                    time.sleep(0.2)
                pool.submit(self._deliver, order)
                self.posted += 1
                time.sleep(max(0.0, due - time.monotonic()))

    def _deliver(self, order: Order) -> None:
        deadline = time.monotonic() + GIVE_UP_AFTER
        with httpx.Client(timeout=15) as client:
            while order.run_id is None and time.monotonic() < deadline:
                order.posts += 1
                try:
                    response = post(client, self.hook_url, order)
                except httpx.HTTPError as exc:
                    order.errors.append(type(exc).__name__)
                else:
                    if response.status_code == 202:
                        order.run_id = int(response.json()["run_id"])
                        return
                    order.errors.append(str(response.status_code))
                time.sleep(PAUSE)

    def repeat(self, copies: int) -> int:
        """Deliver an accepted order again, ``copies`` times at once (a sender that timed
        out and retried, twice); each must be answered with the order's run. Returns the
        order's number (0 when none was accepted yet)."""
        accepted = [order for order in self.orders if order.run_id is not None]
        if not accepted:
            return 0
        order = random.choice(accepted)  # noqa: S311 - not cryptography
        threads = [threading.Thread(target=self._replay, args=(order,)) for _ in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return order.number

    def _replay(self, order: Order) -> None:
        with httpx.Client(timeout=15) as client:
            for _ in range(int(GIVE_UP_AFTER / PAUSE)):
                try:
                    response = post(client, self.hook_url, order)
                except httpx.HTTPError:
                    time.sleep(PAUSE)
                    continue
                if response.status_code == 202:
                    break
                time.sleep(PAUSE)
            else:
                with self.lock:
                    self.wrong_replays.append(f"{order.key}: never answered")
                return
        answered = int(response.json()["run_id"])
        with self.lock:
            if answered == order.run_id and response.headers.get("idempotent-replayed"):
                self.replays += 1
            else:
                self.wrong_replays.append(f"{order.key}: run {answered}, not {order.run_id}")


def post(client: httpx.Client, url: str, order: Order) -> httpx.Response:
    return client.post(url, json={"order": order.number}, headers={"Idempotency-Key": order.key})
