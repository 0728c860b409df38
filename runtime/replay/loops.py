"""Replays of loops: the item runs of a loop in a replay are replays too, each standing in
for the replayed run's item of the same index. Imported by the engine (runtime.engine.items),
so it imports nothing of the engine at module level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runtime.models import Run


def loop_replay(
    replay: dict[str, Any] | None, *, started_by_loop_run: bool
) -> dict[str, Any] | None:
    """What the items of a loop in a replay inherit: whose items they stand in for (the
    replayed run of the loop: the loop's own run's original, or, for a sibling item, the
    one it recorded) and which nodes act for real."""
    if replay is None:
        return None
    source = replay.get("of") if started_by_loop_run else replay.get("loop_of")
    return {"loop_of": source, "perform": replay.get("perform", []), "test": replay.get("test")}


def replay_items(
    loop: dict[str, Any] | None, scope: str, indices: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The replay spec of each item run of a replayed loop: what the original loop's item
    of the same index recorded (nothing when there was none)."""
    if loop is None:
        return {}
    originals: dict[int, Run] = {}
    if loop.get("loop_of"):
        for item in Run.objects.filter(
            parent_step__run_id=loop["loop_of"],
            parent_step__node_id=scope,
            item_index__in=list(indices),
        ).order_by("parent_round"):
            assert item.item_index is not None
            originals[item.item_index] = item  # the last round's wins
    from runtime.replay.start import recorded_of

    specs = {}
    for index in indices:
        original = originals.get(index)
        specs[index] = {
            "of": original.pk if original else None,
            "loop_of": loop.get("loop_of"),
            "recorded": recorded_of(original) if original else {},
            "perform": loop.get("perform", []),
            "test": loop.get("test"),
        }
    return specs
