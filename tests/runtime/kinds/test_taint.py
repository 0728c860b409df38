"""Which upstream outputs a template read: looking one up records it; anything that walks
or prints the whole of event.steps records them all (runtime.kinds.taint)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from designer.graph import Node
from runtime.kinds.contract import StepContext
from runtime.kinds.taint import ReadSteps


def context(secrets: dict[str, str] | None = None) -> StepContext:
    return StepContext(
        node=Node(id="t", type="data.transform", name="t", config={}),
        event={
            "trigger": {"id": 1},
            "steps": ReadSteps({"login": {"token": "abc"}, "lookup": {"name": "Ada"}}),
        },
        info={},
        secrets=secrets or {},
        deadline=time.monotonic() + 5,
        tainted_upstream=frozenset({"login"}),
    )


@pytest.mark.parametrize(
    ("template", "uses"),
    [
        ("{{ event.trigger.id }}", False),
        ("{{ event.steps.lookup.name }}", False),
        ("{{ event.steps['lookup'].name | upper }}", False),
        ("{{ 'login' in event.steps }}", False),  # that it ran is not what it holds
        ("{{ event.steps | length }}", False),
        ("{{ event.steps.login.token }}", True),
        ("{{ event.steps.get('login') }}", True),
        ("{{ event.steps | tojson }}", True),
        ("{{ event.steps }}", True),
        ("{{ event }}", True),
        ("{% for k, v in event.steps.items() %}{{ v }}{% endfor %}", True),
        ("{{ event.steps.values() | list }}", True),
        ("{{ event.steps | dictsort }}", True),
        ("{% set s = event.steps %}{{ s[['lo', 'gin'] | join] }}", True),
    ],
)
def test_a_template_uses_secrets_when_it_reads_a_tainted_output(template: str, uses: bool) -> None:
    ctx = context()
    ctx.render(template)
    assert ctx.uses_secrets() is uses


def test_a_value_holding_event_steps_is_stored_as_plain_json_and_counts_as_read() -> None:
    ctx = context()
    value: Any = ctx.render_value({"all": "{{ event }}", "n": "{{ event.trigger.id }}"})
    assert value["all"]["steps"] == {"login": {"token": "abc"}, "lookup": {"name": "Ada"}}
    assert ctx.uses_secrets()


def test_a_code_step_reads_the_whole_event() -> None:
    ctx = context()
    assert ctx.event_data()["steps"]["login"] == {"token": "abc"}
    assert ctx.uses_secrets()
