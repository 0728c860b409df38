"""trigger.called: a test run's input is an object of the declared fields, as a caller
would pass it; a sample no caller could pass is refused naming the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from designer.graph import Node
from runtime.kinds.contract import SampleRefused
from runtime.triggers.called import KIND
from tests.conftest import Team
from tests.factories import flow

FIELDS = [
    {"name": "name", "type": "string", "required": True},
    {"name": "count", "type": "number"},
]
NODE = Node(id="called", type="trigger.called", name="Called", config={"fields": FIELDS})


@pytest.mark.django_db
def test_an_empty_sample_gets_every_required_field(team: Team) -> None:
    assert KIND.test_input(NODE, {}, flow=flow(team.editor, team.workspace)) == {"name": ""}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sample", "says"),
    [
        ({"name": "Ada", "colour": "red"}, "Unknown input field(s) 'colour'"),
        ({"name": "Ada", "count": "3"}, "'count' should be a number, not str"),
        ({"name": "Ada", "count": True}, "'count' should be a number, not bool"),
        ([1, 2], "is an object of its declared fields"),
    ],
)
def test_a_sample_no_caller_could_pass_is_refused(team: Team, sample: Any, says: str) -> None:
    with pytest.raises(SampleRefused, match=re.escape(says)):
        KIND.test_input(NODE, sample, flow=flow(team.editor, team.workspace))
