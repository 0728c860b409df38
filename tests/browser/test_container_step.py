"""A container image in the designer: "Container image" comes from the palette, its image is
picked by name from the workspace's registered images, the test run runs it (stdout is the
output, stderr the logs), the saved version records the digest, and once the name has been
registered again the panel says that saving will record the new one."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion
from runtime.models import Run
from tests.browser.conftest import Server
from tests.browser.test_waits import open_new_flow
from tests.conftest import Team
from tests.images import build_image, store_layout

pytestmark = pytest.mark.django_db(transaction=True)


def register(team: Team, where: Path, word: str) -> str:
    where.mkdir()
    script = (
        f"#!/bin/sh\ncat >/dev/null\necho 'pricing {word}' >&2\necho '{{\"price\": \"{word}\"}}'\n"
    )
    layout = build_image(where, {"/app/run": script}, entrypoint=["/app/run"])
    return str(store_layout(team.workspace, "pricing", layout).digest)


def test_an_image_is_picked_by_name_run_and_its_digest_recorded(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: object,
    tmp_path: Path,
) -> None:
    first = register(team, tmp_path / "one", "one")
    orders, designer = open_new_flow(page, context, server, team, "Pricing")
    step = designer.drag_from_palette("code.container", 380, 60)
    designer.connect("start", step)
    designer.select(step)
    picker = designer.field("image").locator("select")
    expect(picker.locator("option", has_text=f"pricing ({first[7:19]})")).to_have_count(1)
    picker.select_option("pricing")
    expect(designer.field("digest")).to_contain_text("set when the version is saved")

    designer.tab("Test run")
    designer.run_test()  # saves first, then runs
    designer.expect_status(step, "succeeded")
    run = Run.objects.get(flow=orders)
    assert run.steps.get(node_id=step).output == {"price": "one"}
    assert "pricing one" in run.steps.get(node_id=step).logs
    saved = FlowVersion.objects.filter(flow=orders).latest("number").graph
    (image_node,) = [n for n in saved["nodes"] if n["type"] == "code.container"]
    assert image_node["config"] == {"image": "pricing", "digest": first}

    second = register(team, tmp_path / "two", "two")
    page.reload()
    designer.wait_ready()
    designer.select(step)
    expect(designer.field("digest")).to_contain_text(first)
    expect(designer.field("image").get_by_role("status")).to_contain_text(
        f"pricing now points to {second[:19]}"
    )
