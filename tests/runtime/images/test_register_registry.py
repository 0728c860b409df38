"""Registering an image from a registry reference: the API answers 202 with a ``pulling``
image, the pull task makes it ready and current, or failed with a sentence saying what to
fix. Against a real docker-registry on 127.0.0.1 (with htpasswd auth for the credentials
cases). The task's body runs in the test here, one test runs it through a real worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.images.register import image_pull
from runtime.models import ContainerImage, ImageBlob
from runtime.services import secret_set
from tests.conftest import Team
from tests.images import LocalRegistry, local_registry, push
from tests.processes import free_port
from tests.runtime.images.helpers import (
    ENTRYPOINT,
    htpasswd,
    layout,
    manifest_size,
    multi_platform,
    push_all,
)
from tests.stack import MakeStack, wait_until

LOGIN = "ada:s3cret"


@dataclass
class Registries:
    open: LocalRegistry  # anyone may pull
    locked: LocalRegistry  # basic auth: ada / s3cret
    digests: dict[str, str]  # reference -> manifest digest, as pushed
    sizes: dict[str, int]  # reference -> its config's and layers' sizes


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registries]:
    where = tmp_path_factory.mktemp("registries")
    images = {
        "team/fn:1": layout(where / "fn1"),
        "team/fn:2": layout(where / "fn2", files={"/app/version": "2"}),
        "team/arm:1": layout(where / "arm", architecture="arm64"),
        "team/bare:1": layout(where / "bare", entrypoint=[]),
    }
    both = multi_platform(where / "both", images["team/arm:1"], images["team/fn:2"])
    arm_only = multi_platform(where / "arm-only", images["team/arm:1"])
    with (
        local_registry(where / "open") as open_registry,
        local_registry(where / "locked", htpasswd=htpasswd("ada", "s3cret")) as locked,
    ):
        for name, oci in images.items():
            push(oci, f"{open_registry.host}/{name}")
        push(images["team/fn:1"], f"{locked.host}/team/fn:1", LOGIN)
        push_all(both, f"{open_registry.host}/team/multi:1")
        push_all(arm_only, f"{open_registry.host}/team/multi:arm")
        digests = {name: _digest(oci) for name, oci in images.items()}
        sizes = {name: manifest_size(oci) for name, oci in images.items()}
        yield Registries(open_registry, locked, digests, sizes)


def _digest(oci: Path) -> str:
    return str(json.loads((oci / "index.json").read_text())["manifests"][0]["digest"])


@pytest.fixture(autouse=True)
def _insecure(settings: SettingsWrapper, registries: Registries) -> None:
    settings.TRIBUTARY_IMAGE_INSECURE_REGISTRIES = [registries.open.host, registries.locked.host]


def register(team: Team, reference: str, name: str = "pricing", **extra: Any) -> Any:
    body = {"workspace": team.workspace.pk, "name": name, "reference": reference} | extra
    return team.client(team.admin).post("/api/images/", body, format="json")


def pulled(team: Team, reference: str, name: str = "pricing", **extra: Any) -> ContainerImage:
    """Register ``reference`` and run the pull task's body, as a worker would."""
    response = register(team, reference, name, **extra)
    assert response.status_code == 202, response.content
    assert (response.json()["status"], response.json()["current"]) == ("pulling", False)
    image_pull(response.json()["id"])
    return ContainerImage.objects.get(pk=response.json()["id"])


def assert_failed(image: ContainerImage, error: str) -> None:
    assert (image.status, image.error, image.current) == ("failed", error, False)
    assert (image.digest, image.blobs) == ("", [])
    assert not ContainerImage.objects.filter(current=True).exists()
    assert not ImageBlob.objects.exists()


def test_a_pulled_image_becomes_ready_and_current(team: Team, registries: Registries) -> None:
    image = pulled(team, f"{registries.open.host}/team/fn:1")
    assert (image.status, image.current, image.error) == ("ready", True, "")
    assert image.digest == registries.digests["team/fn:1"]
    assert image.config["entrypoint"] == ENTRYPOINT
    assert image.blobs[0]["digest"] == image.digest
    assert set(ImageBlob.objects.values_list("digest", flat=True)) == {
        blob["digest"] for blob in image.blobs
    }
    shown = team.client(team.viewer).get(f"/api/images/{image.pk}/").json()
    assert (shown["status"], shown["source"], shown["digest"]) == (
        "ready",
        "registry",
        image.digest,
    )


