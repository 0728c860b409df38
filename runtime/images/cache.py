"""Each worker machine's cache of unpacked images, by digest.

The first step to run an image on a machine fetches its blobs from the database (each one
checked against its digest), rebuilds the OCI layout and unpacks it with umoci (layer order,
whiteouts and digests are umoci's job, not ours), then renames the result into place: an
entry exists whole or not at all. Later runs find it and start at once. Entries are
content-addressed, so they never go stale; the least recently used are removed when the
cache grows past ``TRIBUTARY_IMAGE_CACHE_MB``, except the ones a step is running (each run
holds a shared lock on its entry; eviction takes the lock exclusively or skips the entry).

Nothing is shared between machines: a worker elsewhere fills its own cache the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from runtime.images.store import BlobCorrupt, blob_write
from runtime.sandbox.container import LIMITER_MOUNT, MOUNT_POINTS

logger = logging.getLogger(__name__)

TAG = "image"
READY = ".ready"  # written last: {"digest", "size"}; its mtime is the last use
UNPACK_TIMEOUT = 600


class ImageUnavailable(Exception):
    """The image cannot be prepared on this worker; the message says why."""


def cache_dir() -> Path:
    """The cache directory, made and checked once per process (not on every step)."""
    return _prepared(str(settings.TRIBUTARY_IMAGE_CACHE_DIR))


@functools.cache
def _prepared(location: str) -> Path:
    path = Path(location)
    path.mkdir(parents=True, exist_ok=True)
    # The sandbox (uid 65534 when the worker is root) must reach the unpacked roots.
    path.chmod(0o755)
    if os.geteuid() == 0:
        closed = [p for p in path.resolve().parents if not p.stat().st_mode & 0o001]
        if closed:
            raise ImageUnavailable(
                f"The image cache {path} cannot be reached by the sandbox's user (uid 65534): "
                f"{closed[0]} is not searchable by others. Set TRIBUTARY_IMAGE_CACHE_DIR "
                "to a directory whose parents are, or chmod o+x it."
            )
    return path


def cache_limit_bytes() -> int:
    return int(settings.TRIBUTARY_IMAGE_CACHE_MB) * 1024 * 1024


def _key(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64 or not hexdigest.isalnum():
        raise ImageUnavailable(f"{digest!r} is not an image digest.")
    return hexdigest


@contextlib.contextmanager
def rootfs(digest: str, blobs: Sequence[dict[str, Any]]) -> Iterator[Path]:
    """The unpacked root filesystem of image ``digest``, held (not evicted) while in use.

    ``blobs``: the image's blobs, manifest first (ContainerImage.blobs). Raises
    ImageUnavailable when a blob is missing or does not match its digest, or unpacking
    fails; nothing is left in the cache then.
    """
    base = cache_dir()
    key = _key(digest)
    entry = base / key
    built = False
    with _locked(base / f"{key}.lock", fcntl.LOCK_SH) as lock:
        while not (entry / READY).exists():
            # Build under the exclusive lock (another process may be building it), then
            # hold it shared again; an eviction in between sends us round once more.
            fcntl.flock(lock, fcntl.LOCK_UN)
            with _locked(base / f"{key}.lock", fcntl.LOCK_EX):
                if not (entry / READY).exists():
                    _build(base, entry, digest, blobs)
                    built = True
            fcntl.flock(lock, fcntl.LOCK_SH)
        if built:
            evict(keep=key)
        os.utime(entry / READY)
        yield entry / "rootfs"


def is_cached(digest: str) -> bool:
    return (cache_dir() / _key(digest) / READY).exists()


@contextlib.contextmanager
def _locked(path: Path, mode: int) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)


def _build(base: Path, entry: Path, digest: str, blobs: Sequence[dict[str, Any]]) -> None:
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
    try:
        layout = work / "layout"
        _write_layout(layout, digest, blobs)
        bundle = work / "bundle"
        _unpack(layout, bundle)
        root = bundle / "rootfs"
        _add_mount_points(root)
        size = _size_of(root)
        bundle.chmod(0o755)
        shutil.rmtree(entry, ignore_errors=True)  # a leftover without READY
        bundle.rename(entry)
        (entry / READY).write_text(json.dumps({"digest": digest, "size": size}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_layout(layout: Path, digest: str, blobs: Sequence[dict[str, Any]]) -> None:
    if not blobs or blobs[0].get("digest") != digest:
        raise ImageUnavailable(f"The image {digest} has no manifest on record.")
    store = layout / "blobs" / "sha256"
    store.mkdir(parents=True)
    for blob in blobs:
        target = store / _key(str(blob["digest"]))
        try:
            blob_write(digest=str(blob["digest"]), target=target)
        except BlobCorrupt as exc:
            raise ImageUnavailable(f"{exc} Register the image again.") from exc
        except LookupError as exc:
            raise ImageUnavailable(f"{exc} Register the image again.") from exc
    manifest = blobs[0]
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": manifest.get("media_type")
                or "application/vnd.oci.image.manifest.v1+json",
                "digest": digest,
                "size": int(manifest["size"]),
                "annotations": {"org.opencontainers.image.ref.name": TAG},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))


def _unpack(layout: Path, bundle: Path) -> None:
    argv = [_umoci(), "--log", "error", "unpack"]
    if os.geteuid() != 0:
        argv.append("--rootless")  # owners as the worker's user, not the image's
    argv += ["--image", f"{layout}:{TAG}", str(bundle)]
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv; paths made here
            argv, capture_output=True, text=True, timeout=UNPACK_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ImageUnavailable("Unpacking the image took too long.") from exc
    if done.returncode != 0:
        problem = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ImageUnavailable(f"The image could not be unpacked: {problem}")


def _umoci() -> str:
    path = shutil.which("umoci")
    if path is None:
        raise ImageUnavailable(
            "umoci is not installed on this worker, so images cannot be unpacked "
            "(apt-get install umoci)."
        )
    return path


def _add_mount_points(root: Path) -> None:
    """What bubblewrap mounts over in the read-only root must exist in it."""
    root.chmod(0o755)
    for name in MOUNT_POINTS:
        target = root / name
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            target.unlink()
        target.mkdir(mode=0o755, exist_ok=True)
    limiter = root / LIMITER_MOUNT.lstrip("/")
    if limiter.parent.is_symlink() or limiter.parent.is_file():
        limiter.parent.unlink()
    limiter.parent.mkdir(mode=0o755, exist_ok=True)
    limiter.touch()


def _size_of(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(folder) / name).lstat().st_size
    return total


def _entries(base: Path) -> list[tuple[float, int, str]]:
    found = []
    for ready in base.glob(f"*/{READY}"):
        try:
            size = int(json.loads(ready.read_text()).get("size", 0))
            found.append((ready.stat().st_mtime, size, ready.parent.name))
        except (OSError, ValueError):
            continue
    return sorted(found)


def evict(keep: str = "") -> list[str]:
    """Remove the least recently used entries until the cache fits its limit; entries in
    use (and ``keep``) stay. Returns the keys removed."""
    base = cache_dir()
    entries = _entries(base)
    total = sum(size for _, size, _ in entries)
    removed: list[str] = []
    for _, size, key in entries:
        if total <= cache_limit_bytes():
            break
        if key == keep:
            continue
        fd = os.open(base / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a step is running it
            (base / key / READY).unlink(missing_ok=True)
            trash = base / f".evicted-{key}"
            shutil.rmtree(trash, ignore_errors=True)
            (base / key).rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        finally:
            os.close(fd)
        total -= size
        removed.append(key)
        logger.info("Evicted image %s from the cache (%d bytes).", key[:12], size)
    return removed
