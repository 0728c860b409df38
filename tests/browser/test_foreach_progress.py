"""A for-each on the run page and in the designer: its progress comes live from
step.progress frames (on the step and on the canvas's loop), its items page through 50 at
a time, an item opens on its own page with its steps and a link back, and the designer's
Runs tab lists the loop's run, never its items. The items are rows made here, and the
frames published here: whatever the engine does, this is what the pages show of it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from playwright.sync_api import BrowserContext, Page, expect

from runtime.live import publish
from runtime.models import Run, StepRun
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.runtime.loops import loop_run

pytestmark = pytest.mark.django_db(transaction=True)


def send_progress(run: Run, *, total: int, done: int, failed: int, running: int) -> None:
    """Do what the engine does as items move: store the loop step's counters and send the
    progress frame, once a page listens to the run (its socket is in the run's group;
    channels_redis keeps a group's channels in a sorted set), so the frame cannot be lost
    before the page subscribed, nor undone by the page's next read of the API."""
    StepRun.objects.filter(run=run, node_id="loop").update(
        items_total=total, items_started=done + running, items_done=done, items_failed=failed
    )
    progress = {"total": total, "done": done, "failed": failed, "running": running}
    group = f"asgi:group:{publish.run_group(run.pk)}"
    broker = redis.Redis.from_url(settings.REDIS_URL)
    deadline = time.monotonic() + 15
    while not broker.zcard(group):
        assert time.monotonic() < deadline, "no page listens to the run"
        time.sleep(0.05)
    frame: dict[str, Any] = {
        "type": "step.progress",
        "run_id": run.pk,
        "step_id": run.steps.get(node_id="loop").pk,
        "node_id": "loop",
        "progress": progress,
    }
    layer = get_channel_layer()
    assert layer is not None
    # From a thread of its own: Playwright's sync API keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(async_to_sync(layer.group_send), publish.run_group(run.pk), frame).result()


def test_a_loops_progress_items_and_item_pages(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    run = loop_run(team, items=120, failed={5, 61}, open_={119})
    log_in(context, server, team.viewer)
    page.goto(f"/runs/{run.pk}/")
    loop = page.locator('[data-step="loop"]')
    expect(loop.locator("[data-progress-text]")).to_have_text("119/120 done, 2 failed")
    expect(page.locator('[data-node-id="loop"] [data-progress]')).to_have_text("119/120 · 2 failed")

    # 120 items: three pages of at most 50 rows, in item order.
    rows = loop.locator("[data-items] tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_have_attribute("data-item", "0")
    loop.locator("[data-pager] a", has_text="3").click()
    expect(rows).to_have_count(20)
    expect(rows.first).to_have_attribute("data-item", "100")
    loop.get_by_role("link", name="Failed (2)").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("item 61 broke")

    # An item opens on its own page: its steps, and the way back to its loop.
    rows.nth(1).get_by_role("link").click()
    item = Run.objects.get(scope="loop", item_index=61)
    expect(page).to_have_url(f"{server.url}/runs/{item.pk}/")
    expect(page.locator("[data-item-of]")).to_have_text(
        f"Item 61 of step Each order of run #{run.pk}."
    )
    expect(page.locator('[data-step="double"] [data-step-logs]')).to_have_text("doubling 61")
    page.locator("[data-item-of]").get_by_role("link", name=f"run #{run.pk}").click()
    expect(page).to_have_url(f"{server.url}/runs/{run.pk}/")

    # Live: the engine's frames (here, by hand) move the step's bar and the canvas's label.
    page.wait_for_function("document.getElementById('run').dataset.connection === 'open'")
    send_progress(run, total=400, done=137, failed=3, running=10)
    expect(loop.locator("[data-progress-text]")).to_have_text("137/400 done, 3 failed")
    expect(page.locator('[data-node-id="loop"] [data-progress]')).to_have_text("137/400 · 3 failed")


def test_the_designers_runs_tab_lists_the_loops_run_not_its_items_and_shows_its_progress(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    run = loop_run(team, items=30, open_={29})
    log_in(context, server, team.editor)
    Designer(page).open(run.flow_id).tab("Runs")
    rows = page.locator(".tb-runs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", str(run.pk))
    # Shown on the canvas, the loop says how far its items are, from the API and live.
    page.get_by_role("button", name=f"Show run {run.pk} on the canvas").click()
    label = page.locator('[data-node-id="loop"] [data-progress]')
    expect(label).to_have_text("29/30")
    send_progress(run, total=40, done=37, failed=3, running=3)
    expect(label).to_have_text("37/40 · 3 failed")
