"""Reading the OCI image layout skopeo writes (``oci:DIR:img``): index.json names the
manifest, the manifest names the config and the layers. The manifest is kept byte for byte:
its sha256 is the image's digest, which flow versions record and workers run.

Everything here distrusts the layout: digests are checked for their form before they become
paths, and the manifest's and config's bytes against their digests before they are parsed.
The layers' bytes are checked by ``store.blob_put`` as they are stored."""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.images.errors import ImageRefused, max_bytes, over_the_cap
from runtime.images.store import digest_of

TAG = "img"  # the name skopeo gives the image in the layouts made here
REF_NAME = "org.opencontainers.image.ref.name"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# Python's platform.machine() -> the OCI architecture (Go's GOARCH).
ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# The manifest and the config are read into memory: no real one comes near this.
MAX_METADATA_BYTES = 4 * 1024 * 1024
MISMATCH = (
    "The image's {what} blob {digest} does not match its digest (digest mismatch): the "
    "image is corrupted; save or push it again."
)


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    media_type: str
    path: Path

    def as_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "size": self.size, "media_type": self.media_type}


@dataclass(frozen=True)
class Image:
    """An image read from a layout: ``blobs`` are the manifest, the config, then the layers."""

    digest: str
    config: dict[str, Any]
    blobs: list[Blob]

    @property
    def size(self) -> int:
        return sum(blob.size for blob in self.blobs)


def host_architecture() -> str:
    machine = platform.machine().lower()
    return ARCHITECTURES.get(machine, machine)


def layout_read(root: Path) -> Image:
    """The image ``img`` of the layout at ``root``; ImageRefused naming what is wrong."""
    index = _json(root / "index.json", "index.json")
    entry = _manifest_entry(index)
    manifest_blob = _blob(root, entry, "manifest")
    manifest = _json_blob(manifest_blob, "manifest")
    if manifest.get("mediaType", MANIFEST_TYPE) != MANIFEST_TYPE:
        raise ImageRefused(f"The image's manifest is a {manifest.get('mediaType')}, not an image.")
    config_blob = _blob(root, manifest.get("config"), "config")
    config = _json_blob(config_blob, "config")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise ImageRefused("The image's manifest lists no layers.")
    blobs = [manifest_blob, config_blob]
    blobs += [_blob(root, layer, "layer", check=False) for layer in layers]
    return Image(digest=manifest_blob.digest, config=summary(config), blobs=blobs)


def image_check(image: Image) -> None:
    """Refuse an image this server cannot run, or one over the size cap."""
    config = image.config
    if config["os"] != "linux":
        raise ImageRefused(
            f"The image is for {config['os'] or 'no operating system'}; this server runs linux "
            "images."
        )
    host = host_architecture()
    if config["architecture"] != host:
        raise ImageRefused(
            f"The image is for {config['architecture'] or 'no architecture'}; this server runs "
            f"{host} images. Build it for linux/{host}."
        )
    if not config["entrypoint"] and not config["cmd"]:
        raise ImageRefused(
            "The image has no entrypoint or command: set ENTRYPOINT in its Dockerfile."
        )
    if image.size > max_bytes():
        raise ImageRefused(over_the_cap("The image", image.size))


def summary(config: dict[str, Any]) -> dict[str, Any]:
    """What a worker needs of the image's config blob (the OCI image config)."""
    run = config.get("config") or {}
    if not isinstance(run, dict):
        run = {}
    return {
        "entrypoint": _strings(run.get("Entrypoint")),
        "cmd": _strings(run.get("Cmd")),
        "env": _strings(run.get("Env")),
        "working_dir": _string(run.get("WorkingDir")),
        "user": _string(run.get("User")),
        "architecture": _string(config.get("architecture")),
        "os": _string(config.get("os")),
    }


def _manifest_entry(index: dict[str, Any]) -> dict[str, Any]:
    manifests = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
    named = [m for m in manifests if (m.get("annotations") or {}).get(REF_NAME) == TAG]
    found = named or manifests
    if len(found) != 1:
        raise ImageRefused("The converted image layout does not hold exactly one image.")
    return found[0]


def _blob(root: Path, descriptor: Any, what: str, *, check: bool = True) -> Blob:
    """The blob a descriptor names; with ``check``, its bytes are verified here."""
    if not isinstance(descriptor, dict) or not DIGEST.match(str(descriptor.get("digest", ""))):
        raise ImageRefused(f"The image's {what} is named by an invalid digest.")
    digest = descriptor["digest"]
    path = root / "blobs" / "sha256" / digest.removeprefix("sha256:")
    if not path.is_file():
        raise ImageRefused(f"The image's {what} blob {digest} is missing.")
    size = path.stat().st_size
    if descriptor.get("size") != size:
        raise ImageRefused(MISMATCH.format(digest=digest, what=what))
    if check and size > MAX_METADATA_BYTES:
        raise ImageRefused(f"The image's {what} is {size:,} bytes: too large to be one.")
    if check and digest_of(path) != digest:
        raise ImageRefused(MISMATCH.format(digest=digest, what=what))
    media_type = descriptor.get("mediaType") or ""
    return Blob(digest=digest, size=size, media_type=str(media_type)[:200], path=path)


def _json_blob(blob: Blob, what: str) -> dict[str, Any]:
    return _json(blob.path, f"The image's {what}")


def _json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        raise ImageRefused(f"{what} is not readable JSON.") from None
    if not isinstance(data, dict):
        raise ImageRefused(f"{what} is not a JSON object.")
    return data


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""
