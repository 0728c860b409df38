"""API shapes for flows, versions and the audit trail. Input serializers only check types;
the services own the rules."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework import serializers

from designer.models import Flow, FlowEvent, FlowVersion, Workspace


class WorkspaceSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "role"]

    def get_role(self, workspace: Workspace) -> str | None:
        return self.context.get("roles", {}).get(workspace.pk)


class FlowSerializer(serializers.ModelSerializer):
    workspace: serializers.PrimaryKeyRelatedField[Workspace] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    owner: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    live_version = serializers.SerializerMethodField()
    latest_version = serializers.SerializerMethodField()
    archived = serializers.BooleanField(source="is_archived", read_only=True)

    class Meta:
        model = Flow
        fields = [
            "id",
            "name",
            "description",
            "workspace",
            "owner",
            "live_version",
            "latest_version",
            "archived",
            "archived_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_live_version(self, flow: Flow) -> int | None:
        return flow.live_version.number if flow.live_version else None

    def get_latest_version(self, flow: Flow) -> int | None:
        if hasattr(flow, "latest_version"):
            return flow.latest_version
        version = flow.versions.order_by("-number").values_list("number", flat=True).first()
        return version


class FlowCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    workspace = serializers.IntegerField(required=False, min_value=1)
    graph = serializers.JSONField(required=False)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True)


class FlowUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class VersionSerializer(serializers.ModelSerializer):
    author: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    is_live = serializers.SerializerMethodField()

    class Meta:
        model = FlowVersion
        fields = ["number", "message", "author", "based_on", "created_at", "is_live"]
        read_only_fields = fields

    def get_is_live(self, version: FlowVersion) -> bool:
        return bool(self.context.get("live_version_id") == version.pk)


class VersionDetailSerializer(VersionSerializer):
    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "graph"]
        read_only_fields = fields


class VersionCreateSerializer(serializers.Serializer):
    graph = serializers.JSONField()
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    based_on = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)
    force = serializers.BooleanField(required=False, default=False)


class PublishSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class FlowEventSerializer(serializers.ModelSerializer):
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = FlowEvent
        fields = ["action", "actor", "from_version", "to_version", "detail", "created_at"]
        read_only_fields = fields
