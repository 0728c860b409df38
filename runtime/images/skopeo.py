"""Running skopeo (Debian's, 1.9): with a timeout, in a small environment, with its
message extracted from stderr, and with credentials only ever in a 0600 --authfile (never on
its command line, which every local user can read in /proc)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SKOPEO = "skopeo"
# What skopeo may need from the server's environment (a proxy to reach a registry); nothing
# else, so that no REGISTRY_AUTH_FILE or ~/.docker/config.json of the server's user applies.
PASSED_ON = ("PATH", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY")
# logrus' line: time="..." level=fatal msg="what went wrong"
_MESSAGE = re.compile(r'level=(?:fatal|error) msg="((?:[^"\\]|\\.)*)"')


class SkopeoFailed(Exception):
    """skopeo exited with an error; ``message`` is what it said (its last fatal line)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class SkopeoTimeout(Exception):
    """skopeo did not finish within the timeout and was killed."""


def skopeo(*args: str, workdir: Path, timeout: float) -> str:
    """skopeo's stdout. Its temporary files go under ``workdir`` (deleted by the caller)."""
    env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env |= {"HOME": str(workdir), "TMPDIR": str(workdir)}
    env.setdefault("PATH", "/usr/bin:/bin")
    try:
        done = subprocess.run(  # noqa: S603 - an argv list; no credentials, no shell
            [SKOPEO, *args],
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:  # run() has killed it
        raise SkopeoTimeout() from None
    except FileNotFoundError:
        raise SkopeoFailed(
            "skopeo is not installed on this server (Debian: apt-get install skopeo)."
        ) from None
    if done.returncode != 0:
        raise SkopeoFailed(message_of(done.stderr))
    return done.stdout


def message_of(stderr: str) -> str:
    """The last error skopeo logged, unescaped; else its last line of output."""
    found = _MESSAGE.findall(stderr)
    if found:
        return found[-1].replace('\\"', '"').replace("\\\\", "\\")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "skopeo failed without saying why."


@contextmanager
def authfile(workdir: Path, host: str, credentials: str | None) -> Iterator[Path | None]:
    """A file giving skopeo ``credentials`` ("user:password") for ``host``, readable by this
    user only and deleted afterwards (None without credentials: see ``credential_options``)."""
    if credentials is None:
        yield None
        return
    path = workdir / "auth.json"
    token = base64.b64encode(credentials.encode()).decode()
    content = json.dumps({"auths": {host: {"auth": token}}}).encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        yield path
    finally:
        path.unlink(missing_ok=True)


def credential_options(auth: Path | None, prefix: str = "") -> list[str]:
    """skopeo's options for ``auth`` (``prefix`` "src-" for copy's source); without one,
    anonymous access, so that no credentials file of the server's user is used."""
    if auth is None:
        return [f"--{prefix}no-creds"]
    return [f"--{prefix}authfile", str(auth)]
