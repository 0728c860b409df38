"""The items of a for-each step as the API and the run page show them: its progress and
pages of its item runs, each with a short excerpt of its output or error, as the user may
see them (runtime.disclosure)."""

from __future__ import annotations

import json
from typing import Any

from designer.graph_groups import FOREACH_TYPE
from runtime import disclosure, selectors
from runtime.live import publish
from runtime.models import Run, StepRun

EXCERPT = 120


def is_foreach(step: StepRun) -> bool:
    return step.kind == FOREACH_TYPE


def step_progress(step: StepRun) -> dict[str, int] | None:
    """A for-each step's progress from the counters the engine keeps on it (zeros before
    its items start); None for other kinds."""
    if not is_foreach(step):
        return None
    return publish.step_progress(step) or publish.progress(0, 0, 0, 0)


def item_rows(page: selectors.ItemsPage, *, reveal: bool) -> list[dict[str, Any]]:
    return [item_row(run, reveal=reveal) for run in page.items]


def item_row(found: Run, *, reveal: bool) -> dict[str, Any]:
    run = disclosure.run_shown(found, reveal=reveal)
    return {
        "run_id": run.pk,
        "item_index": run.item_index,
        "status": run.status,
        "duration_seconds": run.duration_seconds,
        "excerpt": excerpt(run),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def excerpt(run: Run) -> str:
    """The first line of its error, or its output as compact JSON, cut to EXCERPT chars."""
    if run.error:
        text = run.error.split("\n", 1)[0]
    elif run.output is None:
        return ""
    elif isinstance(run.output, str):
        text = run.output
    else:
        text = json.dumps(run.output, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= EXCERPT else f"{text[: EXCERPT - 1]}…"
