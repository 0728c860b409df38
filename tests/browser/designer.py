"""The designer page as tests use it: real mouse drags and key presses, nothing injected."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Locator, Page, expect

# A node's (first) output handle: every step also has an "error" output, for error paths.
OUTPUT = '.react-flow__handle.source:not([data-handleid="error"])'


class Designer:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self, flow_id: int) -> Designer:
        self.page.goto(f"/flows/{flow_id}/")
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        expect(self.page.locator(".tb-palette, .tb-canvas .react-flow").first).to_be_visible()
        expect(self.page.locator(".tb-loading")).to_have_count(0)

    # --- Canvas -----------------------------------------------------------------------
    def node(self, node_id: str) -> Locator:
        return self.page.locator(f'.react-flow__node[data-id="{node_id}"]')

    def node_ids(self) -> list[str]:
        return self.page.locator(".react-flow__node").evaluate_all(
            "nodes => nodes.map(n => n.dataset.id)"
        )

    def drag_from_palette(self, kind: str, x: float, y: float) -> str:
        """Drag a palette item onto the canvas at (x, y) of the canvas; returns the new id."""
        before = set(self.node_ids())
        item = self.page.locator(f'.tb-palette-item[data-kind="{kind}"]')
        item.scroll_into_view_if_needed()
        box = item.bounding_box()
        canvas = self.page.locator(".tb-canvas").bounding_box()
        assert box and canvas
        mouse = self.page.mouse
        mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        mouse.down()
        mouse.move(box["x"] + box["width"] / 2 + 20, box["y"] + box["height"] / 2, steps=3)
        mouse.move(canvas["x"] + x, canvas["y"] + y, steps=8)
        mouse.up()
        self.page.wait_for_function(
            "n => document.querySelectorAll('.react-flow__node').length > n", arg=len(before)
        )
        (added,) = set(self.node_ids()) - before
        return added

    def connect(self, source: str, target: str, handle: str | None = None) -> None:
        """Drag from the source node's output handle (``handle``: a named one, e.g. "true"
        or "error") to the target's input handle."""
        selector = OUTPUT
        if handle:
            selector = f'.react-flow__handle.source[data-handleid="{handle}"]'
        start = self.node(source).locator(selector).bounding_box()
        end = self.node(target).locator(".react-flow__handle.target").bounding_box()
        assert start and end
        mouse = self.page.mouse
        mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
        mouse.down()
        mouse.move(end["x"] - 30, end["y"] + end["height"] / 2, steps=6)
        mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=4)
        mouse.up()
        edge = f'.react-flow__edge[data-id="{source}->{target}{":" + handle if handle else ""}"]'
        expect(self.page.locator(edge)).to_have_count(1)

    def select(self, node_id: str) -> None:
        self.node(node_id).locator(".tb-name").click()
        expect(self.page.locator(f'.tb-node-panel[data-node="{node_id}"]')).to_be_visible()

    # --- Side panel ---------------------------------------------------------------------
    def field(self, name: str) -> Locator:
        return self.page.locator(f'.tb-node-panel [data-field="{name}"]')

    def type_into(self, name: str, text: str) -> None:
        control = self.field(name).locator("input, textarea, select").first
        control.click()
        control.fill("")
        control.type(text)

    def type_code(self, name: str, text: str) -> None:
        """Replace a CodeMirror field's text: select all, then insert (as a paste would)."""
        editor = self.field(name).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(text)

    def tab(self, label: str) -> None:
        self.page.get_by_role("tab", name=label).click()

    # --- Toolbar --------------------------------------------------------------------------
    def save(self, message: str = "") -> None:
        self.page.get_by_role("button", name="Save", exact=True).click()
        dialog = self.page.get_by_test_id("save-dialog")
        expect(dialog).to_be_visible()
        if message:
            dialog.get_by_label("What changed?").fill(message)
        dialog.get_by_role("button", name="Save", exact=True).click()

    def save_by_keyboard(self, message: str) -> None:
        """Ctrl+S, type the message (the dialog focuses it), Enter."""
        self.page.keyboard.press("ControlOrMeta+s")
        expect(self.page.get_by_test_id("save-dialog")).to_be_visible()
        self.page.keyboard.type(message)
        self.page.keyboard.press("Enter")

    def expect_saved(self, number: int) -> None:
        expect(self.page.get_by_test_id("editing")).to_have_text(f"Editing v{number}")

    def set_payload(self, payload: Any) -> None:
        """The test input of a trigger other than a webhook (one JSON editor)."""
        self.tab("Test run")
        self._replace("#test-payload", json.dumps(payload, indent=2))

    def set_request(self, body: Any, **parts: Any) -> None:
        """A webhook's test request: the body, and any of method, query, headers."""
        self.tab("Test run")
        self._replace("#test-body", json.dumps(body, indent=2))
        if "method" in parts:
            self.page.get_by_label("Method", exact=True).select_option(parts["method"])
        for name in ("query", "headers"):
            if name in parts:
                summary = self.page.get_by_text("Query and headers", exact=True)
                if not self.page.locator(f"#test-{name}").is_visible():
                    summary.click()
                self._replace(f"#test-{name}", json.dumps(parts[name]))

    def _replace(self, editor_id: str, text: str) -> None:
        self.page.locator(f"{editor_id} .cm-content").click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(text)

    def run_test(self) -> None:
        """The test panel's run button ("Run test", or "Save and run test")."""
        self.page.get_by_test_id("run-test").click()

    def expect_status(self, node_id: str, status: str, timeout: float = 30_000) -> None:
        expect(self.node(node_id).locator(".tb-node")).to_have_attribute(
            "data-status", status, timeout=timeout
        )
