"""What the replay and flow-test API takes and gives (runtime/http/api_replays.py)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from runtime.models import FlowTest, ReplayBatch
from runtime.replay.flowtests import CHECKS, ON
from runtime.runs import RunRefused

NODE_ID = r"^[A-Za-z0-9_-]{1,64}$"


class ReplayStartSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="The saved version to replay on.")
    runs = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=1000
    )
    last = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    of_version = serializers.IntegerField(
        min_value=1, required=False, help_text="With last: runs of this version (default live)."
    )
    status = serializers.ChoiceField(choices=["succeeded", "failed", "cancelled"], required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    perform = serializers.ListField(
        child=serializers.RegexField(NODE_ID), required=False, max_length=100
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("runs") and not attrs.get("last"):
            raise RunRefused("Name the runs to replay, or say how many of the last.", field="runs")
        return attrs


class ReplayBatchSummarySerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = ReplayBatch
        fields = ["id", "flow", "version", "purpose", "perform", "total", "created_at"]
        read_only_fields = fields


class ReplaySerializer(serializers.Serializer):
    run = serializers.IntegerField()
    original = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    identical = serializers.BooleanField(required=False)
    differences = serializers.ListField(child=serializers.JSONField(), required=False)
    error = serializers.CharField(required=False)


class ReplayReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    flow = serializers.IntegerField()
    version = serializers.IntegerField()
    purpose = serializers.CharField()
    perform = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    started = serializers.IntegerField()
    done = serializers.BooleanField()
    total = serializers.IntegerField()
    finished = serializers.IntegerField()
    identical = serializers.IntegerField()
    differ = serializers.IntegerField()
    nodes = serializers.JSONField(help_text="node -> {runs, fields: {field: count}}")
    summary = serializers.CharField()
    replays = ReplaySerializer(many=True)


class ExpectationSerializer(serializers.Serializer):
    node = serializers.RegexField(NODE_ID)
    check = serializers.ChoiceField(choices=list(CHECKS))
    on = serializers.ChoiceField(choices=list(ON), required=False)
    value = serializers.JSONField()
    ignore = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=50
    )


class FlowTestCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    expectations = ExpectationSerializer(many=True)


class FlowTestSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlowTest
        fields = [
            "id",
            "flow",
            "name",
            "trigger_node",
            "input",
            "expectations",
            "source_run",
            "created_at",
        ]
        read_only_fields = fields


class CaseSerializer(serializers.Serializer):
    test = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=["running", "passed", "failed"])
    run = serializers.IntegerField(allow_null=True)
    failures = serializers.ListField(child=serializers.JSONField())


class TestVerdictSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["none", "missing", "running", "passed", "failed"])
    batch = serializers.IntegerField(allow_null=True)
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    cases = CaseSerializer(many=True)
