"""The chaos test's place in the suite: its long run only when asked for (its summary line
is printed by tests/conftest.py's terminal summary)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out tests marked ``long`` unless the -m expression names them (scripts/chaos
    runs ``-m long``): the normal suite must stay minutes, not hours."""
    if "long" in (config.option.markexpr or ""):
        return
    long = [item for item in items if item.get_closest_marker("long")]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if not item.get_closest_marker("long")]
