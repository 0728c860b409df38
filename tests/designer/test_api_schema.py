"""The OpenAPI schema at /api/schema/ documents every answer the API gives: the success
shapes of the views that build their answers by hand, and the errors each operation can
return, in the one error shape."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from tests.conftest import Team
from tests.factories import flow
from tests.openapi import api, conforms, served_schema


def test_the_schema_generates_without_errors_or_warnings() -> None:
    # drf-spectacular could not guess ten views' answers and documented them as empty.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())


def test_every_operation_documents_its_success_and_the_refusals_it_can_give() -> None:
    for operation in served_schema().get_all_operations():
        op = operation.ok()
        codes = set(op.definition.raw["responses"])
        assert codes & {"200", "201", "202", "204"}, op.label
        assert "401" in codes, op.label
        if op.method != "get":
            assert {"400", "403"} <= codes, op.label
        if op.path_parameters:
            assert "404" in codes, op.label


def test_refusals_come_in_the_documented_error_shape(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    viewer = api(team.viewer)
    assert conforms(viewer.patch(f"/api/flows/{orders.pk}/", json={"name": "X"})).status_code == 403
    assert conforms(viewer.get("/api/runs/999999/")).status_code == 404
    assert conforms(viewer.get("/api/runs/", query_string={"flow": "x"})).status_code == 400
    editor = api(team.editor)
    too_big = editor.post("/api/flows/", data="{" * 3_000_000, content_type="application/json")
    assert conforms(too_big).status_code == 413
    not_json = editor.post("/api/flows/", data="name=x", content_type="text/plain")
    assert conforms(not_json).status_code == 415
