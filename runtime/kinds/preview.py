"""What a template or expression gives against a sample event, for the designer's preview.

The same sandboxed environment as a run renders it (runtime.kinds.templating), so the preview
and the run agree; what differs is what the template can read: the test panel's sample as
``event.trigger``, the outputs the last test run left as ``event.steps``, and secrets by name
only (shown as "<secret NAME>" in angle quotes): a preview never reads a secret's value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from jinja2 import StrictUndefined

from runtime.kinds.templating import TemplateProblem, evaluate, render

MAX_TEMPLATE_CHARS = 512 * 1024  # the largest template field (an email body)
MAX_SHOWN_CHARS = 2000

Mode = Literal["text", "html", "expression"]


class _SecretNames(Mapping[str, str]):
    """Stands in for the run's secrets: any name reads as a placeholder naming it."""

    def __getitem__(self, name: str) -> str:
        return f"\u2039secret {name}\u203a"  # angle quotes: not mistaken for markup

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class _StepOutputs(dict[str, Any]):
    """The outputs known so far. A step that has not run (no test yet) says so, instead of
    Jinja's "'dict object' has no attribute ..."; ``is defined`` and ``default`` still work."""

    def __missing__(self, node_id: str) -> StrictUndefined:
        return StrictUndefined(
            hint=f"event.steps.{node_id} has no output yet: run a test to see its value"
        )


def template_preview(
    source: str, *, mode: Mode, trigger: Any, steps: Mapping[str, Any]
) -> dict[str, Any]:
    """``{"ok": True, "text", "truncated"}`` (a value that is not text is shown as JSON),
    or ``{"ok": False, "error"}`` when it fails as a run would (the message says why)."""
    names = {"event": {"trigger": trigger, "steps": _StepOutputs(steps)}, "secrets": _SecretNames()}
    try:
        if mode == "expression":
            value: Any = evaluate(source, names)
        else:
            value = render(source, names, html=mode == "html")
    except TemplateProblem as exc:
        return {"ok": False, "error": str(exc)}
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return {"ok": True, "text": text[:MAX_SHOWN_CHARS], "truncated": len(text) > MAX_SHOWN_CHARS}
