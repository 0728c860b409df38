"""The Images page in the browser, on the real server and worker: an admin uploads a
docker save archive (a progress bar while it goes, the image ready in the list, the form
cleared), a refused file keeps what was typed, a registry pull that fails shows its reason
in the list without a reload (the list polls while pulling), and a viewer sees the list
only."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from runtime.models import ContainerImage
from tests.browser.conftest import ConsoleWatch, Server, log_in
from tests.conftest import Team
from tests.processes import free_port
from tests.runtime.images.helpers import docker_archive

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_uploads_an_archive_and_a_refused_one_keeps_the_form(
    team: Team,
    server: Server,
    context: BrowserContext,
    page: Page,
    console: ConsoleWatch,
    tmp_path: Path,
) -> None:
    console.expect_errors(r"status of 400 .*/images/upload/")  # the refused file, below
    log_in(context, server, team.admin)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Images").click()
    expect(page.get_by_role("heading", name="Images", level=1)).to_be_visible()
    expect(page.get_by_text("No images yet.")).to_be_visible()

    upload = page.locator("#upload-form")
    upload.get_by_label("Name", exact=True).fill("pricing")
    upload.get_by_label("Description").fill("Prices of the day")
    upload.get_by_label("Archive").set_input_files(str(docker_archive(tmp_path)))
    upload.get_by_role("button", name="Upload and register").click()
    expect(upload.get_by_role("status")).to_contain_text("Registered pricing (sha256:")
    image = ContainerImage.objects.get()
    row = page.locator(f'tr[data-image-id="{image.pk}"]')
    expect(row).to_contain_text("ready")
    expect(row).to_contain_text("current")
    expect(row).to_contain_text(image.digest[7:19])
    expect(row).to_contain_text("Prices of the day")
    expect(upload.get_by_label("Name", exact=True)).to_have_value("")  # cleared for the next one

    notes = tmp_path / "notes.tar"
    notes.write_bytes(b"not an image\n" * 50)
    upload.get_by_label("Name", exact=True).fill("notes")
    upload.get_by_label("Archive").set_input_files(str(notes))
    upload.get_by_role("button", name="Upload and register").click()
    expect(upload.get_by_role("alert")).to_have_text(
        "This file is not an image archive: expected what docker save, podman save or an "
        "OCI layout tar produce. (archive)"
    )
    expect(upload.get_by_label("Name", exact=True)).to_have_value("notes")
    assert ContainerImage.objects.count() == 1


def test_a_failed_pull_shows_its_reason_without_a_reload(
    team: Team, server: Server, context: BrowserContext, page: Page
) -> None:
    log_in(context, server, team.admin)
    page.goto("/images/")
    port = free_port()  # nothing listens there
    form = page.locator("#register-form")
    form.get_by_label("Name", exact=True).fill("pricing")
    form.get_by_label("Reference").fill(f"127.0.0.1:{port}/team/pricing:1")
    form.get_by_role("button", name="Pull and register").click()
    expect(form.get_by_role("status")).to_contain_text(
        f"Pulling pricing from 127.0.0.1:{port}/team/pricing:1"
    )
    image = ContainerImage.objects.get()
    row = page.locator(f'tr[data-image-id="{image.pk}"]')
    expect(row).to_be_visible()
    # The worker fails it; the list, polling every second while pulling, shows why.
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.get_by_role("alert")).to_have_text(
        f"Could not reach registry 127.0.0.1:{port}: connection refused."
    )
    expect(page.locator("#image-list[data-polling]")).to_have_count(0)  # polling stopped


def test_a_viewer_sees_the_list_without_the_forms(
    team: Team, server: Server, context: BrowserContext, page: Page
) -> None:
    ContainerImage.objects.create(
        workspace=team.workspace,
        name="pricing",
        source=ContainerImage.Source.REGISTRY,
        reference="registry.example.com/team/pricing:1",
        status=ContainerImage.Status.FAILED,
        error="The registry has no image team/pricing:1.",
    )
    log_in(context, server, team.viewer)
    page.goto("/images/")
    expect(page.locator('tbody[data-image-name="pricing"]')).to_contain_text(
        "The registry has no image team/pricing:1."
    )
    expect(page.locator("#register-form")).to_have_count(0)
    expect(page.locator("#upload-form")).to_have_count(0)
