"""The layout keeps its promises: designer reaches the runtime only through
runtime.services, every trigger kind is named ``trigger.<kind>`` (stored graphs know their
triggers by it), and nothing the product serves imports the benchmark."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from runtime.kinds.catalog import CATALOG

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
    return modules


def test_the_designer_reaches_the_runtime_only_through_its_services() -> None:
    reached = {
        (str(path.relative_to(ROOT)), module)
        for path in ROOT.glob("designer/**/*.py")
        for module in imports_of(path)
        if module.startswith("runtime") and module != "runtime.services"
    }
    assert reached == set()


def test_trigger_kinds_and_only_they_are_named_trigger_dot() -> None:
    for type_name, kind in CATALOG.items():
        assert type_name.startswith("trigger.") is (kind.category == "trigger"), type_name


def test_nothing_the_product_serves_imports_the_benchmark() -> None:
    script = (
        "import sys, django; django.setup()\n"
        "import config.asgi, config.urls, runtime.tasks, runtime.engine.scheduler\n"
        "import runtime.triggers.queue.supervisor\n"
        "from django.urls import get_resolver; get_resolver().url_patterns\n"
        "print(sorted(m for m in sys.modules if m.startswith('runtime.benchmark')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
