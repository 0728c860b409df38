"""The page never loses work: drafts survive a reload, and a stale save never overwrites."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, expect

from designer.models import Flow, FlowVersion
from designer.services import flow_version_save
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node

pytestmark = pytest.mark.django_db(transaction=True)


def two_nodes(team: Team) -> Flow:
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    shape = node("shape", "data.transform", "Shape", value=1) | {"position": {"x": 300, "y": 0}}
    steps = graph(start, shape, edges=[edge("start", "shape")])
    return flow(team.editor, team.workspace, "Drafts", steps)


def rename_shape(designer: Designer, name: str) -> None:
    designer.select("shape")
    designer.type_into("name", name)
    expect(designer.node("shape").locator(".tb-name")).to_have_text(name)


def test_unsaved_work_survives_a_reload_and_can_be_discarded(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    orders = two_nodes(team)
    log_in(context, server, team.editor)
    designer = Designer(page).open(orders.pk)
    rename_shape(designer, "Unsaved name")

    asked: list[str] = []

    def leave(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", leave)
    page.reload()
    designer.wait_ready()
    assert asked == ["beforeunload"]  # leaving asked first
    expect(page.get_by_text("Restored your unsaved changes")).to_be_visible()
    expect(designer.node("shape").locator(".tb-name")).to_have_text("Unsaved name")
    expect(page.get_by_test_id("editing")).to_contain_text("unsaved changes")

    page.get_by_role("button", name="Discard them").click()  # confirmed by `leave`
    expect(designer.node("shape").locator(".tb-name")).to_have_text("Shape")
    expect(page.get_by_test_id("editing")).to_have_text("Editing v1")
    page.reload()
    designer.wait_ready()
    expect(page.get_by_text("Restored your unsaved changes")).to_have_count(0)
    assert orders.versions.count() == 1


@pytest.mark.parametrize("choice", ["Load theirs", "Save mine on top"])
def test_a_stale_save_shows_who_saved_and_offers_both_choices(
    page: Page, context: BrowserContext, server: Server, team: Team, choice: str
) -> None:
    orders = two_nodes(team)
    log_in(context, server, team.editor)
    designer = Designer(page).open(orders.pk)

    # Meanwhile someone else saves version 2.
    theirs = FlowVersion.objects.get(flow=orders, number=1).graph
    theirs["nodes"][1]["name"] = "Their name"
    flow_version_save(flow=orders, user=team.admin, graph=theirs, message="Renamed", based_on=1)

    rename_shape(designer, "My name")
    designer.save("Mine")
    conflict = page.get_by_test_id("conflict-dialog")
    expect(conflict).to_contain_text("Version 2 was saved by alice")
    expect(conflict).to_contain_text("Renamed")

    page.once("dialog", lambda dialog: dialog.accept())
    conflict.get_by_role("button", name=choice).click()
    expect(conflict).to_have_count(0)
    if choice == "Load theirs":
        expect(designer.node("shape").locator(".tb-name")).to_have_text("Their name")
        expect(page.get_by_test_id("editing")).to_have_text("Editing v2")
        assert orders.versions.count() == 2
    else:
        designer.expect_saved(3)
        mine = FlowVersion.objects.get(flow=orders, number=3)
        assert (mine.message, mine.based_on) == ("Mine", 1)
        assert mine.graph["nodes"][1]["name"] == "My name"
