"""The registry of node kinds: adding a kind is its module plus one line here."""

from collections.abc import Mapping

from runtime.kinds.contract import Kind, StepKind
from runtime.steps import (
    code_container,
    code_javascript,
    code_python,
    data_transform,
    db_query,
    email_send,
    flow_approval,
    flow_call,
    flow_delay,
    flow_foreach,
    flow_wait,
    http_request,
    logic_branch,
    queue_publish,
)
from runtime.triggers import called, error, events, manual
from runtime.triggers.cron import kind as cron
from runtime.triggers.dbchange import kind as dbchange
from runtime.triggers.queue import kind as queue
from runtime.triggers.webhook import kind as webhook

CATALOG: Mapping[str, Kind] = {
    kind.type: kind
    for kind in (
        webhook.KIND,
        cron.KIND,
        events.KIND,
        dbchange.KIND,
        manual.KIND,
        queue.KIND,
        called.KIND,
        error.KIND,
        code_python.KIND,
        code_javascript.KIND,
        code_container.KIND,
        http_request.KIND,
        email_send.KIND,
        logic_branch.KIND,
        data_transform.KIND,
        flow_delay.KIND,
        flow_foreach.KIND,
        db_query.KIND,
        queue_publish.KIND,
        flow_call.KIND,
        flow_wait.KIND,
        flow_approval.KIND,
    )
}


def step_kind(type_name: str) -> StepKind:
    """The executable kind of a step node (triggers never execute as steps)."""
    kind = CATALOG[type_name]
    if not isinstance(kind, StepKind):
        raise TypeError(f"{type_name} is not a step kind")
    return kind
