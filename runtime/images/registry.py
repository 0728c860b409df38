"""Pulling an image from a registry with skopeo: the reference checked, the size and the
platform checked from ``skopeo inspect`` before any layer is downloaded, then ``skopeo copy``
into an OCI layout. What skopeo says when it fails becomes a sentence saying what to fix."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from runtime.images.errors import ImageRefused, max_bytes, over_the_cap
from runtime.images.layout import TAG, host_architecture
from runtime.images.skopeo import (
    SkopeoFailed,
    SkopeoTimeout,
    authfile,
    credential_options,
    skopeo,
)

DOCKER_HUB = "docker.io"
# The distribution reference grammar, less its rarities: [host[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_HOST = re.compile(
    r"^(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$"
)


@dataclass(frozen=True)
class Reference:
    text: str  # as given
    host: str  # host[:port], as credentials and TRIBUTARY_IMAGE_INSECURE_REGISTRIES name it
    path: str  # the repository, e.g. team/pricing
    tag: str
    digest: str

    @property
    def shown(self) -> str:
        """The repository and tag (or digest), as messages name it."""
        return f"{self.path}@{self.digest}" if self.digest else f"{self.path}:{self.tag}"

    @property
    def insecure(self) -> bool:
        return self.host in settings.TRIBUTARY_IMAGE_INSECURE_REGISTRIES


def reference_parse(text: str) -> Reference:
    """``registry.example.com/team/pricing:1.4`` or ``...@sha256:...``; without a host the
    image is on Docker Hub (``library/`` for one-part names), without a tag ``latest``."""
    invalid = ImageRefused(
        "The reference must look like registry.example.com/team/image:tag or "
        "registry.example.com/team/image@sha256:<digest>.",
        field="reference",
    )
    text = text.strip()
    host, _, rest = text.partition("/")
    if not rest or not ("." in host or ":" in host or host == "localhost"):
        host, rest = DOCKER_HUB, text
        if "/" not in rest.split(":")[0].split("@")[0]:
            rest = f"library/{rest}"
    if not _HOST.match(host):
        raise invalid
    match = _REFERENCE.match(rest)
    if match is None or len(text) > 500:
        raise invalid
    tag = match["tag"] or ("" if match["digest"] else "latest")
    return Reference(text, host, match["path"], tag, match["digest"] or "")


def registry_pull(
    *, reference: Reference, credentials: str | None, secret: str, workdir: Path
) -> Path:
    """Pull ``reference`` into an OCI layout under ``workdir`` and return its path;
    ImageRefused with a sentence saying what to fix. ``credentials`` is "user:password"
    read from the workspace secret named ``secret``."""
    source = f"docker://{reference.host}/{reference.path}"
    source += f"@{reference.digest}" if reference.digest else f":{reference.tag}"
    verify = "false" if reference.insecure else "true"
    layout = workdir / "layout"
    try:
        with authfile(workdir, reference.host, credentials) as auth:
            found = _inspect(source, verify, auth, workdir)
            _check_before_download(found)
            _run(
                "copy",
                "--quiet",
                f"--src-tls-verify={verify}",
                *credential_options(auth, "src-"),
                source,
                f"oci:{layout}:{TAG}",
                workdir=workdir,
            )
    except SkopeoFailed as exc:
        raise ImageRefused(problem(exc.message, reference, secret)) from None
    return layout


def _inspect(source: str, verify: str, auth: Path | None, workdir: Path) -> dict[str, Any]:
    out = _run(
        "inspect", f"--tls-verify={verify}", *credential_options(auth), source, workdir=workdir
    )
    try:
        found = json.loads(out)
    except ValueError:
        raise ImageRefused("The registry's answer about the image is not readable.") from None
    return found if isinstance(found, dict) else {}


def _check_before_download(found: dict[str, Any]) -> None:
    """The platform and the layers' size, as the registry declares them (the layout read
    afterwards is checked again: a registry may lie)."""
    system, architecture = found.get("Os") or "", found.get("Architecture") or ""
    host = host_architecture()
    if system and system != "linux":
        raise ImageRefused(f"The image is for {system}; this server runs linux images.")
    if architecture and architecture != host:
        raise ImageRefused(
            f"The image is for {architecture}; this server runs {host} images. "
            f"Build it for linux/{host}."
        )
    layers = found.get("LayersData") or []
    size = sum(int(layer.get("Size") or 0) for layer in layers if isinstance(layer, dict))
    if size > max_bytes():
        raise ImageRefused(over_the_cap("The image", size))


def _run(*args: str, workdir: Path) -> str:
    timeout = settings.TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS
    try:
        return skopeo(*args, workdir=workdir, timeout=timeout)
    except SkopeoTimeout:
        raise ImageRefused(
            f"Pulling took longer than {timeout} s (TRIBUTARY_IMAGE_PULL_TIMEOUT_SECONDS): "
            "is the registry slow, or the image very large?"
        ) from None


def problem(message: str, reference: Reference, secret: str) -> str:
    """A sentence for what skopeo said when pulling ``reference``."""
    lowered = message.lower()
    host = reference.host
    if "connection refused" in lowered:
        return f"Could not reach registry {host}: connection refused."
    if "no such host" in lowered:
        return f"Could not reach registry {host}: no such host."
    if "i/o timeout" in lowered or "timeout awaiting" in lowered:
        return f"Could not reach registry {host}: it did not answer in time."
    if "server gave http response to https client" in lowered:
        return (
            f"The registry {host} answers over plain HTTP: add it to "
            "TRIBUTARY_IMAGE_INSECURE_REGISTRIES if that is intended."
        )
    if "x509" in lowered or "certificate" in lowered or "tls:" in lowered:
        return f"The registry {host}'s TLS certificate is not trusted by this server."
    if "unauthorized" in lowered or "authentication required" in lowered or "denied" in lowered:
        if secret:
            return f"The registry refused the credentials in secret {secret}."
        return (
            f"The registry {host} asks for credentials: store username:password in a "
            "workspace secret and name it as the credentials secret."
        )
    if "manifest unknown" in lowered or "name unknown" in lowered or "not found" in lowered:
        return f"The registry has no image {reference.shown}."
    if "no image found in manifest list" in lowered or "choosing image instance" in lowered:
        arch = host_architecture()
        return (
            f"The image {reference.shown} has no variant for linux/{arch}, the platform this "
            f"server runs. Build it for linux/{arch}."
        )
    if "unsupported" in lowered or "mime type" in lowered or "media type" in lowered:
        return f"{reference.shown} is not a container image this server can run: {message}"
    return f"Pulling {reference.text} failed: {message}"
