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

from runtime.images.errors import ImageRefused, max_bytes, megabytes
from runtime.images.layout import DIGEST, TAG, host_architecture
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
    repository = f"docker://{reference.host}/{reference.path}"
    source = (
        f"{repository}@{reference.digest}" if reference.digest else f"{repository}:{reference.tag}"
    )
    verify = "false" if reference.insecure else "true"
    layout = workdir / "layout"
    try:
        with authfile(workdir, reference.host, credentials) as auth:
            _check_before_download(repository, source, verify, auth, workdir)
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


INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}


def _check_before_download(
    repository: str, source: str, verify: str, auth: Path | None, workdir: Path
) -> None:
    """The platform and the size, from the manifest and the config the registry serves
    (small documents), before any layer is downloaded. The layout read afterwards is checked
    again: a registry may lie. (skopeo 1.9's ``inspect`` has no LayersData: the sizes come
    from the raw manifest.)"""
    options = [f"--tls-verify={verify}", *credential_options(auth)]
    manifest = _json(_run("inspect", "--raw", *options, source, workdir=workdir))
    if manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
        source = f"{repository}@{_platform_manifest(manifest)}"
        manifest = _json(_run("inspect", "--raw", *options, source, workdir=workdir))
    config = _json(_run("inspect", "--config", *options, source, workdir=workdir))
    _check_platform(config.get("os") or "", config.get("architecture") or "")
    described = [manifest.get("config"), *(manifest.get("layers") or [])]
    size = sum(int(d.get("size") or 0) for d in described if isinstance(d, dict))
    if size > max_bytes():
        limit = settings.TRIBUTARY_IMAGE_MAX_MB
        raise ImageRefused(
            f"The image's layers are {megabytes(size)} as the registry lists them; the limit "
            f"is {limit:,} MB (TRIBUTARY_IMAGE_MAX_MB)."
        )


def _platform_manifest(index: dict[str, Any]) -> str:
    """The digest of the manifest for linux on this machine's architecture, from a
    multi-platform image's index."""
    host = host_architecture()
    platforms = []
    for entry in index.get("manifests") or []:
        platform = (entry.get("platform") or {}) if isinstance(entry, dict) else {}
        platforms.append(f"{platform.get('os')}/{platform.get('architecture')}")
        if (platform.get("os"), platform.get("architecture")) == ("linux", host):
            digest = str(entry.get("digest"))
            if not DIGEST.match(digest):
                raise ImageRefused("The image's index names its manifest by an invalid digest.")
            return digest
    raise ImageRefused(
        f"The image has no variant for linux/{host}, the platform this server runs (it has "
        f"{', '.join(sorted(set(platforms))) or 'none'}). Build it for linux/{host}."
    )


def _check_platform(system: str, architecture: str) -> None:
    host = host_architecture()
    if system != "linux":
        raise ImageRefused(
            f"The image is for {system or 'no operating system'}; this server runs linux images."
        )
    if architecture != host:
        raise ImageRefused(
            f"The image is for {architecture or 'no architecture'}; this server runs {host} "
            f"images. Build it for linux/{host}."
        )


def _json(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        raise ImageRefused("The registry's answer about the image is not readable JSON.") from None
    return found if isinstance(found, dict) else {}


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
