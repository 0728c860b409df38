"""flow.approval: pause the run until a person approves or rejects, or until a timeout;
no worker is held meanwhile (runtime.engine.waits).

Who may decide: members with one of the listed roles in the workspace, named members,
and email addresses of people without accounts (each gets a mail with signed, single-use
links: runtime.approvals). The message is rendered when the step pauses and shown on the
Approvals page and in the mail; the approver may fill in a few form fields. The decision
takes the ``approved`` / ``rejected`` edge; a timeout takes ``timed_out``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from designer.graph import Graph, Node, Problem
from designer.models import Membership, Role
from runtime.kinds.contract import (
    StepContext,
    StepError,
    StepKind,
    StepOutput,
    Suspend,
    WaitSpec,
    template,
    timeout_at,
    wait_timeout,
)

FIELD_NAME = r"^[a-z][a-z0-9_]{0,39}$"


class Approval(StepKind):
    type = "flow.approval"
    queue = "light"
    label = "Approval"
    description = "Pause until a person approves or rejects (Approvals page or emailed links)."
    handles = ("approved", "rejected", "timed_out")
    suspends = True
    output_example = {
        "decision": "approved",
        "by": {"username": "alice", "email": "", "name": "Alice"},
        "at": "2026-01-01T09:00:00+00:00",
        "fields": {},
        "comment": "",
    }
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            # Flat (not one nested object) so that the designer's form gives each source
            # its widget: role checkboxes, comma-separated usernames and addresses.
            "roles": {
                "type": "array",
                "title": "Members with the role may decide",
                "items": {"enum": [role.value for role in Role]},
                "uniqueItems": True,
            },
            "users": {
                "type": "array",
                "title": "Members who may decide (usernames)",
                "items": {"type": "string", "minLength": 1, "maxLength": 150},
                "maxItems": 50,
            },
            "emails": {
                "type": "array",
                "title": "Email addresses that may decide (people without accounts)",
                "items": {"type": "string", "minLength": 3, "maxLength": 254},
                "maxItems": 20,
            },
            "message": template(
                "Message",
                multiline=True,
                maxLength=10_000,
                description="e.g. Order {{ event.trigger.body.id }} totals "
                "{{ event.trigger.body.total }}: approve?",
            ),
            "fields": {
                "type": "array",
                "title": "Form fields for the approver",
                "x-widget": "json",
                "description": 'e.g. [{"name": "amount", "type": "number", "required": true}]',
                "maxItems": 10,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "pattern": FIELD_NAME},
                        "label": {"type": "string", "maxLength": 200},
                        "type": {"enum": ["text", "number", "boolean"], "default": "text"},
                        "required": {"type": "boolean", "default": False},
                    },
                },
            },
            "timeout_seconds": wait_timeout(),
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        config = node.config
        if not any(config.get(source) for source in ("roles", "users", "emails")):
            yield Problem(
                "Say who may decide: roles, members or email addresses.",
                node=node.id,
                field="config.roles",
            )
        for index, address in enumerate(config.get("emails") or []):
            try:
                validate_email(address)
            except ValidationError:
                yield Problem(
                    f"{address!r} is not an email address.",
                    node=node.id,
                    field=f"config.emails[{index}]",
                )
        names = [field.get("name") for field in node.config.get("fields") or []]
        for index, name in enumerate(names):
            if name in names[:index] or name == "comment":
                yield Problem(
                    f"Two form fields are called {name!r} (or it clashes with the comment).",
                    node=node.id,
                    field=f"config.fields[{index}].name",
                )

    def check_in_workspace(
        self, nodes: Sequence[Node], graph: Graph, *, workspace_id: int, flow_id: int | None
    ) -> Iterable[Problem]:
        """Named approvers must be members of the flow's workspace."""
        named = {username for node in nodes for username in node.config.get("users") or []}
        if not named:
            return
        members = set(
            Membership.objects.filter(
                workspace_id=workspace_id, user__username__in=named
            ).values_list("user__username", flat=True)
        )
        for node in nodes:
            for index, username in enumerate(node.config.get("users") or []):
                if username not in members:
                    yield Problem(
                        f"{username!r} is not a member of this workspace.",
                        node=node.id,
                        field=f"config.users[{index}]",
                    )

    def rehearse(self, ctx: StepContext) -> bool:
        """A replay asks no one: it records the request it would have made."""
        self._spec(ctx, timezone.now())
        return True

    def run(self, ctx: StepContext) -> StepOutput:
        if ctx.resumed is not None:
            return StepOutput(ctx.resumed, handle=ctx.resumed["decision"])
        now = timezone.now()
        if ctx.wake_at is not None and ctx.wake_at <= now:
            output: dict[str, Any] = {
                "decision": "timed_out",
                "by": None,
                "at": now.isoformat(),
                "fields": {},
                "comment": "",
            }
            return StepOutput(output, handle="timed_out")
        raise Suspend(self._spec(ctx, now))

    def _spec(self, ctx: StepContext, now: datetime) -> WaitSpec:
        """Who is asked what (recorded as the step's input)."""
        message = ctx.render(ctx.config.get("message", ""))
        if ctx.uses_secrets():
            # The message is shown to approvers of any role and mailed outside: it must not
            # carry a secret, nor anything derived from one.
            raise StepError(
                "An approval's message cannot use secrets or outputs derived from them.",
                retryable=False,
            )
        until = timeout_at(ctx.config, now)
        details = {
            "name": ctx.node.name,
            "message": message,
            "roles": list(ctx.config.get("roles") or []),
            "users": list(ctx.config.get("users") or []),
            "emails": [address.lower() for address in ctx.config.get("emails") or []],
            "fields": [_field(field) for field in ctx.config.get("fields") or []],
        }
        ctx.input = details | {"until": until.isoformat() if until else None}
        return WaitSpec("approval", until=until, details=details)


def _field(field: dict) -> dict:
    return {
        "name": field["name"],
        "label": field.get("label") or field["name"].replace("_", " ").capitalize(),
        "type": field.get("type", "text"),
        "required": bool(field.get("required", False)),
    }


KIND = Approval()
