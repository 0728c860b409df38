"""How the chaos test blames a raw duplicate on a fault (tests/runtime/engine/chaos/tally.py):
a table of senders, faults and the verdicts they must get."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.runtime.engine.chaos.faults import Fault
from tests.runtime.engine.chaos.ledger import Delivery
from tests.runtime.engine.chaos.tally import ALLOWED, RECORD_GRACE, cause_of

SENDER, OTHER = 101, 202
# The first delivery arrived at 10.0 and was answered at 10.3; its repeat came at 16.0.
FIRST = Delivery("key", 1, SENDER, arrived=10.0, answered=10.3)
REPEAT = Delivery("key", 1, OTHER, arrived=16.0, answered=16.2)


@pytest.mark.parametrize(
    ("first", "faults", "cause"),
    [
        ({}, [Fault("sigkill mid-effect", 10.1, (1, SENDER))], ALLOWED[0]),
        ({"answered": None, "answer_lost": True}, [Fault("sigkill", 10.5, (SENDER,))], ALLOWED[0]),
        ({}, [Fault("sigkill", 10.4, (SENDER,))], ALLOWED[1]),
        # Killed seconds after it answered: it had time to record; the kill is not why.
        ({}, [Fault("sigkill", 10.3 + RECORD_GRACE + 0.5, (SENDER,))], "unexplained"),
        ({}, [Fault("sigkill", 10.1, (OTHER,))], "unexplained"),
        ({}, [], "unexplained"),
        ({}, [Fault("sigterm mid-effect", 10.1, (SENDER,))], "sigterm mid-effect"),
        (
            {},
            [
                Fault("pg terminate workers mid-effect", 10.1, (SENDER, OTHER)),
                Fault("sigterm mid-effect", 10.9, (SENDER,)),
            ],
            "pg terminate workers mid-effect",
        ),
        (
            {},
            [
                Fault("pg terminate workers mid-effect", 10.1, (SENDER, OTHER)),
                Fault("sigkill mid-effect", 10.2, (SENDER,)),
            ],
            ALLOWED[0],
        ),
        # Gone before the ledger could tell who sent it: a SIGKILL just before explains it.
        ({"pid": 0}, [Fault("sigkill", 9.5, (OTHER,))], ALLOWED[0]),
        ({"pid": 0}, [Fault("sigterm mid-effect", 9.5, (OTHER,))], "unexplained"),
        ({"pid": 0}, [Fault("sigkill", 8.0, (OTHER,))], "unexplained"),
    ],
)
def test_a_duplicate_is_blamed_on_what_hit_its_sender_before_it_could_record(
    first: dict[str, Any], faults: list[Fault], cause: str
) -> None:
    assert cause_of(replace(FIRST, **first), REPEAT, faults) == cause
