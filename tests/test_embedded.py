"""The embedded default: no DATABASE_URL, no REDIS_URL, one process, SQLite. It migrates,
loads the example flow and serves the API."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx

from tests.factories import edge, graph, node
from tests.processes import free_port, manage, running, wait_for_http


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env |= {
        # Empty, not absent, so a developer's .env cannot switch this test to PostgreSQL.
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "TRIBUTARY_DATA_DIR": str(data_dir),
        "SECRET_KEY": "embedded-smoke-test-key",
        "TRIBUTARY_ADMIN_USERNAME": "admin",
        "TRIBUTARY_ADMIN_PASSWORD": "correct horse",
        "DEBUG": "false",
        # Empty, as .env.example leaves it: URLs follow the address the server is reached at.
        "TRIBUTARY_PUBLIC_URL": "",
    }
    return env


def test_the_embedded_default_migrates_loads_the_example_and_serves_the_api(
    tmp_path: Path,
) -> None:
    env = embedded_env(tmp_path)
    setup_output = manage("setup", env=env)
    assert "Example flow 'New order → email the customer' loaded and published." in setup_output
    assert (tmp_path / "tributary.sqlite3").exists()
    token = manage("drf_create_token", "admin", env=env).split()[2]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    command = [sys.executable, "manage.py", "serve", "--port", str(port)]
    with running(command, env=env, log=log) as server:
        wait_for_http(f"{base}/login/", process=server, log=log)
        api = httpx.Client(base_url=base, headers={"Authorization": f"Token {token}"})
        flows = api.get("/api/flows/").json()["results"]
        assert [(f["name"], f["live_version"]) for f in flows] == [
            ("New order → email the customer", 1)
        ]
        saved = api.post(
            f"/api/flows/{flows[0]['id']}/versions/",
            json={
                "graph": api.get(f"/api/flows/{flows[0]['id']}/versions/1/").json()["graph"],
                "message": "Same again",
            },
        )
        assert saved.status_code == 201
        assert saved.json()["number"] == 2
        # The one kind that needs PostgreSQL says so plainly on SQLite.
        refused = api.post(
            f"/api/flows/{flows[0]['id']}/versions/",
            json={
                "graph": graph(
                    node("rows", "trigger.dbchange", table="public.orders"),
                    node("shape", "data.transform", value=1),
                    edges=[edge("rows", "shape")],
                )
            },
        )
        assert refused.status_code == 400
        assert "need PostgreSQL" in refused.json()["errors"][0]["message"]
        assert httpx.get(f"{base}/login/").status_code == 200
        # `serve --port N` without TRIBUTARY_PUBLIC_URL: the webhook URL names port N.
        (hook,) = api.get(f"/api/flows/{flows[0]['id']}/triggers/").json()
        assert hook["url"].startswith(f"{base}/hooks/"), hook
        assert_a_run_completes_in_process(api)
    assert "Embedded worker started" in log.read_text()


def assert_a_run_completes_in_process(api: httpx.Client) -> None:
    """The same engine runs embedded: in-process worker threads and scheduler (the delay
    is woken by the scheduler thread)."""
    flow = api.post(
        "/api/flows/",
        json={
            "name": "Embedded",
            "graph": graph(
                node("start", "trigger.manual"),
                node("wait", "flow.delay", seconds=0.5),
                node("left", "data.transform", value="{{ event.trigger.n + 1 }}"),
                node("right", "data.transform", value="{{ event.trigger.n * 2 }}"),
                node(
                    "join",
                    "data.transform",
                    value={"sum": "{{ event.steps.left + event.steps.right }}"},
                ),
                edges=[
                    edge("start", "wait"),
                    edge("wait", "left"),
                    edge("wait", "right"),
                    edge("left", "join"),
                    edge("right", "join"),
                ],
            ),
        },
    ).json()
    run = api.post(f"/api/flows/{flow['id']}/runs/", json={"input": {"n": 3}}).json()
    deadline = time.monotonic() + 20
    while run["status"] not in {"succeeded", "failed", "cancelled"}:
        assert time.monotonic() < deadline, run
        time.sleep(0.1)
        run = api.get(f"/api/runs/{run['id']}/").json()
    assert (run["status"], run["output"]) == ("succeeded", {"sum": 10}), run


def test_setup_is_safe_to_run_again(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    manage("setup", env=env)
    again = manage("setup", env=env)
    assert "Admin user 'admin' already exists." in again
    assert "Example flow" not in again


def test_the_example_flow_can_be_skipped(tmp_path: Path) -> None:
    env = embedded_env(tmp_path) | {"TRIBUTARY_LOAD_EXAMPLE": "false"}
    output = manage("setup", env=env)
    assert "Workspace 'Default' created." in output
    assert "Example flow" not in output
