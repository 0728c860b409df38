"""Every read of a user's data goes through designer.access and the selectors built on it:
no view, API module, template tag library, websocket consumer or admin module may query a
model manager itself (``Model.objects...``), the way Zulip lints for unchecked fetches.

The modules are found the way Django finds them — the URL resolver's views, the template
engine's tag libraries, the websocket routes' consumers, the admin site's registrations —
so a new page or consumer is guarded without anyone adding it here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from django.contrib import admin
from django.template import engines
from django.urls import URLPattern, URLResolver, get_resolver

from runtime.live.routing import websocket_urlpatterns

ROOT = Path(__file__).resolve().parent.parent
MANAGERS = {"objects", "_default_manager", "_base_manager"}

# What the API renders through (not reachable from the URL resolver by itself).
SERIALIZERS = ["designer.serializers", "runtime.http.serializers"]
# Modules allowed to query managers, each with its reason. Keep it short.
ALLOWED: dict[str, str] = {}


def manager_calls(source: str) -> list[tuple[int, str]]:
    """(line, expression) of every ``X.objects`` (or default/base manager) in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in MANAGERS:
            found.append((node.lineno, ast.unparse(node)))
    return found


def _ours(module: ModuleType | None) -> bool:
    path = getattr(module, "__file__", None) or ""
    if not path.startswith(str(ROOT)) or "site-packages" in path:  # a venv may live in ROOT
        return False
    return "/tests/" not in path and "/benchmark/" not in path


def _url_modules(patterns: list[Any]) -> Iterator[ModuleType]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_modules(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            callback = pattern.callback
            view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
            yield sys.modules[(view or inspect.unwrap(callback)).__module__]


def guarded_modules() -> dict[str, ModuleType]:
    """Views and API modules (with the serializers they render through), template tag
    libraries, websocket consumers and admin modules of this project."""
    modules: list[ModuleType] = list(_url_modules(get_resolver().url_patterns))
    modules += [importlib.import_module(name) for name in SERIALIZERS]
    libraries = engines["django"].engine.template_libraries  # type: ignore[attr-defined]
    modules += [sys.modules[library.__module__] for library in _library_modules(libraries)]
    modules += [
        sys.modules[route.callback.consumer_class.__module__] for route in websocket_urlpatterns
    ]
    modules += [sys.modules[type(model_admin).__module__] for model_admin in _admins()]
    return {module.__name__: module for module in modules if _ours(module)}


def _library_modules(libraries: dict[str, Any]) -> Iterator[Any]:
    for library in libraries.values():
        for function in [*library.tags.values(), *library.filters.values()]:
            yield inspect.unwrap(function)


def _admins() -> Iterator[admin.options.BaseModelAdmin[Any]]:
    for model_admin in admin.site._registry.values():
        yield model_admin
        yield from (inline(model_admin.model, admin.site) for inline in model_admin.inlines)


def test_no_view_api_tag_consumer_or_admin_queries_a_manager() -> None:
    modules = guarded_modules()
    offences = {
        name: calls
        for name, module in modules.items()
        if name not in ALLOWED and (calls := manager_calls(Path(module.__file__ or "").read_text()))
    }
    assert not offences, (
        f"Read users' data through designer.access or a selector, not a model manager: {offences}"
    )


def test_the_guard_sees_every_kind_of_surface() -> None:
    names = set(guarded_modules())
    assert {"designer.views", "designer.api", "runtime.http.views"} <= names  # pages, API
    assert {"runtime.http.api_runs", "runtime.http.api_secrets"} <= names
    assert {"runtime.http.charts", "runtime.http.run_tags"} <= names  # template tags
    assert "runtime.live.sockets" in names  # websocket consumers
    assert {"designer.admin", "runtime.admin"} <= names  # the admin


def test_the_guard_catches_a_bare_query() -> None:
    source = "def view(request, run_id):\n    return Run.objects.get(pk=run_id)\n"
    assert manager_calls(source) == [(2, "Run.objects")]
    assert manager_calls("flow = Flow._default_manager.first()") == [(1, "Flow._default_manager")]
    assert manager_calls("runs = run_list_for_user(user=user)") == []


def test_every_allowed_module_says_why_and_still_needs_it() -> None:
    modules = guarded_modules()
    for name, reason in ALLOWED.items():
        assert reason.strip(), name
        assert manager_calls(Path(modules[name].__file__ or "").read_text()), (
            f"{name} no longer queries a manager: remove it from ALLOWED"
        )
