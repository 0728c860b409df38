"""What a step read that was derived from a secret, so a viewer is never shown it.

Redacting a secret's exact value from what a run stores cannot stop its case changes,
reversals, encodings or a Basic-auth header built from it. So Tributary follows where
secrets flow instead: a step *uses secrets* when it read one (a template's
``secrets.NAME``, a code step's declared secrets) or read the output of an upstream step
that used secrets. Such a step's input, output, logs and error, and its run's output and
error, are shown to users below the editor role only as "hidden: uses secrets"
(runtime.disclosure); editors see them, with exact values still redacted.

Reads of upstream outputs are tracked by handing templates a ``ReadSteps`` mapping for
``event.steps``: looking up a node records it, and anything that walks the whole mapping
(iterating it, printing it, ``tojson``) records every node. A code step receives the whole
event, so it reads every upstream output. Connection passwords are not reads: they go to
the client library, never into a value a step can shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class ReadSteps(Mapping[str, Any]):
    """The upstream outputs a step may read, remembering which it did read."""

    def __init__(self, outputs: Mapping[str, Any]) -> None:
        self._outputs = dict(outputs)
        self.read: set[str] = set()

    def __getitem__(self, node_id: str) -> Any:
        value = self._outputs[node_id]
        self.read.add(node_id)
        return value

    def __iter__(self) -> Iterator[str]:
        self.read.update(self._outputs)  # walking the mapping may read any of it
        return iter(self._outputs)

    def __len__(self) -> int:
        return len(self._outputs)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._outputs  # whether a step produced output is not its value

    def __repr__(self) -> str:
        return repr(self.everything())

    def peek(self) -> Mapping[str, Any]:
        """The outputs, none recorded as read: for measuring them, never for showing them."""
        return self._outputs

    def everything(self) -> dict[str, Any]:
        """All outputs as a plain dict, all recorded as read."""
        self.read.update(self._outputs)
        return dict(self._outputs)


def plain(value: Any) -> Any:
    """``value`` with every ReadSteps inside it turned into a plain dict (recorded as read
    in full), so what a template evaluates to can be stored as JSON."""
    if isinstance(value, ReadSteps):
        return value.everything()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def json_default(value: Any) -> Any:
    """For ``json.dumps(default=...)``: a ReadSteps is written as its (read) dict."""
    if isinstance(value, ReadSteps):
        return value.everything()
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def steps_read(steps: Any) -> set[str]:
    """The nodes whose outputs were read from ``event["steps"]``: all of them unless it is
    a ReadSteps (an untracked mapping may have been read in full)."""
    if isinstance(steps, ReadSteps):
        return set(steps.read)
    return set(steps or ())