def test_a_reference_by_digest_is_pulled(team: Team, registries: Registries) -> None:
    digest = registries.digests["team/fn:1"]
    image = pulled(team, f"{registries.open.host}/team/fn@{digest}")
    assert (image.status, image.digest) == ("ready", digest)


def test_credentials_come_from_a_workspace_secret(team: Team, registries: Registries) -> None:
    secret_set(workspace=team.workspace, name="REGISTRY_LOGIN", value=LOGIN, user=team.admin)
    image = pulled(team, f"{registries.locked.host}/team/fn:1", credentials_secret="REGISTRY_LOGIN")
    assert (image.status, image.credentials_secret) == ("ready", "REGISTRY_LOGIN")


def test_wrong_credentials_fail_naming_the_secret(team: Team, registries: Registries) -> None:
    secret_set(workspace=team.workspace, name="REGISTRY_LOGIN", value="ada:nope", user=team.admin)
    image = pulled(team, f"{registries.locked.host}/team/fn:1", credentials_secret="REGISTRY_LOGIN")
    assert_failed(image, "The registry refused the credentials in secret REGISTRY_LOGIN.")


def test_a_registry_that_asks_for_credentials_says_so(team: Team, registries: Registries) -> None:
    image = pulled(team, f"{registries.locked.host}/team/fn:1")
    assert_failed(
        image,
        f"The registry {registries.locked.host} asks for credentials: store username:password "
        "in a workspace secret and name it as the credentials secret.",
    )


def test_an_unknown_tag_fails(team: Team, registries: Registries) -> None:
    image = pulled(team, f"{registries.open.host}/team/x:9")
    assert_failed(image, "The registry has no image team/x:9.")


def test_an_unreachable_registry_fails(team: Team, settings: SettingsWrapper) -> None:
    port = free_port()  # nothing listens there
    settings.TRIBUTARY_IMAGE_INSECURE_REGISTRIES = [f"127.0.0.1:{port}"]
    image = pulled(team, f"127.0.0.1:{port}/team/fn:1")
    assert_failed(image, f"Could not reach registry 127.0.0.1:{port}: connection refused.")


def test_a_plain_http_registry_not_listed_as_insecure_fails_saying_so(
    team: Team, registries: Registries, settings: SettingsWrapper
) -> None:
    settings.TRIBUTARY_IMAGE_INSECURE_REGISTRIES = []
    image = pulled(team, f"{registries.open.host}/team/fn:1")
    assert_failed(
        image,
        f"The registry {registries.open.host} answers over plain HTTP: add it to "
        "TRIBUTARY_IMAGE_INSECURE_REGISTRIES if that is intended.",
    )


def test_an_image_for_another_architecture_fails(team: Team, registries: Registries) -> None:
    image = pulled(team, f"{registries.open.host}/team/arm:1")
    assert_failed(
        image, "The image is for arm64; this server runs amd64 images. Build it for linux/amd64."
    )


def test_an_image_without_entrypoint_fails(team: Team, registries: Registries) -> None:
    image = pulled(team, f"{registries.open.host}/team/bare:1")
    assert_failed(
        image, "The image has no entrypoint or command: set ENTRYPOINT in its Dockerfile."
    )


def test_an_image_over_the_cap_fails_before_its_layers_are_downloaded(
    team: Team, registries: Registries, settings: SettingsWrapper
) -> None:
    settings.TRIBUTARY_IMAGE_MAX_MB = 1  # the busybox layer alone is a little over 1 MB
    image = pulled(team, f"{registries.open.host}/team/fn:1")
    # The sizes of the manifest's config and layers: what the registry lists, not a layout.
    size = registries.sizes["team/fn:1"] / (1024 * 1024)
    assert 1 < size < 2
    assert_failed(
        image,
        f"The image's layers are {size:.2f} MB as the registry lists them; the limit is 1 MB "
        "(TRIBUTARY_IMAGE_MAX_MB).",
    )


