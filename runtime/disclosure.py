"""What a user is shown of a run: values derived from secrets stay hidden from viewers.

A step that used secrets (runtime.kinds.taint) keeps what it stored, for editors and
admins, who can read the secrets' effects anyway by editing the flow. Users below the editor
role see its input, output, logs and error, and its run's output and error, only as
``HIDDEN``: not a redacted copy, from which an encoding of the secret might still be read.
Pages, the REST API and the websockets all show runs through this module.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from designer import access
from designer.models import Role, Workspace
from runtime.models import Run, StepRun

HIDDEN = "hidden: uses secrets"


def reveals(*, user: access.User, workspace: Workspace) -> bool:
    """Whether ``user`` may see what was derived from the workspace's secrets."""
    return access.has_role(user=user, workspace=workspace, min_role=Role.EDITOR)


def revealing_workspaces(*, user: access.User) -> set[int]:
    """The ids of the workspaces where ``user`` may see what was derived from secrets."""
    roles = access.roles_for_user(user=user)
    return {pk for pk, role in roles.items() if Role.can_write(role)}


def run_shown(run: Run, *, reveal: bool) -> Run:
    """``run`` as the user may see it: a copy with its output and error hidden when it
    used secrets and ``reveal`` is False (the original is never changed, so never saved)."""
    if reveal or not run.uses_secrets:
        return run
    shown = copy.copy(run)
    shown.output = None if run.output is None else HIDDEN
    shown.error = HIDDEN if run.error else ""
    return shown


def steps_shown(steps: Iterable[StepRun], *, reveal: bool) -> list[StepRun]:
    return [step_shown(step, reveal=reveal) for step in steps]


def step_shown(step: StepRun, *, reveal: bool) -> StepRun:
    if reveal or not step.uses_secrets:
        return step
    shown = copy.copy(step)
    shown.input = None if step.input is None else HIDDEN
    shown.output = None if step.output is None else HIDDEN
    shown.logs = HIDDEN if step.logs else ""
    shown.error = HIDDEN if step.error else ""
    shown.error_detail = ""
    return shown


def event_shown(event: dict[str, Any], *, reveal: bool) -> dict[str, Any] | None:
    """A live event as the user may see it; None when nothing of it may be shown (a log
    line printed by a step that uses secrets)."""
    if reveal:
        return event
    if event.get("type") == "step.log":
        return None if event.get("uses_secrets", True) else event
    for key in ("step", "run"):
        data = event.get(key)
        if isinstance(data, dict) and data.get("uses_secrets") and data.get("error"):
            return {**event, key: {**data, "error": HIDDEN}}
    return event
