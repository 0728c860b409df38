"""Shapes of the answers the runtime API builds by hand (trigger lists, webhook URLs, cron
previews, emitted events) or whose fields depend on who asks (connections), as serializers
the OpenAPI schema documents them with. The views render plain dicts or the serializers in
runtime.http.serializers; tests/test_api_fuzz.py holds their answers to these shapes."""

from __future__ import annotations

from rest_framework import serializers

from runtime.http.serializers import ConnectionSerializer, ConnectionSummarySerializer


class ConnectionShownSerializer(ConnectionSummarySerializer):
    """A connection as a member reads it: every member gets the summary; the admins of its
    workspace get the settings too (ConnectionSerializer), so those are optional here."""

    host = serializers.CharField(required=False, help_text="Admins only, as all below")
    port = serializers.IntegerField(required=False)
    database = serializers.CharField(required=False, allow_blank=True)
    username = serializers.CharField(required=False, allow_blank=True)
    has_password = serializers.BooleanField(required=False)
    tls = serializers.BooleanField(required=False)
    allow_writes = serializers.BooleanField(required=False)
    created_by = serializers.CharField(required=False, allow_null=True)
    created_at = serializers.DateTimeField(required=False)
    updated_at = serializers.DateTimeField(required=False)

    class Meta(ConnectionSummarySerializer.Meta):
        fields = ConnectionSerializer.Meta.fields


class TriggerSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    type = serializers.CharField()
    active = serializers.BooleanField(help_text="Live version of a flow that is not archived")
    url = serializers.URLField(required=False, help_text="Webhook triggers only")


class WebhookUrlSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    url = serializers.URLField()


# Named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]: runs and steps have a "status" too.
LISTEN_STATES = ["idle", "waiting", "expired", "captured"]


class WebhookListenSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LISTEN_STATES)
    url = serializers.URLField(required=False)
    payload = serializers.JSONField(required=False, allow_null=True)
    captured_at = serializers.DateTimeField(required=False)
    expires_at = serializers.DateTimeField(required=False)


class CronPreviewSerializer(serializers.Serializer):
    next = serializers.ListField(
        child=serializers.DateTimeField(), help_text="The next fire times, in the time zone"
    )


class EmittedRunSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    flow_id = serializers.IntegerField()
    flow = serializers.CharField()


class EventEmittedSerializer(serializers.Serializer):
    runs = EmittedRunSerializer(many=True)
