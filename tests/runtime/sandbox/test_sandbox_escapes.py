"""Real escape attempts from inside the sandbox; every one must fail.

Each test runs attack code in the sandbox and reports what the attack achieved; nothing is
mocked. Postgres (127.0.0.1:5432) and Redis (127.0.0.1:6379) run on the test machine.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from runtime.sandbox import Ending, Limits, Sandbox
from runtime.sandbox.python_runner import PythonRunner

LANGUAGES = ["python", "javascript"]

READ_FILES = {
    "python": """
def handler(event, context):
    found = {}
    for path in event["paths"]:
        try:
            with open(path, "rb") as f:
                found[path] = "READ " + f.read(200).decode("latin-1")
        except OSError as exc:
            found[path] = type(exc).__name__
    return found
""",
    "javascript": """
import fs from "node:fs";
export function handler(event) {
  const found = {};
  for (const path of event.paths) {
    try { found[path] = "READ " + fs.readFileSync(path).subarray(0, 200).toString("latin1"); }
    catch (error) { found[path] = error.code; }
  }
  return found;
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_secrets_and_the_project_cannot_be_read(
    sandbox: Sandbox, language: str, repo_root: Path
) -> None:
    paths = [
        "/proc/self/environ",
        "/proc/1/environ",
        "/proc/1/cmdline",
        str(repo_root / "config" / "settings.py"),
        str(repo_root / ".env"),
        str(repo_root / "manage.py"),
        "/etc/shadow",
        "/etc/passwd",
        "/root/.bashrc",
    ]
    result = sandbox.run(language, READ_FILES[language], {"paths": paths}, {})
    assert result.outcome is Ending.OK, result
    assert set(result.output) == set(paths)
    for path, what in result.output.items():
        assert not what.startswith("READ"), f"{path} was readable in the sandbox"


CONNECT = {
    "python": """
import socket
def handler(event, context):
    found = {}
    for port in event["ports"]:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            found[str(port)] = "CONNECTED"
        except OSError as exc:
            found[str(port)] = type(exc).__name__
    kinds = ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM),
             (socket.AF_UNIX, socket.SOCK_STREAM), (socket.AF_NETLINK, socket.SOCK_RAW))
    for family, kind in kinds:
        try:
            socket.socket(family, kind).close()
            found[str(family)] = "OPENED"
        except OSError as exc:
            found[str(family)] = type(exc).__name__
    return found
""",
    "javascript": """
import dgram from "node:dgram";
import net from "node:net";
function attempt(start) {
  return new Promise((resolve) => {
    try { start(resolve); } catch (error) { resolve(error.code ?? "THROWN"); }
  });
}
const connect = (options) => attempt((resolve) => {
  const sock = net.connect(options);
  sock.on("connect", () => { sock.destroy(); resolve("CONNECTED"); });
  sock.on("error", (error) => resolve(error.code));
});
const listen = (where) => attempt((resolve) => {
  const server = net.createServer();
  server.on("error", (error) => resolve(error.code));
  server.listen(where, () => resolve("LISTENING"));
});
export async function handler(event) {
  const found = {};
  for (const port of event.ports) found[String(port)] = await connect({ host: "127.0.0.1", port });
  found.listen = await listen(8080);
  found.udp_bind = await attempt((resolve) => {
    const sock = dgram.createSocket("udp4");
    sock.on("error", (error) => resolve(error.code));
    sock.bind(0, () => resolve("OPENED"));
  });
  found.udp_send = await attempt((resolve) => {
    const sock = dgram.createSocket("udp6");
    sock.on("error", (error) => resolve(error.code));
    sock.send("x", 53, "::1", (error) => resolve(error ? error.code : "CONNECTED"));
  });
  found.unix_connect = await connect({ path: "/var/run/postgresql/.s.PGSQL.5432" });
  found.unix_listen = await listen("/tmp/tributary.sock");
  return found;
}
""",
}


def _reachable_from_host(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_network_not_even_loopback(sandbox: Sandbox, language: str) -> None:
    ports = [5432, 6379, 8000]
    # On this machine Postgres and Redis really listen; the attack must still fail.
    print({port: _reachable_from_host(port) for port in ports})  # noqa: T201 - test context
    result = sandbox.run(language, CONNECT[language], {"ports": ports}, {})
    assert result.outcome is Ending.OK, result
    for target, what in result.output.items():
        assert what not in ("CONNECTED", "OPENED", "LISTENING"), (target, what)
    assert result.output["5432"] in ("PermissionError", "EPERM")
    if language == "javascript":  # the Python attack opens UDP and unix sockets too
        for kind in ("listen", "udp_bind", "udp_send", "unix_connect", "unix_listen"):
            assert result.output[kind] == "EPERM", (kind, result.output[kind])


def test_network_namespace_blocks_loopback_without_seccomp(sandbox: Sandbox) -> None:
    """The layer under seccomp: with sockets allowed, 127.0.0.1 is still unreachable."""
    runner = PythonRunner(sandbox.config, sandbox.bwrap, False, sandbox.spawner)
    try:
        payload = json.dumps(
            {"source": CONNECT["python"], "event": {"ports": [5432, 6379]}, "context": {}}
        ).encode()
        result = runner.run(payload, Limits(), None)
    finally:
        runner.close()
    assert result.outcome is Ending.OK, result
    assert result.output["5432"] in ("ConnectionRefusedError", "OSError")
    assert result.output["6379"] in ("ConnectionRefusedError", "OSError")


LEAK_WRITE = {
    "python": """
import json, os
LEAKED = globals().get("LEAKED", 0)
def handler(event, context):
    json.LEAK = "json module"
    os.environ["LEAK"] = "env"
    with open("/tmp/leak", "w") as f:
        f.write("file")
    with open("/dev/shm/leak", "w") as f:
        f.write("shm")
    return "written"
""",
    "javascript": """
import fs from "node:fs";
export function handler() {
  globalThis.LEAK = "global";
  process.env.LEAK = "env";
  fs.writeFileSync("/tmp/leak", "file");
  fs.writeFileSync("/dev/shm/leak", "shm");
  return "written";
}
""",
}
LEAK_READ = {
    "python": """
import json, os
def handler(event, context):
    return {
        "module": getattr(json, "LEAK", None),
        "env": os.environ.get("LEAK"),
        "tmp": sorted(os.listdir("/tmp")),
        "shm": sorted(os.listdir("/dev/shm")),
    }
""",
    "javascript": """
import fs from "node:fs";
export function handler() {
  return {
    module: globalThis.LEAK ?? null,
    env: process.env.LEAK ?? null,
    tmp: fs.readdirSync("/tmp").filter((name) => name !== "handler.mjs").sort(),
    shm: fs.existsSync("/dev/shm") ? fs.readdirSync("/dev/shm").sort() : [],
  };
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_nothing_survives_into_the_next_execution(sandbox: Sandbox, language: str) -> None:
    first = sandbox.run(language, LEAK_WRITE[language], {}, {})
    assert first.outcome is Ending.OK, first
    second = sandbox.run(language, LEAK_READ[language], {}, {})
    assert second.output == {"module": None, "env": None, "tmp": [], "shm": []}


OK_SOURCE = {
    "python": "def handler(event, context):\n    return 'still serving'\n",
    "javascript": "export function handler() { return 'still serving'; }",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pool_still_serves_after_the_attacks(sandbox: Sandbox, language: str) -> None:
    for _ in range(3):
        result = sandbox.run(language, OK_SOURCE[language], {}, {})
        assert result.outcome is Ending.OK and result.output == "still serving"
