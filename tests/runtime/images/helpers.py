"""Images and archives for the registration tests, built with tests/images.py (umoci,
skopeo), and the checks every refusal shares: nothing of the image was stored."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import bcrypt
from rest_framework.test import APIClient

from runtime.models import ContainerImage, ImageBlob
from tests.images import archive, build_image

INDEX = "application/vnd.oci.image.index.v1+json"
RUN = "#!/bin/sh\necho hello from the image\n"
ENTRYPOINT = ["/app/run.sh"]


def layout(where: Path, **options: Any) -> Path:
    """An OCI layout of busybox plus /app/run.sh, its entrypoint unless ``options`` say."""
    files = {"/app/run.sh": RUN} | options.pop("files", {})
    options.setdefault("entrypoint", ENTRYPOINT)
    return build_image(where, files, **options)


def docker_archive(where: Path, **options: Any) -> Path:
    return archive(layout(where, **options), where / "image.tar")


def gzipped(tar: Path) -> Path:
    target = tar.with_name(tar.name + ".gz")
    with tar.open("rb") as source, gzip.open(target, "wb") as sink:
        shutil.copyfileobj(source, sink)
    return target


def oci_archive(where: Path, **options: Any) -> Path:
    return archive(layout(where, **options), where / "image-oci.tar", "oci-archive")


def tar_of(folder: Path, target: Path) -> Path:
    """``folder``'s content as a tar (an OCI layout tar, as ``tar cf x.tar -C folder .``)."""
    with tarfile.open(target, "w") as tar:
        tar.add(folder, arcname=".")
    return target


def corrupt_a_layer(oci_layout: Path) -> str:
    """Overwrite bytes in the first layer blob of ``oci_layout``; its digest."""
    index = json.loads((oci_layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].removeprefix("sha256:")
    manifest = json.loads((oci_layout / "blobs" / "sha256" / manifest_digest).read_bytes())
    digest = manifest["layers"][0]["digest"]
    blob = oci_layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 16] = b"corrupted bytes!"
    blob.write_bytes(bytes(data))
    return digest


def upload(
    client: APIClient, workspace_id: int, name: str, path: Path, description: str = ""
) -> Any:
    with path.open("rb") as handle:
        return client.post(
            "/api/images/upload/",
            {
                "workspace": workspace_id,
                "name": name,
                "description": description,
                "archive": handle,
            },
            format="multipart",
        )


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def assert_nothing_registered(blobs_before: int = 0) -> None:
    """No image became ready or current, and no blob was stored."""
    assert not ContainerImage.objects.filter(status=ContainerImage.Status.READY).exists()
    assert not ContainerImage.objects.filter(current=True).exists()
    assert ImageBlob.objects.count() == blobs_before


def multi_platform(where: Path, *layouts: Path) -> Path:
    """One OCI layout holding an image index (tagged ``multi``) over the images of
    ``layouts``, each with the platform its config names: what ``docker buildx`` pushes."""
    merged = where / "multi"
    (merged / "blobs" / "sha256").mkdir(parents=True)
    (merged / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    entries = []
    for source in layouts:
        for blob in (source / "blobs" / "sha256").iterdir():
            shutil.copy(blob, merged / "blobs" / "sha256" / blob.name)
        entry = json.loads((source / "index.json").read_text())["manifests"][0]
        manifest = json.loads(_blob(source, entry["digest"]))
        config = json.loads(_blob(source, manifest["config"]["digest"]))
        platform = {"os": config["os"], "architecture": config["architecture"]}
        entries.append(
            {key: entry[key] for key in ("mediaType", "digest", "size")} | {"platform": platform}
        )
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}).encode()
    digest = "sha256:" + hashlib.sha256(index).hexdigest()
    (merged / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(index)
    top = {"mediaType": INDEX, "digest": digest, "size": len(index)}
    top["annotations"] = {"org.opencontainers.image.ref.name": "multi"}
    (merged / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return merged


def push_all(oci_layout: Path, reference: str) -> None:
    """Push the index tagged ``multi`` with every image it names (skopeo copy --all)."""
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--all",
            "--dest-tls-verify=false",
            f"oci:{oci_layout}:multi",
            f"docker://{reference}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def manifest_size(oci_layout: Path) -> int:
    """The sizes of the config and the layers the layout's manifest lists."""
    entry = json.loads((oci_layout / "index.json").read_text())["manifests"][0]
    manifest = json.loads(_blob(oci_layout, entry["digest"]))
    return int(sum(d["size"] for d in [manifest["config"], *manifest["layers"]]))


def _blob(oci_layout: Path, digest: str) -> bytes:
    return (oci_layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


def htpasswd(user: str, password: str) -> str:
    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}\n"
