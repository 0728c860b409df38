"""API shapes for runs, steps and secrets (whose values are write-only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from designer.models import Workspace
from runtime import disclosure
from runtime.http import items
from runtime.kinds.idempotency import effect_keys
from runtime.models import (
    Connection,
    ConnectionKind,
    ContainerImage,
    QueueDeadLetter,
    QueueSubscription,
    Run,
    Secret,
    StepRun,
)


class ProgressSerializer(serializers.Serializer):
    """A for-each's items: how many in all, finished (failed ones included), failed, open."""

    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    running = serializers.IntegerField()


class StepRunSerializer(serializers.ModelSerializer):
    """A step as the user may see it: context ``reveal`` (bool, default False) says
    whether what secrets flowed into is shown (runtime.disclosure); ``keys`` maps node ids
    to the idempotency keys their effects carry."""

    name = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)  # until it ends
    idempotency_key = serializers.SerializerMethodField()
    # A for-each's items: {total, done, failed, running}; null for other kinds.
    progress = serializers.SerializerMethodField()

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
            "uses_secrets",
            "idempotency_key",
            "queue",
            "queued_at",
            "started_at",
            "finished_at",
            "wake_at",
            "duration_seconds",
            "progress",
        ]
        read_only_fields = fields

    def get_name(self, step: StepRun) -> str:
        return str(self.context.get("names", {}).get(step.node_id, step.node_id))

    def get_idempotency_key(self, step: StepRun) -> str | None:
        return self.context.get("keys", {}).get(step.node_id)

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, step: StepRun) -> dict[str, Any] | None:
        return items.step_progress(step)

    def to_representation(self, instance: StepRun) -> dict[str, Any]:
        shown = disclosure.step_shown(instance, reveal=self.context.get("reveal", False))
        return super().to_representation(shown)


class RunSerializer(serializers.ModelSerializer):
    """A run as the user may see it: context ``reveal_in`` is the set of workspace ids
    where the user may see what secrets flowed into (runtime.disclosure); none by default."""

    flow_name = serializers.CharField(source="flow.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    started_by = serializers.CharField(source="started_by.username", default=None, read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)  # until it ends

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
            "uses_secrets",
            # The limit of its version's settings.concurrency (null: none) and the key it
            # shares that limit under: why a "queued" run waits.
            "concurrency_limit",
            "concurrency_key",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Run) -> dict[str, Any]:
        return super().to_representation(
            disclosure.run_shown(instance, reveal=self.reveal(instance))
        )

    def reveal(self, run: Run) -> bool:
        return run.flow.workspace_id in self.context.get("reveal_in", ())


class RunLinkSerializer(serializers.Serializer):
    """A run linked by flow.call: the caller (with the calling node) or one it called."""

    run_id = serializers.IntegerField()
    flow = serializers.IntegerField()
    flow_name = serializers.CharField()
    status = serializers.CharField()
    node_id = serializers.CharField()
    item_index = serializers.IntegerField(allow_null=True)


class RunDetailSerializer(RunSerializer):
    """Context ``family`` (runtime.selectors.run_family_for_user) gives ``parent_run``
    and ``children``: the linked runs this user may see."""

    steps = serializers.SerializerMethodField()
    # Not "parent": that name is DRF's link from a field to its serializer.
    parent_run = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "input", "output", "steps", "parent_run", "children"]
        read_only_fields = fields

    @extend_schema_field(RunLinkSerializer(allow_null=True))
    def get_parent_run(self, run: Run) -> dict[str, Any] | None:
        return self.context.get("family", {}).get("parent")

    @extend_schema_field(RunLinkSerializer(many=True))
    def get_children(self, run: Run) -> list[dict[str, Any]]:
        return list(self.context.get("family", {}).get("children", []))

    @extend_schema_field(StepRunSerializer(many=True))
    def get_steps(self, run: Run) -> list[dict[str, Any]]:
        nodes = run.version.graph["nodes"]
        context = {
            "names": {node["id"]: node.get("name", node["id"]) for node in nodes},
            "keys": effect_keys(run_id=run.pk, created_at=run.created_at, nodes=nodes),
            "reveal": self.reveal(run),
        }
        steps = run.steps.all().order_by("id")
        return list(StepRunSerializer(steps, many=True, context=context).data)


