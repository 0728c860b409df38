"""What a sandboxed process may do to the machine: write nowhere but its /tmp, hold no
privilege, make none of the system calls the seccomp filter denies, see no environment.

Node has no API for mount, unshare or ptrace, but a JavaScript step can start any program
under /usr: the attacks go through util-linux's unshare and through python3, run as
children of Node, which inherit its filter.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from runtime.sandbox import Ending, Sandbox
from runtime.sandbox.config import SandboxConfig

LANGUAGES = ["python", "javascript"]
WRITE_EVERYWHERE = {
    "python": """
def handler(event, context):
    found = {}
    for path in event["paths"]:
        try:
            open(path, "w").close()
            found[path] = "WRITTEN"
        except OSError as exc:
            found[path] = type(exc).__name__
    return found
""",
    "javascript": """
import fs from "node:fs";
export function handler(event) {
  const found = {};
  for (const path of event.paths) {
    try { fs.writeFileSync(path, "x"); found[path] = "WRITTEN"; }
    catch (error) { found[path] = error.code; }
  }
  return found;
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_root_device_and_runner_trees_are_read_only(sandbox: Sandbox, language: str) -> None:
    paths = ["/leak", "/dev/leak", "/usr/leak", "/usr/bin/leak", "/opt/tributary/runner/leak"]
    result = sandbox.run(language, WRITE_EVERYWHERE[language], {"paths": paths}, {})
    assert result.outcome is Ending.OK, result
    assert set(result.output) == set(paths)
    assert "WRITTEN" not in result.output.values(), result.output


def test_python_has_no_privileges(sandbox: Sandbox) -> None:
    source = """
import ctypes, os
def handler(event, context):
    libc = ctypes.CDLL(None, use_errno=True)
    found = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
    for name, call in {
        "setuid0": lambda: os.setuid(0),
        "mount": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0 or ctypes.get_errno(),
        "unshare_user": lambda: libc.unshare(0x10000000) == 0 or ctypes.get_errno(),
        "ptrace": lambda: libc.ptrace(16, 1, 0, 0) == 0 or ctypes.get_errno(),
        "dac_override": _read_unreadable,
    }.items():
        try:
            found[name] = call()
        except OSError as exc:
            found[name] = type(exc).__name__
    found["fds"] = sorted(fd for fd in range(64) if _is_open(fd))
    return found

def _read_unreadable():
    # Its own file, mode 000: only CAP_DAC_OVERRIDE could read it.
    fd = os.open("/tmp/locked", os.O_WRONLY | os.O_CREAT, 0)
    os.write(fd, b"secret")
    os.close(fd)
    with open("/tmp/locked") as f:
        return "READ " + f.read()

def _is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
"""
    result = sandbox.run("python", source, {}, {})
    assert result.outcome is Ending.OK, result
    found = result.output
    assert (found["uid"], found["gid"]) == (65534, 65534)
    assert found["setuid0"] in ("PermissionError", "OSError")  # EPERM, or EINVAL: 0 is unmapped
    assert found["mount"] == found["unshare_user"] == found["ptrace"] == 1  # EPERM
    assert found["dac_override"] == "PermissionError"
    assert found["fds"] == [0, 1, 2, 3]  # request (now /dev/null), logs x2, result


JAVASCRIPT_PRIVILEGES = """
import fs from "node:fs";
import { spawnSync } from "node:child_process";
function attempt(action) {
  try { return action(); } catch (error) { return error.code; }
}
export function handler(event) {
  fs.writeFileSync("/tmp/locked", "secret", { mode: 0o000 });
  const unshare = spawnSync("/usr/bin/unshare", ["--user", "--map-root-user", "/usr/bin/true"],
    { encoding: "utf8" });
  const python = spawnSync("/usr/bin/python3", ["-I", "-S", "-c", event.python],
    { encoding: "utf8" });
  return {
    uid: process.getuid(),
    gid: process.getgid(),
    groups: process.getgroups(),
    // Its own file, mode 000: only CAP_DAC_OVERRIDE could read it.
    dac_override: attempt(() => "READ " + fs.readFileSync("/tmp/locked", "utf8")),
    setuid0: attempt(() => { process.setuid(0); return "ROOT"; }),
    setgroups: attempt(() => { process.setgroups([0]); return "SET"; }),
    unshare: [unshare.status, unshare.stderr],
    python: [python.status, python.stdout, python.stderr],
  };
}
"""
SYSCALLS_FROM_A_CHILD = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
def errno(result):
    return "ALLOWED" if result == 0 else ctypes.get_errno()
print(json.dumps({
    "mount": errno(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
    "unshare": errno(libc.unshare(0x10000000)),
    "ptrace": errno(libc.ptrace(16, os.getppid(), 0, 0)),
}))
"""


def test_javascript_has_no_privileges_and_its_children_inherit_the_filter(
    sandbox: Sandbox,
) -> None:
    event = {"python": SYSCALLS_FROM_A_CHILD}
    result = sandbox.run("javascript", JAVASCRIPT_PRIVILEGES, event, {})
    assert result.outcome is Ending.OK, result
    found = result.output
    assert (found["uid"], found["gid"]) == (65534, 65534)
    assert found["dac_override"] == "EACCES"
    assert found["setuid0"] in ("EPERM", "EINVAL")  # EINVAL: uid 0 does not exist here
    assert found["setgroups"] == "EPERM"
    status, stderr = found["unshare"]
    assert status != 0 and "Operation not permitted" in stderr
    status, stdout, stderr = found["python"]
    assert status == 0, stderr
    assert json.loads(stdout) == {"mount": 1, "unshare": 1, "ptrace": 1}  # EPERM


ENVIRONMENT = {
    "python": """
import os
def handler(event, context):
    found = {"env": dict(os.environ)}
    for path in ("/proc/self/environ", "/proc/1/environ"):
        try:
            with open(path, "rb") as f:
                found[path] = f.read().decode("latin-1")
        except OSError as exc:
            found[path] = type(exc).__name__
    return found
""",
    "javascript": """
import fs from "node:fs";
export function handler() {
  const found = { env: { ...process.env } };
  for (const path of ["/proc/self/environ", "/proc/1/environ"]) {
    try { found[path] = fs.readFileSync(path, "latin1"); }
    catch (error) { found[path] = error.code; }
  }
  return found;
}
""",
}
ALLOWED_ENV = {"PATH", "LANG", "HOME", "TZ", "PWD", "UV_THREADPOOL_SIZE"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_workers_environment_is_invisible(
    monkeypatch: pytest.MonkeyPatch, runner_dir: Path, language: str
) -> None:
    canary = f"canary-{secrets.token_hex(8)}"
    monkeypatch.setenv("TRIBUTARY_TEST_CANARY", canary)
    # A sandbox started after the worker's environment holds the canary.
    fresh = Sandbox(SandboxConfig(runner_dir=runner_dir, require_sandbox=True))
    try:
        result = fresh.run(language, ENVIRONMENT[language], {}, {})
    finally:
        fresh.close()
    assert result.outcome is Ending.OK, result
    assert canary not in json.dumps(result.output)
    assert set(result.output["env"]) <= ALLOWED_ENV
    for path in ("/proc/self/environ", "/proc/1/environ"):
        assert result.output[path] in ("FileNotFoundError", "ENOENT"), (path, result.output[path])
