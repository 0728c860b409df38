"""API shapes for flows, versions and the audit trail. Input serializers only check types;
the services own the rules."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from designer.graph import MAX_NAME_LENGTH, NODE_ID_PATTERN
from designer.models import Flow, FlowEvent, FlowVersion, Workspace
from runtime.services import flow_call_fields, flow_catches_failures, step_catalog

# Named NodeTypeEnum in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
NODE_TYPES = sorted(step_catalog())


class PositionSerializer(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()


class GraphNodeSerializer(serializers.Serializer):
    id = serializers.RegexField(NODE_ID_PATTERN.pattern)
    type = serializers.ChoiceField(choices=NODE_TYPES)
    name = serializers.CharField(required=False, max_length=MAX_NAME_LENGTH)
    config = serializers.DictField(
        required=False, help_text="As the kind's config_schema (GET /api/step-types/) says"
    )
    position = PositionSerializer(required=False)
    settings = serializers.DictField(
        required=False,
        help_text="timeout_seconds, retries, retry_backoff_seconds, continue_on_failure",
    )
    # DRF's Field has a ``parent`` attribute too; the serializer's metaclass takes declared
    # fields off the class, so only the type checker sees a clash.
    parent = serializers.RegexField(  # type: ignore[assignment]
        NODE_ID_PATTERN.pattern,
        required=False,
        help_text="The flow.foreach whose body holds this step; its position is then "
        "relative to that container",
    )


# Some fields below share a name with an attribute DRF's Field or Serializer has (source,
# fields, label); the serializer's metaclass takes declared fields off the class, so only
# the type checker sees a clash.


class EdgeSerializer(serializers.Serializer):
    source = serializers.CharField()  # type: ignore[assignment]  # see above
    target = serializers.CharField()
    sourceHandle = serializers.CharField(required=False)  # the graph's own key


class GraphSerializer(serializers.Serializer):
    """The graph contract (designer.graph), as the schema documents it."""

    nodes = GraphNodeSerializer(many=True)
    edges = EdgeSerializer(many=True, required=False)
    settings = serializers.DictField(
        required=False,
        help_text='Flow settings, e.g. {"concurrency": {"limit": 1}, "on_failure": {"flow": 12, '
        '"alert": {"emails": ["ops@example.com"], "quiet_minutes": 15}}}',
    )


@extend_schema_field(GraphSerializer)
class GraphField(serializers.JSONField):
    """Any JSON: designer.graph judges it, naming each problem's node and field."""


class WorkspaceSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "role"]

    def get_role(self, workspace: Workspace) -> str | None:
        return self.context.get("roles", {}).get(workspace.pk)


# One input field a called flow declares (runtime.triggers.called), for the OpenAPI schema.
# A plain schema, not a serializer: a serializer field named "required" would shadow Field's.
CALL_FIELDS_SCHEMA = {
    "type": "array",
    "nullable": True,
    "items": {
        "type": "object",
        "required": ["name", "type"],
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string", "description": "string, number, boolean, object or list"},
            "required": {"type": "boolean"},
            "description": {"type": "string"},
        },
    },
}


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
    callable = serializers.SerializerMethodField(
        help_text="Its live version starts 'When called by another flow' (flow.call can call it)."
    )
    call_fields = serializers.SerializerMethodField(
        help_text="The input fields its live version declares for callers ([]: any object); "
        "null when it cannot be called."
    )
    catches_failures = serializers.SerializerMethodField(
        help_text="Its live version starts 'When a flow fails': other flows may name it as "
        "their error flow (settings.on_failure.flow)."
    )

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
            "callable",
            "call_fields",
            "catches_failures",
        ]
        read_only_fields = fields

    def get_live_version(self, flow: Flow) -> int | None:
        return flow.live_version.number if flow.live_version else None

    def get_callable(self, flow: Flow) -> bool:
        return self.get_call_fields(flow) is not None

    @extend_schema_field(CALL_FIELDS_SCHEMA)
    def get_call_fields(self, flow: Flow) -> list[dict[str, Any]] | None:
        # The selectors load the live version with the flow: no query per flow here.
        return flow_call_fields(version=flow.live_version)

    def get_catches_failures(self, flow: Flow) -> bool:
        return flow_catches_failures(version=flow.live_version)

    def get_latest_version(self, flow: Flow) -> int | None:
        if hasattr(flow, "latest_version"):
            return flow.latest_version
        version = flow.versions.order_by("-number").values_list("number", flat=True).first()
        return version


class FlowCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    workspace = serializers.IntegerField(required=False, min_value=1)
    graph = GraphField(required=False)
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
    graph = GraphField()
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    based_on = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)
    force = serializers.BooleanField(required=False, default=False)


class PublishSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    override_tests = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="Admins: why the version goes live although its flow tests do not pass.",
    )


class FlowEventSerializer(serializers.ModelSerializer):
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = FlowEvent
        fields = ["action", "actor", "from_version", "to_version", "detail", "created_at"]
        read_only_fields = fields


# --- Answers the API builds by hand, as the OpenAPI schema documents them ----------------


class NodeChangeSerializer(serializers.Serializer):
    id = serializers.CharField()
    # Shadows Serializer.fields for the type checker only (see EdgeSerializer).
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]


class NodesDiffSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = NodeChangeSerializer(many=True)
    moved = serializers.ListField(child=serializers.CharField())


class EdgesDiffSerializer(serializers.Serializer):
    added = EdgeSerializer(many=True)
    removed = EdgeSerializer(many=True)


# "from" is a Python keyword, so this shape cannot be a class with a field of that name.
VERSION_DIFF = inline_serializer(
    name="VersionDiff",
    fields={
        "from": serializers.IntegerField(),
        "to": serializers.IntegerField(),
        "nodes": NodesDiffSerializer(),
        "edges": EdgesDiffSerializer(),
        "settings": serializers.ListField(
            child=serializers.CharField(),
            help_text="The flow settings that changed, as dotted paths (settings.on_failure.flow)",
        ),
    },
)


class FlowExportSerializer(serializers.Serializer):
    tributary = serializers.IntegerField(help_text="The export format")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    nodes = serializers.ListField(child=serializers.DictField())
    edges = serializers.ListField(child=serializers.DictField())
    settings = serializers.DictField(required=False)


class FlowImportSerializer(GraphSerializer):
    tributary = serializers.IntegerField(required=False, help_text="The export format")
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class StepTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    category = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # see EdgeSerializer
    description = serializers.CharField(allow_blank=True)
    handles = serializers.ListField(child=serializers.CharField())
    config_schema = serializers.DictField(help_text="JSON Schema of the node's config")


class LatestVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    author = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    message = serializers.CharField(allow_blank=True)


class VersionConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    latest_version = LatestVersionSerializer()
