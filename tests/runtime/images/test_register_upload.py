"""Registering an image by uploading an archive: what docker save, podman save (both
formats) and a tar of an OCI layout produce, gzip'd or not; and every file refused with a
sentence naming what to fix, storing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.images.store import blob_write
from runtime.models import ContainerImage, ImageBlob
from tests.conftest import Team
from tests.runtime.images.helpers import (
    ENTRYPOINT,
    assert_nothing_registered,
    corrupt_a_layer,
    docker_archive,
    gzipped,
    layout,
    oci_archive,
    sha256,
    tar_of,
    upload,
)

NOT_AN_ARCHIVE = (
    "This file is not an image archive: expected what docker save, podman save or an OCI "
    "layout tar produce."
)


def _refusal(response: object) -> tuple[int, str, str | None]:
    data = response.json()  # type: ignore[attr-defined]
    return response.status_code, data["detail"], data["errors"][0]["field"]  # type: ignore[attr-defined]


def test_a_docker_save_archive_becomes_the_names_ready_current_image(
    team: Team, tmp_path: Path
) -> None:
    tar = docker_archive(tmp_path, env=["GREETING=hi"], working_dir="/app")
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", tar, "Prices")
    assert response.status_code == 201, response.content
    body = response.json()
    image = ContainerImage.objects.get()
    assert body["id"] == image.pk
    assert (body["name"], body["description"], body["status"]) == ("pricing", "Prices", "ready")
    assert (body["source"], body["current"], body["created_by"]) == ("upload", True, "alice")
    assert body["config"]["entrypoint"] == ENTRYPOINT
    assert "GREETING=hi" in body["config"]["env"]
    assert (body["config"]["working_dir"], body["config"]["os"]) == ("/app", "linux")
    # The manifest first, its sha256 the digest; then the config; then the layer.
    manifest, config, *layers = image.blobs
    assert manifest["digest"] == image.digest == body["digest"]
    assert manifest["media_type"] == "application/vnd.oci.image.manifest.v1+json"
    assert config["media_type"] == "application/vnd.oci.image.config.v1+json"
    assert len(layers) == 1
    assert image.size == sum(blob["size"] for blob in image.blobs) == body["size"]
    # Every blob is stored and reads back to its digest.
    assert set(ImageBlob.objects.values_list("digest", flat=True)) == {
        blob["digest"] for blob in image.blobs
    }
    written = tmp_path / "manifest"
    assert blob_write(digest=image.digest, target=written) == manifest["size"]
    assert sha256(written) == image.digest


def test_a_gzipped_docker_archive_is_taken_too(team: Team, tmp_path: Path) -> None:
    tar = gzipped(docker_archive(tmp_path))
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", tar)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "ready"


def test_an_oci_archive_keeps_its_manifest_digest(team: Team, tmp_path: Path) -> None:
    tar = oci_archive(tmp_path / "a")
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", tar)
    assert response.status_code == 201, response.content
    # The same image as a tar of its OCI layout: byte for byte the same manifest.
    again = tar_of(layout(tmp_path / "b"), tmp_path / "layout.tar")
    assert upload(team.client(team.admin), team.workspace.pk, "other", again).status_code == 201
    image = ContainerImage.objects.get(name="pricing")
    assert response.json()["digest"] == image.digest
    assert image.config["entrypoint"] == ENTRYPOINT


def test_registering_a_name_again_moves_current_and_keeps_the_old_image(
    team: Team, tmp_path: Path
) -> None:
    client = team.client(team.admin)
    first = upload(client, team.workspace.pk, "pricing", docker_archive(tmp_path / "1")).json()
    second_tar = docker_archive(tmp_path / "2", files={"/app/version": "2"})
    second = upload(client, team.workspace.pk, "pricing", second_tar).json()
    assert first["digest"] != second["digest"]
    rows = {row.pk: row for row in ContainerImage.objects.filter(name="pricing")}
    assert (rows[first["id"]].current, rows[second["id"]].current) == (False, True)
    assert rows[first["id"]].status == "ready"
    # The same digest under the same name again: a new row, the blobs stored once.
    blobs = ImageBlob.objects.count()
    third = upload(client, team.workspace.pk, "pricing", second_tar).json()
    assert third["digest"] == second["digest"] and third["id"] != second["id"]
    assert ContainerImage.objects.get(current=True).pk == third["id"]
    assert ImageBlob.objects.count() == blobs


def test_a_file_that_is_no_tar_is_refused(team: Team, tmp_path: Path) -> None:
    junk = tmp_path / "notes.tar"
    junk.write_bytes(b"just some notes, not a tar\n" * 100)
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", junk)
    assert _refusal(response) == (400, NOT_AN_ARCHIVE, "archive")
    assert_nothing_registered()


def test_a_tar_without_an_image_is_refused(team: Team, tmp_path: Path) -> None:
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello")
    (folder / "index.json").write_text("{}")
    response = upload(
        team.client(team.admin), team.workspace.pk, "pricing", tar_of(folder, tmp_path / "x.tar")
    )
    assert _refusal(response) == (400, NOT_AN_ARCHIVE, "archive")
    assert_nothing_registered()


def test_an_image_without_entrypoint_or_command_is_refused(team: Team, tmp_path: Path) -> None:
    tar = docker_archive(tmp_path, entrypoint=[])
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", tar)
    assert _refusal(response) == (
        400,
        "The image has no entrypoint or command: set ENTRYPOINT in its Dockerfile.",
        "archive",
    )
    assert_nothing_registered()


def test_an_image_for_another_architecture_is_refused(team: Team, tmp_path: Path) -> None:
    tar = oci_archive(tmp_path, architecture="arm64")
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", tar)
    assert _refusal(response) == (
        400,
        "The image is for arm64; this server runs amd64 images. Build it for linux/amd64.",
        "archive",
    )
    assert_nothing_registered()


def test_an_archive_over_the_cap_is_refused_while_it_arrives(
    team: Team, tmp_path: Path, settings: SettingsWrapper
) -> None:
    settings.TRIBUTARY_IMAGE_MAX_MB = 1
    tar = docker_archive(tmp_path)  # about 2 MB
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", tar)
    assert _refusal(response) == (
        413,
        "The archive is larger; the limit is 1 MB (TRIBUTARY_IMAGE_MAX_MB).",
        "archive",
    )
    assert_nothing_registered()


def test_a_gzipped_archive_that_unpacks_past_the_cap_is_refused(
    team: Team, tmp_path: Path, settings: SettingsWrapper
) -> None:
    settings.TRIBUTARY_IMAGE_MAX_MB = 2
    # 4 MB of zeros: the gzip'd archive is about 1 MB, the tar inside about 6 MB.
    tar = gzipped(docker_archive(tmp_path, files={"/data/zeros": bytes(4 * 1024 * 1024)}))
    assert tar.stat().st_size < 2 * 1024 * 1024
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", tar)
    assert _refusal(response) == (
        413,
        "The archive, uncompressed, is larger; the limit is 2 MB (TRIBUTARY_IMAGE_MAX_MB).",
        "archive",
    )
    assert_nothing_registered()


def test_an_archive_with_a_corrupted_blob_is_refused_as_a_digest_mismatch(
    team: Team, tmp_path: Path
) -> None:
    oci = layout(tmp_path)
    corrupt_a_layer(oci)
    tar = tar_of(oci, tmp_path / "corrupted.tar")
    response = upload(team.client(team.admin), team.workspace.pk, "pricing", tar)
    status, detail, field = _refusal(response)
    assert (status, field) == (400, "archive")
    assert "digest mismatch" in detail and "corrupted" in detail
    assert_nothing_registered()


@pytest.mark.parametrize("name", ["Pricing", "-pricing", "pri cing", "x" * 101, ""])
def test_a_bad_name_is_refused_naming_the_field(team: Team, tmp_path: Path, name: str) -> None:
    junk = tmp_path / "x.tar"
    junk.write_bytes(b"x")
    response = upload(team.client(team.admin), team.workspace.pk, name, junk)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    assert_nothing_registered()


def test_only_admins_upload_and_outsiders_learn_nothing(team: Team, tmp_path: Path) -> None:
    tar = tmp_path / "x.tar"
    tar.write_bytes(b"x")
    editor = upload(team.client(team.editor), team.workspace.pk, "pricing", tar)
    assert editor.status_code == 403
    assert editor.json()["detail"] == "Only workspace admins manage images."
    assert upload(team.client(team.outsider), team.workspace.pk, "pricing", tar).status_code == 404
    assert not ContainerImage.objects.exists()
