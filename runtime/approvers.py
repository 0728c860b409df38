"""Who may decide an approval step (runtime.steps.flow_approval): a member whose role the
step lists, or a member it names. Pure, so reads (runtime.selectors) and the decision
(runtime.approvals) judge alike; the caller supplies the user's role in the workspace."""

from __future__ import annotations

from typing import Any


def is_approver(*, details: dict[str, Any], role: str | None, username: str) -> bool:
    if role is None:
        return False  # named users too must still belong to the workspace
    return role in details.get("roles", []) or username in details.get("users", [])
