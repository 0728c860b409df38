"""What changed between a replay and the run it replays, node by node: the status, the
output (a structural JSON diff), and, for a step that was simulated, what it would have sent
against what the original sent. A batch's summary counts the replays that differ at each
node and the fields that changed there."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.replay.simulate import NOT_SIMULATED, SAMPLE, SIMULATED

MAX_CHANGES = 50  # per node and aspect: a diff is read by a person
_MISSING = object()


def json_diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """The leaves that differ, as ``{"path", "before", "after"}`` (a side is left out where
    the value does not exist); paths read like ``items[2].price``."""
    changes: list[dict[str, Any]] = []
    _walk(before, after, path, changes)
    return changes[:MAX_CHANGES]


def _walk(before: Any, after: Any, path: str, changes: list[dict[str, Any]]) -> None:
    if len(changes) >= MAX_CHANGES:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys(), key=str):
            child = f"{path}.{key}" if path else str(key)
            _walk(before.get(key, _MISSING), after.get(key, _MISSING), child, changes)
        return
    if isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            _walk(
                before[index] if index < len(before) else _MISSING,
                after[index] if index < len(after) else _MISSING,
                f"{path}[{index}]",
                changes,
            )
        return
    if before is _MISSING and after is _MISSING:
        return
    if type(before) is type(after) and before == after:
        return
    change: dict[str, Any] = {"path": path or "(value)"}
    if before is not _MISSING:
        change["before"] = before
    if after is not _MISSING:
        change["after"] = after
    changes.append(change)


@dataclass
class NodeDiff:
    node: str
    change: str = "changed"  # "changed", "added" (no counterpart), "removed" (not reached)
    status: tuple[str, str] | None = None
    output: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # what it would have sent
    replay: str = ""  # simulated, sample, not_simulated; "" when it ran for real

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "change": self.change,
            "status": list(self.status) if self.status else None,
            "output": self.output,
            "sent": self.sent,
            "replay": self.replay,
        }

    @property
    def fields(self) -> list[str]:
        """What changed, for a summary: "status", output paths, "sent: <path>"."""
        named = ["status"] if self.status else []
        named += [change["path"] for change in self.output]
        named += [f"sent: {change['path']}" for change in self.sent]
        return named or [self.change]


def compare(
    recorded: Mapping[str, Mapping[str, Any]], steps: Mapping[str, Mapping[str, Any]]
) -> list[NodeDiff]:
    """The nodes where the replay's ``steps`` ({node: {status, output, input}}) differ from
    what the original ``recorded``; empty when the replay is identical."""
    diffs = []
    for node in sorted(recorded.keys() | steps.keys()):
        before, after = recorded.get(node), steps.get(node)
        if before is None or after is None:
            reached = after if before is None else before
            if reached and reached.get("status") not in ("skipped", "pending", "cancelled"):
                diffs.append(NodeDiff(node, change="added" if before is None else "removed"))
            continue
        found = _node_diff(node, before, after)
        if found is not None:
            diffs.append(found)
    return diffs


def _node_diff(node: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> NodeDiff | None:
    given = after.get("input")
    shown: Mapping[str, Any] = given if isinstance(given, dict) else {}
    replay = str(shown.get("replay", ""))
    diff = NodeDiff(node, replay=replay)
    if before.get("status") != after.get("status"):
        diff.status = (str(before.get("status")), str(after.get("status")))
    stood_in = replay in (SAMPLE, NOT_SIMULATED)  # no original output: it may differ
    if replay:
        diff.sent = json_diff(before.get("input"), shown.get("would_send"))
    if replay != SIMULATED:  # a simulated step's output is the original's, by construction
        diff.output = json_diff(before.get("output"), after.get("output"))
    if diff.status or diff.sent or diff.output or stood_in:
        return diff
    return None


@dataclass
class Summary:
    total: int
    finished: int = 0
    identical: int = 0
    differ: int = 0
    # node -> how many replays differ there, and which fields, how often
    by_node: dict[str, Counter[str]] = field(default_factory=dict)
    runs_at: Counter[str] = field(default_factory=Counter)

    def add(self, diffs: Iterable[NodeDiff]) -> None:
        self.finished += 1
        found = list(diffs)
        if not found:
            self.identical += 1
            return
        self.differ += 1
        for diff in found:
            self.runs_at[diff.node] += 1
            self.by_node.setdefault(diff.node, Counter()).update(diff.fields)

    def sentence(self, names: Mapping[str, str]) -> str:
        """ "183 of 200 identical; 17 differ at Build email (subject)"."""
        text = f"{self.identical} of {self.finished} identical"
        if self.finished < self.total:
            text = f"{self.finished} of {self.total} replayed: " + text
        parts = []
        for node, count in self.runs_at.most_common(3):
            fields = ", ".join(name for name, _ in self.by_node[node].most_common(3))
            parts.append(f"{count} differ at {names.get(node, node)} ({fields})")
        return "; ".join([text, *parts])

    def as_dict(self, names: Mapping[str, str]) -> dict[str, Any]:
        return {
            "total": self.total,
            "finished": self.finished,
            "identical": self.identical,
            "differ": self.differ,
            "nodes": {
                node: {"runs": self.runs_at[node], "fields": dict(self.by_node[node])}
                for node in self.runs_at
            },
            "summary": self.sentence(names),
        }