class ItemRunSerializer(serializers.Serializer):
    """One item of a for-each: its run (a link to its steps), status and an excerpt of
    its output or error (hidden from viewers when it used secrets)."""

    run_id = serializers.IntegerField()
    item_index = serializers.IntegerField()
    status = serializers.CharField()
    duration_seconds = serializers.FloatField(allow_null=True)
    excerpt = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class StepItemsSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    progress = ProgressSerializer(allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="By status.")
    total = serializers.IntegerField(help_text="Items matching the status filter.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = ItemRunSerializer(many=True)


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


# --- Connections and queue triggers (runtime/api_connections.py) --------------------------


class ConnectionSummarySerializer(serializers.ModelSerializer):
    """What every member sees: enough to pick a connection by name in a step."""

    workspace: serializers.PrimaryKeyRelatedField[Workspace] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )

    class Meta:
        model = Connection
        fields = ["id", "workspace", "name", "kind", "description"]
        read_only_fields = fields


class ConnectionSerializer(ConnectionSummarySerializer):
    """What admins see: the settings, and whether a password is set (never the password)."""

    port = serializers.IntegerField(source="effective_port", read_only=True)
    has_password = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta(ConnectionSummarySerializer.Meta):
        fields = [
            *ConnectionSummarySerializer.Meta.fields,
            "host",
            "port",
            "database",
            "username",
            "has_password",
            "tls",
            "allow_writes",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_has_password(self, connection: Connection) -> bool:
        return bool(connection.ciphertext)


class ConnectionWriteSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, required=False)
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=ConnectionKind.choices, required=False)
    host = serializers.CharField(max_length=255, required=False)
    port = serializers.IntegerField(min_value=1, max_value=65535, required=False, allow_null=True)
    database = serializers.CharField(max_length=255, required=False, allow_blank=True)
    username = serializers.CharField(max_length=255, required=False, allow_blank=True)
    password = serializers.CharField(
        max_length=4096, required=False, allow_blank=True, trim_whitespace=False, write_only=True
    )
    tls = serializers.BooleanField(required=False)
    allow_writes = serializers.BooleanField(required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ConnectionTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


class QueueDeadLetterSerializer(serializers.ModelSerializer):
    class Meta:
        model = QueueDeadLetter
        fields = [
            "id",
            "node_id",
            "connection_name",
            "source",
            "message_id",
            "reason",
            "body",
            "body_size",
            "headers",
            "metadata",
            "received_at",
        ]
        read_only_fields = fields


class QueueSubscriptionSerializer(serializers.ModelSerializer):
    connection = serializers.CharField(source="connection.name", read_only=True)
    kind = serializers.CharField(source="connection.kind", read_only=True)

    class Meta:
        model = QueueSubscription
        fields = [
            "node_id",
            "connection",
            "kind",
            "state",
            "last_error",
            "last_error_at",
            "last_message_at",
            "consumer",
            "activated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: QueueSubscription) -> dict[str, Any]:
        # "source" is a Field attribute of every serializer: added here, not declared.
        data = dict(super().to_representation(instance))
        data["source"] = str(instance.config.get("source", ""))
        return data


# --- Container images (runtime/http/api_images.py) --------------------------------------


class ImageConfigSerializer(serializers.Serializer):
    """What a worker runs of the image, read from its config blob."""

    entrypoint = serializers.ListField(child=serializers.CharField())
    cmd = serializers.ListField(child=serializers.CharField())
    env = serializers.ListField(child=serializers.CharField(), help_text="K=V")
    working_dir = serializers.CharField(allow_blank=True)
    user = serializers.CharField(allow_blank=True)
    architecture = serializers.CharField(allow_blank=True)
    os = serializers.CharField(allow_blank=True)


class ImageSerializer(serializers.ModelSerializer):
    workspace: serializers.PrimaryKeyRelatedField[Workspace] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    # None once the user who registered it is deleted.
    created_by = serializers.CharField(
        source="created_by.username", default=None, read_only=True, allow_null=True
    )
    # None until the image is pulled (while pulling, or failed).
    config = serializers.SerializerMethodField()

    class Meta:
        model = ContainerImage
        fields = [
            "id",
            "workspace",
            "name",
            "description",
            "status",
            "error",
            "digest",
            "size",
            "source",
            "reference",
            "credentials_secret",
            "current",
            "config",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields

    @extend_schema_field(ImageConfigSerializer(allow_null=True))
    def get_config(self, image: ContainerImage) -> dict[str, Any] | None:
        return image.config or None


class ImageReferenceSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=100, help_text="^[a-z0-9][a-z0-9._-]{0,99}$")
    reference = serializers.CharField(
        max_length=500, help_text="registry.example.com/team/image:tag or ...@sha256:<digest>"
    )
    credentials_secret = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="A workspace secret holding username:password for the registry",
    )
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class ImageUploadSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=100, help_text="^[a-z0-9][a-z0-9._-]{0,99}$")
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    archive = serializers.FileField(
        help_text="docker save / podman save output (gzip allowed), or a tar of an OCI layout"
    )
