"""What the designer may ask of the runtime: the catalog of node kinds (and a budget for
checking their templates), activating a flow's triggers, run statistics for the flow list,
and managing secrets. Callers have checked the user's permission. ``RunRefused``
(runtime.runs) is how the runtime says no; the designer's API turns it into a 400."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from designer.graph import Graph, GraphInvalid
from designer.models import Flow, FlowVersion, Workspace
from runtime import selectors
from runtime.engine import graphs, queues
from runtime.images import pinning
from runtime.kinds import template_bounds
from runtime.kinds.catalog import CATALOG
from runtime.kinds.contract import Kind
from runtime.kinds.templating import template_problem as _template_problem
from runtime.models import Secret
from runtime.replay import flowtests
from runtime.resources.secrets import NAME_PATTERN, secret_encrypt
from runtime.runs import RunRefused
from runtime.triggers import activation, called, error


def step_catalog() -> Mapping[str, Kind]:
    return CATALOG


def graph_check_workspace(*, graph: Graph, workspace_id: int, flow_id: int | None) -> None:
    """Check ``graph``'s nodes and settings against the rest of the workspace (the flows a
    flow.call names, call cycles, the error flow); raises GraphInvalid naming each node or
    field. ``flow_id`` is the flow the graph is saved or published for (None: a flow being
    created)."""
    problems = list(error.on_failure_problems(graph, workspace_id=workspace_id, flow_id=flow_id))
    problems.extend(queues.graph_problems(graph))
    for type_name, kind in CATALOG.items():
        nodes = [node for node in graph.nodes.values() if node.type == type_name]
        if nodes:
            problems.extend(
                kind.check_in_workspace(nodes, graph, workspace_id=workspace_id, flow_id=flow_id)
            )
    if problems:
        raise GraphInvalid(problems)


def graph_pin_images(*, graph: Graph, workspace_id: int) -> Graph:
    """``graph`` with each container step's image digest recorded as the image's name
    points now (runtime.images.pinning); call when a version is stored."""
    return pinning.pin(graph, workspace_id)


def flow_tests_start(*, flow: Flow, version: FlowVersion, user: User | None) -> None:
    """Replay the flow's tests against ``version`` in the background (runtime.replay)."""
    flowtests.tests_start(flow=flow, version=version, user=user)


def flow_tests_verdict(*, version: FlowVersion) -> flowtests.Verdict:
    """How the flow's tests fared on ``version``: none, missing (not run on it), running,
    passed or failed, with each case."""
    return flowtests.verdict(version)


def flow_tests_export(*, flow: Flow) -> list[dict[str, Any]]:
    return flowtests.tests_export(flow)


def flow_tests_import(*, flow: Flow, tests: Any, user: User | None) -> None:
    """Create the tests an export carries (inside the import's transaction); RunRefused
    naming the first bad one."""
    flowtests.tests_import(flow, tests, user)


def flow_call_fields(*, version: FlowVersion | None) -> list[dict[str, Any]] | None:
    """The input fields a flow.call gives ``version`` (declared by its 'When called by
    another flow' trigger; [] when it takes any object), or None when it cannot be called
    (no version, or no such trigger). Reads the version's graph, nothing else."""
    if version is None:
        return None
    trigger = called.called_node(graphs.graph_of(version))
    return None if trigger is None else [dict(spec) for spec in called.fields_of(trigger)]


def flow_catches_failures(*, version: FlowVersion | None) -> bool:
    """Whether ``version`` (a flow's live one) starts 'When a flow fails', so other flows
    may name it as their error flow. Reads the version's graph, nothing else."""
    return error.catches_failures(version)


def error_flow_problem(*, target_id: int, workspace_id: int, flow_id: int | None) -> str | None:
    """Why flow ``target_id`` cannot be the error flow of ``flow_id`` (None: a flow being
    created or imported) in the workspace, or None."""
    return error.error_flow_problem(target_id, workspace_id=workspace_id, flow_id=flow_id)


def template_budget() -> AbstractContextManager[None]:
    """One budget of time and work for every template checked inside (checking a template
    runs its constant parts): wrap a whole save in it, so that many templates cannot add up
    to more than one template may spend."""
    return template_bounds.budget()


def template_problem(source: str) -> str | None:
    """Why ``source`` is not a valid template, or None (the flow settings' key template)."""
    return _template_problem(source)


def triggers_sync(*, flow: Flow) -> None:
    """Make the flow's active triggers those of its live version (none when archived).
    Call inside the transaction that publishes, rolls back, archives or restores; may
    raise GraphInvalid naming a trigger node that cannot be activated."""
    activation.triggers_sync(flow)


def flow_run_stats(*, flow_ids: list[int], days: int = 7) -> dict[int, dict[str, object]]:
    """Last run status/time and daily run counts per flow (for the flow list)."""
    return selectors.flow_run_stats(flow_ids=flow_ids, days=days)


def secret_set(
    *, workspace: Workspace, name: str, value: str, user: User, description: str = ""
) -> Secret:
    """Create or replace the secret ``name`` of the workspace."""
    if not NAME_PATTERN.match(name):
        raise RunRefused(
            "A secret name is letters, digits and _, starting with a letter (e.g. STRIPE_KEY).",
            field="name",
        )
    if not value or "\x00" in value:
        raise RunRefused("The value must be non-empty text.", field="value")
    try:
        ciphertext = secret_encrypt(value)
    except ImproperlyConfigured as exc:
        raise RunRefused(str(exc)) from None
    secret, _ = Secret.objects.update_or_create(
        workspace=workspace,
        name=name,
        defaults={
            "ciphertext": ciphertext,
            "description": description,
            "created_by": user,
            "updated_at": timezone.now(),
        },
    )
    return secret


def secret_delete(*, secret: Secret) -> None:
    """Delete the secret; steps that name it fail from now on, saying which is missing."""
    secret.delete()


__all__ = [
    "RunRefused",
    "error_flow_problem",
    "flow_call_fields",
    "flow_catches_failures",
    "flow_run_stats",
    "secret_delete",
    "secret_set",
    "step_catalog",
    "template_budget",
    "triggers_sync",
]
