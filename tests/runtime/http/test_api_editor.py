"""The designer's helpers while editing: a template's preview against the test sample, and
code compiled (never run) to say where it is wrong. Editors only, bounded, nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from designer.models import Flow
from runtime.services import secret_set
from tests.conftest import Team
from tests.factories import flow, simple_graph

pytestmark = pytest.mark.django_db

ORDER = {"body": {"email": "ada@example.com", "total": 12.5, "name": "<Ada>"}}


@pytest.fixture
def orders(team: Team) -> Flow:
    return flow(team.editor, team.workspace, "Orders", simple_graph())


def post(team: Team, url: str, body: dict[str, Any]) -> Any:
    # json.dumps escapes a lone surrogate (as a browser's JSON.stringify does); the test
    # client's own encoder would refuse to send one.
    return team.client(team.editor).post(url, json.dumps(body), content_type="application/json")


def preview(team: Team, flow_id: int, **data: Any) -> Any:
    return post(team, f"/api/flows/{flow_id}/preview/", data)


def check(team: Team, flow_id: int, language: str, code: str) -> Any:
    return post(team, f"/api/flows/{flow_id}/check-code/", {"language": language, "code": code})


def test_a_template_renders_against_the_sample_and_the_last_outputs(
    team: Team, orders: Flow
) -> None:
    response = preview(
        team,
        orders.pk,
        template="Hi {{ event.trigger.body.email }}: {{ event.steps.build.subject }}",
        trigger=ORDER,
        steps={"build": {"subject": "Order 7"}},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "ok": True,
        "text": "Hi ada@example.com: Order 7",
        "truncated": False,
    }


def test_an_html_template_is_escaped_and_an_expression_keeps_its_type(
    team: Team, orders: Flow
) -> None:
    html = preview(
        team, orders.pk, template="<b>{{ event.trigger.body.name }}</b>", mode="html", trigger=ORDER
    )
    assert html.json()["text"] == "<b>&lt;Ada&gt;</b>"
    big = preview(
        team, orders.pk, template="event.trigger.body.total > 10", mode="expression", trigger=ORDER
    )
    assert big.json() == {"ok": True, "text": "true", "truncated": False}


def test_a_secret_shows_its_name_never_its_value(team: Team, orders: Flow) -> None:
    secret_set(workspace=team.workspace, name="SMTP_TOKEN", value="hunter2", user=team.admin)
    response = preview(team, orders.pk, template="Bearer {{ secrets.SMTP_TOKEN }}")
    assert response.json()["text"] == "Bearer \u2039secret SMTP_TOKEN\u203a"
    assert b"hunter2" not in response.content


def test_a_step_without_output_and_a_broken_template_say_why(team: Team, orders: Flow) -> None:
    waiting = preview(team, orders.pk, template="{{ event.steps.build.to }}", trigger=ORDER)
    assert waiting.status_code == 200
    assert waiting.json() == {
        "ok": False,
        "error": "event.steps.build has no output yet: run a test to see its value",
    }
    optional = preview(team, orders.pk, template="{{ event.steps.build | default('-') }}")
    assert optional.json()["text"] == "-"
    broken = preview(team, orders.pk, template="{{ event.trigger.body.email ", trigger=ORDER)
    assert broken.json()["ok"] is False and "line 1" in broken.json()["error"]
    missing = preview(team, orders.pk, template="{{ event.trigger.body.phone }}", trigger=ORDER)
    assert "no field 'phone' here" in missing.json()["error"]


def test_a_long_result_is_cut_for_display(team: Team, orders: Flow) -> None:
    response = preview(team, orders.pk, template="{{ 'x' * 5000 }}")
    assert response.json()["truncated"] is True and len(response.json()["text"]) == 2000


@pytest.mark.timeout(30)  # unbounded, these hold the web process for minutes
@pytest.mark.parametrize(
    ("mode", "template", "bound"),
    [
        ("text", "{{ 9 ** (9 ** 7) > 1 }}", "number too large"),
        ("expression", "'x' | center(10 ** 10)", "string too long"),
        (
            "html",
            "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
            "took too long",
        ),
    ],
)
def test_a_template_bomb_is_previewed_as_the_bound_it_hits(
    team: Team, orders: Flow, settings: SettingsWrapper, mode: str, template: str, bound: str
) -> None:
    settings.TRIBUTARY_TEMPLATE_TIME_BUDGET_MS = 200
    response = preview(team, orders.pk, template=template, mode=mode)
    assert response.json()["ok"] is False and bound in response.json()["error"]


@pytest.mark.parametrize(
    ("language", "code", "expected"),
    [
        (
            "python",
            "def handler(event, context):\n    total = = 1\n",
            {
                "line": 2,
                "column": 13,
                "message": "SyntaxError on line 2, column 13: invalid syntax",
            },
        ),
        (
            "python",
            "return 1\n",
            {
                "line": 1,
                "column": 1,
                "message": "SyntaxError on line 1, column 1: 'return' outside function",
            },
        ),
        (
            "javascript",
            "export async function handler(event) {\n  const order = ;\n}\n",
            {
                "line": 2,
                "column": 17,
                "message": "SyntaxError on line 2, column 17: Unexpected token ';'",
            },
        ),
        (
            "javascript",
            "export function handler(event) {\n  return {",
            {
                "line": 2,
                "column": 11,
                "message": "SyntaxError on line 2, column 11: Unexpected end of input",
            },
        ),
    ],
)
def test_code_that_does_not_compile_is_located_by_line_and_column(
    team: Team, orders: Flow, language: str, code: str, expected: dict[str, Any]
) -> None:
    response = check(team, orders.pk, language, code)
    assert response.status_code == 200, response.content
    assert response.json() == {"problems": [expected]}


def test_code_that_compiles_has_no_problems_and_is_never_run(
    team: Team, orders: Flow, tmp_path: Any
) -> None:
    marker = tmp_path / "ran"
    python = f"open({str(marker)!r}, 'w').write('x')\ndef handler(event, context):\n    return 1\n"
    javascript = (
        f'import {{ writeFileSync }} from "node:fs";\nwriteFileSync({str(marker)!r}, "x");\n'
        "export async function handler(event) { return await Promise.resolve(1); }\n"
    )
    assert check(team, orders.pk, "python", python).json() == {"problems": []}
    assert check(team, orders.pk, "javascript", javascript).json() == {"problems": []}
    assert not marker.exists()


def test_code_without_a_handler_is_told_to_define_one(team: Team, orders: Flow) -> None:
    python = check(team, orders.pk, "python", "x = 1\n").json()["problems"]
    assert python == [
        {"line": 1, "column": 1, "message": "Define a top-level function handler(event, context)."}
    ]
    javascript = check(team, orders.pk, "javascript", "export const x = 1;\n").json()
    assert "export async function handler" in javascript["problems"][0]["message"]


@pytest.mark.parametrize("endpoint", ["preview", "check-code"])
def test_only_editors_may_ask(team: Team, orders: Flow, endpoint: str) -> None:
    body = {"template": "{{ 1 }}", "language": "python", "code": "def handler(e, c): pass"}
    url = f"/api/flows/{orders.pk}/{endpoint}/"
    assert team.client(team.viewer).post(url, body, format="json").status_code == 403
    assert team.client(team.outsider).post(url, body, format="json").status_code == 404
    assert team.client(None).post(url, body, format="json").status_code in (401, 403)
    assert team.client(team.admin).post(url, body, format="json").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "template"),
        ({"template": ["x"]}, "template"),
        ({"template": "x" * (512 * 1024 + 1)}, "template"),
        ({"template": "x", "mode": "sql"}, "mode"),
        ({"template": "x", "steps": ["build"]}, "steps"),
        ({"template": "x", "trigger": {"deep": "\x00"}}, "trigger"),
        ({"template": "x", "trigger": {"blob": "y" * 3000}}, "trigger"),
        ({"template": "x\ud800"}, "template"),
    ],
)
def test_a_bad_preview_request_is_refused_naming_the_field(
    team: Team, orders: Flow, settings: SettingsWrapper, body: dict[str, Any], field: str
) -> None:
    settings.TRIBUTARY_MAX_OUTPUT_BYTES = 2048
    response = preview(team, orders.pk, **body)
    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "x"}, "language"),
        ({"language": "ruby", "code": "x"}, "language"),
        ({"language": "python"}, "code"),
        ({"language": "python", "code": "x" * (256 * 1024 + 1)}, "code"),
        ({"language": "javascript", "code": "\x00"}, "code"),
        ({"language": "javascript", "code": "'\udc00'"}, "code"),
    ],
)
def test_a_bad_code_check_is_refused_naming_the_field(
    team: Team, orders: Flow, body: dict[str, Any], field: str
) -> None:
    response = post(team, f"/api/flows/{orders.pk}/check-code/", body)
    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == [field]
