"""Reading images (API and page) as each persona, the page's forms, and the upload cap
enforced by the real ASGI server while the body arrives."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.images.register import image_register_upload
from runtime.models import ContainerImage, ImageBlob
from tests.conftest import Team
from tests.fakes import SmtpSink
from tests.openapi import token_for
from tests.processes import free_port, running, wait_for_http
from tests.runtime.images.helpers import docker_archive
from tests.stack import stack_env


def registered(
    team: Team, tmp_path: Path, name: str = "pricing", **options: object
) -> ContainerImage:
    return image_register_upload(
        workspace=team.workspace,
        name=name,
        description="Prices",
        upload_path=docker_archive(tmp_path / name, **options),
        user=team.admin,
    )


def test_every_member_lists_and_reads_the_images(team: Team, tmp_path: Path) -> None:
    image = registered(team, tmp_path)
    for who in (team.viewer, team.editor, team.admin):
        listed = team.client(who).get(f"/api/images/?workspace={team.workspace.pk}").json()
        assert [row["id"] for row in listed] == [image.pk]
        shown = team.client(who).get(f"/api/images/{image.pk}/").json()
        assert set(shown) == {
            "id", "workspace", "name", "description", "status", "error", "digest", "size",
            "source", "reference", "credentials_secret", "current", "config", "created_at",
            "created_by",
        }  # fmt: skip
        assert (shown["digest"], shown["workspace"]) == (image.digest, team.workspace.pk)


def test_an_outsider_sees_none_of_another_workspaces_images(team: Team, tmp_path: Path) -> None:
    image = registered(team, tmp_path)
    client = team.client(team.outsider)
    assert client.get("/api/images/").json() == []
    assert client.get(f"/api/images/?workspace={team.workspace.pk}").json() == []
    assert client.get(f"/api/images/{image.pk}/").status_code == 404
    page = client.get("/images/").content.decode()
    assert image.digest[7:19] not in page and "Prices" not in page and "data-image-name" not in page


def test_a_pulling_image_has_no_config_yet(team: Team) -> None:
    body = {"workspace": team.workspace.pk, "name": "p", "reference": "example.com/team/p:1"}
    created = team.client(team.admin).post("/api/images/", body, format="json").json()
    assert (created["status"], created["config"], created["digest"]) == ("pulling", None, "")


def test_admins_see_both_forms_and_others_only_the_list(team: Team, tmp_path: Path) -> None:
    registered(team, tmp_path)
    admin_page = team.client(team.admin).get("/images/").content.decode()
    assert 'id="register-form"' in admin_page and 'id="upload-form"' in admin_page
    assert "pricing" in admin_page and "ready" in admin_page
    viewer_page = team.client(team.viewer).get("/images/").content.decode()
    assert "register-form" not in viewer_page and "upload-form" not in viewer_page
    assert "pricing" in viewer_page


def test_the_page_lists_earlier_digests_under_the_current_one(team: Team, tmp_path: Path) -> None:
    old = registered(team, tmp_path / "1")
    new = registered(team, tmp_path / "2", files={"/app/version": "2"})
    page = team.client(team.viewer).get("/images/").content.decode()
    assert "1 earlier image of pricing" in page
    assert (
        page.index(new.digest[7:19]) < page.index("1 earlier image") < page.index(old.digest[7:19])
    )


def test_a_refused_registration_keeps_what_was_typed(team: Team) -> None:
    form = {
        "workspace": team.workspace.pk,
        "name": "pricing",
        "reference": "not a reference",
        "credentials_secret": "REGISTRY_LOGIN",
        "description": "Prices of the day",
    }
    # Without JavaScript: the page again, with the values and the problem.
    page = team.client(team.admin).post("/images/register/", form)
    assert page.status_code == 400
    body = page.content.decode()
    assert "The reference must look like" in body and "(reference)" in body
    for value in ('value="pricing"', 'value="not a reference"', 'value="REGISTRY_LOGIN"'):
        assert value in body
    # With htmx: the outcome line only (the form in the page is left as it is).
    line = team.client(team.admin).post("/images/register/", form, headers={"HX-Request": "true"})
    assert line.status_code == 400
    assert 'role="alert"' in line.content.decode() and "<form" not in line.content.decode()
    assert not ContainerImage.objects.exists()


def test_the_page_registers_and_polls_while_pulling(team: Team) -> None:
    form = {"workspace": team.workspace.pk, "name": "p", "reference": "example.com/team/p:1"}
    answer = team.client(team.admin).post("/images/register/", form, headers={"HX-Request": "true"})
    body = answer.content.decode()
    assert answer.status_code == 200
    assert "Pulling p from example.com/team/p:1" in body
    assert 'hx-swap-oob="true"' in body and 'hx-trigger="every 1s"' in body
    listed = team.client(team.viewer).get(
        "/images/", headers={"HX-Request": "true", "HX-Target": "image-list"}
    )
    assert listed.content.decode().lstrip().startswith('<section id="image-list"')
    assert "pulling" in listed.content.decode()


def test_only_admins_post_the_pages_forms(team: Team) -> None:
    form = {"workspace": team.workspace.pk, "name": "p", "reference": "example.com/team/p:1"}
    assert team.client(team.editor).post("/images/register/", form).status_code == 403
    assert team.client(team.outsider).post("/images/register/", form).status_code == 404
    assert not ContainerImage.objects.exists()


# --- The cap on the real ASGI server ------------------------------------------------------


@pytest.fixture(scope="module")
def small_cap_server(
    django_db_setup: None, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`manage.py serve` on the test database with a 1 MB image cap (no worker: uploads are
    handled in the request)."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = stack_env(smtp_sink.port, TRIBUTARY_IMAGE_MAX_MB="1")
    command = [sys.executable, "manage.py", "serve", "--port", str(port)]
    with running(command, env=env, log=log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/login/", process=server, log=log)
        yield f"http://127.0.0.1:{port}"


def _admin_token(team: Team) -> str:
    return token_for(team.admin)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_the_server_refuses_an_archive_over_the_cap_as_it_arrives(
    team: Team, small_cap_server: str, declared: bool
) -> None:
    boundary = "tributary-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="workspace"\r\n\r\n'
        f"{team.workspace.pk}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="name"\r\n\r\npricing\r\n--{boundary}\r\nContent-Disposition: form-data; '
        f'name="archive"; filename="big.tar"\r\nContent-Type: application/x-tar\r\n\r\n'
    ).encode()
    chunk = bytes(256 * 1024)

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(12):  # 3 MB of the archive: the cap is 1 MB
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    content: bytes | Iterator[bytes] = b"".join(body()) if declared else body()
    response = httpx.post(
        f"{small_cap_server}/api/images/upload/",
        content=content,
        headers={
            "Authorization": f"Token {_admin_token(team)}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        timeout=30,
    )
    assert response.status_code == 413
    # From the ASGI guard (runtime.images.receive), before Django read the body: it closes
    # the connection, since the rest of the body may still be on the wire.
    assert response.headers["connection"] == "close"
    assert response.json() == {
        "detail": "The archive is larger; the limit is 1 MB (TRIBUTARY_IMAGE_MAX_MB).",
        "errors": [
            {
                "field": "archive",
                "message": "The archive is larger; the limit is 1 MB (TRIBUTARY_IMAGE_MAX_MB).",
            }
        ],
    }
    assert not ContainerImage.objects.exists() and not ImageBlob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_server_takes_an_archive_under_the_cap_from_disk(
    team: Team, small_cap_server: str, tmp_path: Path
) -> None:
    # The cap is 1 MB: a small archive, not busybox; a tar that is no image is refused by
    # the view, which shows the upload reached it whole.
    small = tmp_path / "notes.tar"
    small.write_bytes(b"x" * 600 * 1024)
    with small.open("rb") as handle:
        response = httpx.post(
            f"{small_cap_server}/api/images/upload/",
            data={"workspace": str(team.workspace.pk), "name": "pricing"},
            files={"archive": ("notes.tar", handle, "application/x-tar")},
            headers={"Authorization": f"Token {_admin_token(team)}"},
            timeout=30,
        )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "archive",
            "message": "This file is not an image archive: expected what docker save, podman "
            "save or an OCI layout tar produce.",
        }
    ]
