"""API shapes for runs, steps and secrets (whose values are write-only)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from designer.models import Workspace
from runtime.models import Run, Secret, StepRun


class StepRunSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True)

    class Meta:
        model = StepRun
        fields = [
            "node_id",
            "name",
            "kind",
            "status",
            "attempt",
            "failures",
            "input",
            "output",
            "handle",
            "logs",
            "error",
            "error_detail",
            "reused",
            "queued_at",
            "started_at",
            "finished_at",
            "wake_at",
            "duration_seconds",
        ]
        read_only_fields = fields

    def get_name(self, step: StepRun) -> str:
        return str(self.context.get("names", {}).get(step.node_id, step.node_id))


class RunSerializer(serializers.ModelSerializer):
    flow_name = serializers.CharField(source="flow.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    started_by = serializers.CharField(source="started_by.username", default=None, read_only=True)
    duration_seconds = serializers.FloatField(read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "flow",
            "flow_name",
            "version",
            "status",
            "trigger_kind",
            "trigger_node",
            "origin",
            "is_test",
            "started_by",
            "rerun_of",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "input", "output", "steps"]
        read_only_fields = fields

    def get_steps(self, run: Run) -> list[dict[str, Any]]:
        names = {node["id"]: node.get("name", node["id"]) for node in run.version.graph["nodes"]}
        steps = run.steps.all().order_by("id")
        return list(StepRunSerializer(steps, many=True, context={"names": names}).data)


class RunStartSerializer(serializers.Serializer):
    input = serializers.JSONField(required=False, default=dict)
    version = serializers.IntegerField(required=False, min_value=1)
    trigger = serializers.CharField(required=False, max_length=64)
    test = serializers.BooleanField(required=False, default=False)


class RunAgainSerializer(serializers.Serializer):
    version = serializers.ChoiceField(choices=["same", "live"], default="same")
    input = serializers.JSONField(required=False)


class SecretSerializer(serializers.ModelSerializer):
    workspace: serializers.PrimaryKeyRelatedField[Workspace] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = Secret
        fields = [
            "id",
            "workspace",
            "name",
            "description",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SecretWriteSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, required=False)
    name = serializers.CharField(max_length=100, required=False)
    value = serializers.CharField(max_length=64 * 1024, trim_whitespace=False, write_only=True)
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
