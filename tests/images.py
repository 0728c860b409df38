"""Container images built without a container engine, and a real local registry.

``build_image`` makes an OCI image layout with umoci from a root filesystem of a static
busybox (Debian's busybox-static) plus the files a test gives; ``archive`` turns it into
what ``docker save`` (docker-archive) or ``podman save --format oci-archive`` produce;
``LocalRegistry`` runs Debian's docker-registry (the distribution registry) on a free
127.0.0.1 port, optionally behind htpasswd basic auth."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.processes import free_port

BUSYBOX = Path("/bin/busybox")
APPLETS = (
    "sh",
    "cat",
    "echo",
    "sed",
    "wc",
    "ls",
    "id",
    "sleep",
    "head",
    "tr",
    "printf",
    "grep",
    "touch",
    "cp",
    "wget",
    "nc",
    "setsid",
    "ps",
    "tail",
    "mkdir",
)
TAG = "img"


def _run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


def build_image(
    where: Path,
    files: dict[str, str | bytes] | None = None,
    *,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    env: list[str] | None = None,
    working_dir: str | None = None,
    user: str | None = None,
    architecture: str | None = None,
) -> Path:
    """An OCI layout at ``where``/layout holding the image ``img``: busybox at /bin with its
    applets linked, plus ``files`` (path -> content; executable when it starts with '#!')."""
    root = where / "rootfs"
    (root / "bin").mkdir(parents=True)
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    for applet in APPLETS:
        (root / "bin" / applet).symlink_to("busybox")
    for path, content in (files or {}).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
        target.chmod(0o755 if data.startswith(b"#!") else 0o644)
    layout = where / "layout"
    _run("umoci", "init", "--layout", str(layout))
    image = f"{layout}:{TAG}"
    _run("umoci", "new", "--image", image)
    _run("umoci", "insert", "--image", image, str(root), "/")
    options: list[str] = []
    for value in entrypoint or []:
        options += ["--config.entrypoint", value]
    for value in cmd or []:
        options += ["--config.cmd", value]
    for value in env or []:
        options += ["--config.env", value]
    if working_dir:
        options += ["--config.workingdir", working_dir]
    if user:
        options += ["--config.user", user]
    if architecture:
        options += ["--architecture", architecture]
    if options:
        _run("umoci", "config", "--image", image, *options)
    _run("umoci", "gc", "--layout", str(layout))
    return layout


def archive(layout: Path, target: Path, kind: str = "docker-archive") -> Path:
    """``layout``'s image as a ``docker save`` tar (docker-archive) or an oci-archive."""
    destination = f"{kind}:{target}:team/fn:1" if kind == "docker-archive" else f"{kind}:{target}"
    _run("skopeo", "copy", "--quiet", f"oci:{layout}:{TAG}", destination)
    return target


def push(layout: Path, reference: str, credentials: str | None = None) -> str:
    """Push ``layout``'s image to ``reference`` (host:port/repo:tag) over plain HTTP."""
    options = ["--dest-tls-verify=false"]
    if credentials:
        options += ["--dest-creds", credentials]
    _run("skopeo", "copy", "--quiet", *options, f"oci:{layout}:{TAG}", f"docker://{reference}")
    return reference


@dataclass
class LocalRegistry:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def local_registry(where: Path, htpasswd: str | None = None) -> Iterator[LocalRegistry]:
    """docker-registry serving plain HTTP on a free 127.0.0.1 port; with ``htpasswd`` (the
    file's content) it asks for basic auth."""
    port = free_port()
    where.mkdir(parents=True, exist_ok=True)
    auth = ""
    if htpasswd is not None:
        (where / "htpasswd").write_text(htpasswd)
        auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {where / 'htpasswd'}\n"
    config = where / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {where / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )
    process = subprocess.Popen(
        ["/usr/bin/docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield LocalRegistry(port, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("docker-registry exited at start")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"docker-registry did not listen on 127.0.0.1:{port}")


def store_layout(workspace: Any, name: str, layout: Path) -> Any:
    """Register ``layout``'s image as ``name`` in ``workspace`` the way an upload does
    (runtime.images.register): packed as an oci-archive, read, checked, its blobs stored."""
    from runtime.images.register import image_register_upload

    tar = archive(layout, layout.parent / f"{layout.name}-{name}.tar", "oci-archive")
    admin = workspace.memberships.filter(role="admin").first()
    assert admin is not None, "registering needs a workspace admin"
    return image_register_upload(
        workspace=workspace, name=name, description="", upload_path=tar, user=admin.user
    )
