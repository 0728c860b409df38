"""Compiling templates under the bounds (template_bounds).

Jinja's code generator writes a few operations as plain Python that no sandbox hook sees:
``~``, list/tuple/dict literals and slices; ``BoundedCodeGenerator`` sends them through the
environment. And since filters no longer run (and intercepted operators are never folded)
while a template compiles, compiling alone no longer finds ``{{ 9 ** (9 ** 7) }}``:
``constant_problem`` runs the constant parts of a template being saved, under the bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.environment import Environment, TemplateExpression

from runtime.kinds.template_bounds import TemplateLimitError, TemplateTooSlow, run


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, sending through the environment the few operations it writes
    as plain Python: ``~``, list/tuple/dict literals and slices."""

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_parts(context.eval_ctx.autoescape, (")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._checked(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._checked(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "load":  # not an assignment target: (a, b) = ...
            self._checked(super().visit_Tuple, node, frame)
        else:
            super().visit_Tuple(node, frame)

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if isinstance(node.arg, nodes.Slice):  # slices bypass environment.getitem
            self._checked(super().visit_Getitem, node, frame)
        else:
            super().visit_Getitem(node, frame)

    def _checked(self, visit: Callable[[Any, Frame], None], node: nodes.Node, frame: Frame) -> None:
        self.write("environment.checked(")
        visit(node, frame)
        self.write(")")


_WORK = (nodes.BinExpr, nodes.Concat, nodes.Filter, nodes.Call)
_CONSTANT = (
    *(nodes.Const, nodes.List, nodes.Tuple, nodes.Dict, nodes.Pair, nodes.Keyword),
    *(nodes.BinExpr, nodes.UnaryExpr, nodes.Compare, nodes.Operand, nodes.CondExpr),
    *(nodes.Concat, nodes.Filter, nodes.Test, nodes.Call, nodes.Getattr, nodes.Getitem),
    *(nodes.Slice, nodes.Name),
)


def constant_problem(
    env: Environment, tree: nodes.Node, ignore: tuple[type[BaseException], ...]
) -> str | None:
    """Run each constant part of ``tree`` that computes something (that names no variable,
    e.g. ``9 ** (9 ** 7) > 1`` or ``"x" | center(10 ** 9)``) under the bounds: what a bound
    reports, or None. Errors in ``ignore`` (1/0, a bad argument) are left for the run to
    report, as they always were."""
    hidden = {name.name for name in tree.find_all(nodes.Name) if name.ctx != "load"}
    hidden |= {macro.name for macro in tree.find_all(nodes.Macro)}
    roots: list[nodes.Expr] = []
    if _constant_roots(tree, set(env.globals) - hidden, roots) == (True, True):
        assert isinstance(tree, nodes.Expr)
        roots.append(tree)  # an expression constant as a whole
    for root in roots:
        body = [nodes.Assign(nodes.Name("result", "store"), root, lineno=root.lineno)]
        try:
            run(TemplateExpression(env.from_string(nodes.Template(body, lineno=1)), False))
        except (TemplateLimitError, TemplateTooSlow) as exc:
            return f"line {root.lineno}: {exc}"
        except ignore:
            continue
    return None


def _constant_roots(
    node: nodes.Node, names: set[str], roots: list[nodes.Expr]
) -> tuple[bool, bool]:
    """Whether ``node`` is constant and whether it computes; collects in ``roots`` its
    largest constant parts that compute."""
    children = list(node.iter_child_nodes())
    found = [_constant_roots(child, names, roots) for child in children]
    works = isinstance(node, _WORK) or any(child_works for _, child_works in found)
    if all(constant for constant, _ in found) and _is_constant(node, names):
        return True, works
    for child, (constant, child_works) in zip(children, found, strict=True):
        if constant and child_works and isinstance(child, nodes.Expr):
            roots.append(child)
    return False, works


def _is_constant(node: nodes.Node, names: set[str]) -> bool:
    if isinstance(node, nodes.Name):
        return node.ctx == "load" and node.name in names
    if isinstance(node, nodes.Filter) and node.node is None:  # a {% filter %} block
        return False
    return isinstance(node, _CONSTANT) and getattr(node, "ctx", "load") == "load"
