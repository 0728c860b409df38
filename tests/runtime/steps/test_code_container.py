"""Container-image steps through the real worker: images built with umoci (no engine), run
read-only under bubblewrap from the worker's cache. Input on stdin, JSON or text on stdout,
stderr as logs, the exit status deciding; limits, cancellation and secrets as for code."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from runtime.engine.status import RunStatus
from runtime.kinds.idempotency import idempotency_key
from runtime.models import Run
from runtime.runs import run_cancel
from runtime.services import secret_set
from tests.conftest import Team
from tests.factories import node
from tests.images import build_image, store_layout
from tests.runtime.helpers import chain, start, statuses, with_settings
from tests.stack import Stack, wait_for_run, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Reads the event from stdin, reports on stderr, answers JSON on stdout.
ECHO = """#!/bin/sh
input=$(cat)
echo "handling one order" >&2
echo "second line" >&2
printf '{"got": %s, "args": "%s", "greeting": "%s", "key": "%s"}' \
  "$input" "$*" "$GREETING" "$TRIBUTARY_IDEMPOTENCY_KEY"
"""


def image(team: Team, tmp_path: Path, name: str, script: str, **config: Any) -> str:
    """Build an image whose entrypoint is ``script`` and register it as ``name``."""
    where = tmp_path / name
    where.mkdir()
    layout = build_image(where, {"/app/run": script}, entrypoint=["/app/run"], **config)
    store_layout(team.workspace, name, layout)
    return name


def run_image(team: Team, name: str, payload: Any = None, **config: Any) -> Run:
    step = node("fn", "code.container", image=name, **config)
    return wait_for_run(start(team, chain(step), payload or {}), timeout=60)


def test_the_event_goes_in_on_stdin_and_json_stdout_is_the_output(
    team: Team, stack: Stack, tmp_path: Path
) -> None:
    name = image(team, tmp_path, "echo", ECHO, env=["GREETING=from the image"])
    run = run_image(team, name, {"order": 7}, args=["{{ event.trigger.order }}", "x"])
    assert run.status == RunStatus.SUCCEEDED, run.steps.get(node_id="fn").error
    step = run.steps.get(node_id="fn")
    assert step.output["got"]["trigger"] == {"order": 7}
    assert step.output["args"] == "7 x"
    assert step.output["greeting"] == "from the image"
    key = idempotency_key(run_id=run.pk, created_at=run.created_at, node_id="fn")
    assert step.output["key"] == key
    assert step.logs.splitlines()[:2] == ["handling one order", "second line"]
    assert step.input["image"].startswith("echo@sha256:")


def test_text_on_stdout_is_the_output_and_a_failing_exit_fails_the_step(
    team: Team, stack: Stack, tmp_path: Path
) -> None:
    text = image(team, tmp_path, "text", "#!/bin/sh\necho 'plain words'\n")
    run = run_image(team, text)
    assert run.status == RunStatus.SUCCEEDED
    assert run.steps.get(node_id="fn").output == "plain words"

    failing = image(team, tmp_path, "failing", "#!/bin/sh\necho 'no such customer' >&2\nexit 3\n")
    run = run_image(team, failing)
    assert run.status == RunStatus.FAILED
    step = run.steps.get(node_id="fn")
    assert step.error == "The image's process exited with status 3: no such customer"


def test_env_templates_may_use_secrets_and_they_are_redacted(
    team: Team, stack: Stack, tmp_path: Path
) -> None:
    secret_set(workspace=team.workspace, name="API_KEY", value="s3cr3t-value", user=team.admin)
    script = '#!/bin/sh\necho "key is $API_KEY" >&2\nprintf \'{"key": "%s"}\' "$API_KEY"\n'
    name = image(team, tmp_path, "secretive", script)
    run = run_image(team, name, env={"API_KEY": "{{ secrets.API_KEY }}"})
    assert run.status == RunStatus.SUCCEEDED, run.steps.get(node_id="fn").error
    step = run.steps.get(node_id="fn")
    assert "s3cr3t-value" not in str(step.output) + step.logs
    assert step.output == {"key": "[redacted:API_KEY]"}


def test_a_runaway_image_times_out(team: Team, stack: Stack, tmp_path: Path) -> None:
    name = image(team, tmp_path, "spin", "#!/bin/sh\nwhile true; do :; done\n")
    step = with_settings(node("fn", "code.container", image=name), timeout_seconds=2)
    run = wait_for_run(start(team, chain(step)), timeout=60)
    assert run.status == RunStatus.FAILED
    assert "Timed out after 2 s" in run.steps.get(node_id="fn").error


def test_memory_beyond_the_limit_fails_the_step_clearly(
    team: Team, stack: Stack, tmp_path: Path
) -> None:
    hog = "#!/bin/sh\nx=$(head -c 200000000 /dev/zero | tr '\\0' a)\necho done\n"
    name = image(team, tmp_path, "hog", hog)
    run = run_image(team, name, memory_mb=64)
    assert run.status == RunStatus.FAILED
    assert run.steps.get(node_id="fn").error == "The image ran out of memory (limit 64 MiB)."


def test_cancelling_the_run_kills_the_running_image(
    team: Team, stack: Stack, tmp_path: Path
) -> None:
    marker = f"{uuid.uuid4().int % 10**6 + 10**6}"  # a unique sleep length to look for
    name = image(team, tmp_path, "napper", f"#!/bin/sh\nsleep {marker}\n")
    step = with_settings(node("fn", "code.container", image=name), timeout_seconds=120)
    run = start(team, chain(step))
    wait_until(lambda: sleeping(marker), "the image to start", timeout=30)
    run_cancel(run=run, user=team.editor)
    wait_until(lambda: not sleeping(marker), "the cancelled image to die", timeout=15)
    assert statuses(run)["fn"] == "cancelled"


def sleeping(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False
