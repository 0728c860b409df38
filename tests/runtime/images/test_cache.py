"""The worker's image cache: filled from the database (blobs checked against their digests)
by umoci, whole or not at all, reused by later runs, evicted least recently used first and
never while a step runs the image."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone

from runtime.images import cache
from runtime.images.register import fail_abandoned_pulls
from runtime.models import ContainerImage, ImageBlobChunk
from runtime.sandbox import Limits
from runtime.sandbox.container import ContainerSpec, run_container
from tests.conftest import Team
from tests.images import build_image, store_layout

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_dir() -> Iterator[Path]:
    """An empty cache the sandbox's user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="tributary-image-cache-"))
    path.chmod(0o755)
    with override_settings(TRIBUTARY_IMAGE_CACHE_DIR=str(path)):
        yield path
    shutil.rmtree(path, ignore_errors=True)


def register(team: Team, where: Path, name: str, word: str, padding: int = 0) -> ContainerImage:
    where.mkdir()
    files: dict[str, str | bytes] = {"/app/run": f"#!/bin/sh\necho '\"{word}\"'\n"}
    if padding:
        files["/pad"] = bytes(padding)
    layout = build_image(where, files, entrypoint=["/app/run"])
    return store_layout(team.workspace, name, layout)


def run(root: Path) -> object:
    return run_container(ContainerSpec(rootfs=root, argv=["/app/run"]), b"{}", Limits()).output


def test_an_empty_cache_fetches_the_image_from_the_database_and_keeps_it(
    team: Team, tmp_path: Path, cache_dir: Path
) -> None:
    image = register(team, tmp_path / "img", "hello", "hi")
    assert not cache.is_cached(image.digest)
    with cache.rootfs(image.digest, image.blobs) as root:
        assert run(root) == "hi"
        # Read-only for the sandbox, with the mount points it needs.
        assert (root / "tmp").is_dir() and (root / ".tributary" / "busybox").exists()
    assert cache.is_cached(image.digest)
    ready = json.loads((cache_dir / image.digest[7:] / ".ready").read_text())
    assert ready["digest"] == image.digest and ready["size"] > 0
    # The second run finds it: no blob is read again.
    ImageBlobChunk.objects.all().delete()
    with cache.rootfs(image.digest, image.blobs) as root:
        assert run(root) == "hi"


def test_a_corrupted_blob_is_refused_and_nothing_is_cached(
    team: Team, tmp_path: Path, cache_dir: Path
) -> None:
    image = register(team, tmp_path / "img", "hello", "hi")
    layer = image.blobs[-1]["digest"]
    chunk = ImageBlobChunk.objects.filter(blob__digest=layer).first()
    assert chunk is not None
    chunk.data = bytes(chunk.data)[:-1] + b"X"
    chunk.save()
    refused = pytest.raises(cache.ImageUnavailable, match="does not match its digest")
    with refused, cache.rootfs(image.digest, image.blobs):
        pass
    assert not cache.is_cached(image.digest)
    assert [p.name for p in cache_dir.iterdir() if not p.name.endswith(".lock")] == []


def test_the_least_recently_used_image_is_evicted_but_never_one_in_use(
    team: Team, tmp_path: Path, cache_dir: Path
) -> None:
    mib = 1024 * 1024
    first = register(team, tmp_path / "a", "a", "A", padding=3 * mib)
    second = register(team, tmp_path / "b", "b", "B", padding=3 * mib)
    third = register(team, tmp_path / "c", "c", "C", padding=3 * mib)
    # Room for two of them (busybox is about 2 MiB of each).
    with override_settings(TRIBUTARY_IMAGE_CACHE_MB=11):
        with cache.rootfs(first.digest, first.blobs):
            with cache.rootfs(second.digest, second.blobs):
                pass
            # A third goes over the limit: the first is the least recently used, but it
            # is in use (held), so the second goes although it is newer.
            with cache.rootfs(third.digest, third.blobs) as root:
                assert run(root) == "C"
            assert cache.is_cached(first.digest)
            assert not cache.is_cached(second.digest)
        # Nothing in use any more: the least recently used (the first) goes next.
        with cache.rootfs(second.digest, second.blobs):
            pass
        assert not cache.is_cached(first.digest)
        assert cache.is_cached(third.digest) and cache.is_cached(second.digest)


def test_a_pull_no_worker_finished_is_failed_by_the_scheduler(team: Team) -> None:
    old = ContainerImage.objects.create(
        workspace=team.workspace,
        name="lost",
        status=ContainerImage.Status.PULLING,
        source=ContainerImage.Source.REGISTRY,
        reference="registry.example.com/team/lost:1",
        created_at=timezone.now() - timedelta(hours=1),
    )
    recent = ContainerImage.objects.create(
        workspace=team.workspace,
        name="fresh",
        status=ContainerImage.Status.PULLING,
        source=ContainerImage.Source.REGISTRY,
        reference="registry.example.com/team/fresh:1",
    )
    assert fail_abandoned_pulls() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == "failed" and "No worker finished pulling the image" in old.error
    assert recent.status == "pulling"