def test_a_multi_platform_image_is_pulled_for_this_machine(
    team: Team, registries: Registries
) -> None:
    image = pulled(team, f"{registries.open.host}/team/multi:1")
    assert (image.status, image.error) == ("ready", "")
    assert image.digest == registries.digests["team/fn:2"]  # the amd64 one
    assert image.config["architecture"] == "amd64"


def test_a_multi_platform_image_without_this_machines_platform_fails(
    team: Team, registries: Registries
) -> None:
    image = pulled(team, f"{registries.open.host}/team/multi:arm")
    assert_failed(
        image,
        "The image has no variant for linux/amd64, the platform this server runs (it has "
        "linux/arm64). Build it for linux/amd64.",
    )


def test_registering_a_name_again_moves_current(team: Team, registries: Registries) -> None:
    first = pulled(team, f"{registries.open.host}/team/fn:1")
    second = pulled(team, f"{registries.open.host}/team/fn:2")
    first.refresh_from_db()
    assert (first.status, first.current) == ("ready", False)
    assert (second.status, second.current) == ("ready", True)
    assert first.digest != second.digest
    # A failed pull of the name leaves the current image where it was.
    third = pulled(team, f"{registries.open.host}/team/fn:9")
    assert third.status == "failed"
    assert ContainerImage.objects.get(current=True).pk == second.pk
    listed = team.client(team.editor).get(f"/api/images/?workspace={team.workspace.pk}").json()
    assert listed[0]["id"] == second.pk  # current first
    assert {row["id"] for row in listed} == {first.pk, second.pk, third.pk}


def test_the_task_is_safe_to_run_twice(team: Team, registries: Registries) -> None:
    image = pulled(team, f"{registries.open.host}/team/fn:1")
    blobs = ImageBlob.objects.count()
    image_pull(image.pk)
    image.refresh_from_db()
    assert (image.status, image.current) == ("ready", True)
    assert ImageBlob.objects.count() == blobs
    assert ContainerImage.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"reference": "not a reference"}, "reference", "The reference must look like"),
        ({"reference": "HOST/Team/x:1"}, "reference", "The reference must look like"),
        ({"name": "Pricing"}, "name", "An image name is lowercase letters"),
        (
            {"credentials_secret": "MISSING"},
            "credentials_secret",
            "The secret MISSING is not set in this workspace",
        ),
        (
            {"credentials_secret": "NO_COLON"},
            "credentials_secret",
            "The secret NO_COLON must hold the registry's username:password.",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    team: Team, registries: Registries, extra: dict[str, str], field: str, message: str
) -> None:
    secret_set(workspace=team.workspace, name="NO_COLON", value="token-only", user=team.admin)
    body = {"reference": f"{registries.open.host}/team/fn:1"} | extra
    response = register(team, **body)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["detail"].startswith(message)
    assert not ContainerImage.objects.exists()


def test_only_admins_register_and_outsiders_learn_nothing(
    team: Team, registries: Registries
) -> None:
    body = {"workspace": team.workspace.pk, "name": "p", "reference": "example.com/a:1"}
    editor = team.client(team.editor).post("/api/images/", body, format="json")
    assert (editor.status_code, editor.json()["detail"]) == (
        403,
        "Only workspace admins manage images.",
    )
    assert team.client(team.outsider).post("/api/images/", body, format="json").status_code == 404
    assert not ContainerImage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_worker_pulls_it_with_the_secrets_credentials(
    team: Team, registries: Registries, make_stack: MakeStack
) -> None:
    hosts = f"{registries.open.host},{registries.locked.host}"
    make_stack(TRIBUTARY_IMAGE_INSECURE_REGISTRIES=hosts).start_worker(concurrency=1)
    secret_set(workspace=team.workspace, name="REGISTRY_LOGIN", value=LOGIN, user=team.admin)
    response = register(
        team, f"{registries.locked.host}/team/fn:1", credentials_secret="REGISTRY_LOGIN"
    )
    assert response.status_code == 202
    url = f"/api/images/{response.json()['id']}/"
    client = team.client(team.viewer)
    shown = wait_until(
        lambda: (data := client.get(url).json())["status"] != "pulling" and data,
        "the pull",
    )
    assert (shown["status"], shown["current"], shown["error"]) == ("ready", True, "")
    assert shown["digest"] == registries.digests["team/fn:1"]
