"""Admin for connections (the password is write-only: set or replace it, never read it
back; "Test connection" reports the server's answer), the active queue triggers
(read-only: publishing decides them) and dead letters (read-only; delete when handled).

runtime/admin.py imports this module so the registrations happen."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from designer.admin import ReadOnlyAdmin, ScopedFilter, WorkspaceScoped
from runtime.models import Connection, QueueDeadLetter, QueueSubscription
from runtime.resources.connections import services
from runtime.resources.connections.params import params_of
from runtime.runs import RunRefused


class ConnectionForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        strip=False,
        required=False,
        help_text="Stored encrypted. Leave empty to keep the current one.",
    )
    clear_password = forms.BooleanField(required=False, help_text="Remove the stored password.")

    class Meta:
        model = Connection
        fields = ["workspace", *services.FIELDS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        data = {key: cleaned[key] for key in services.FIELDS if key in cleaned}
        workspace = cleaned.get("workspace")
        if workspace is None:
            return cleaned
        try:
            # The same checks as the API, without saving.
            services.connection_params_for_test(
                connection=self.instance if self.instance.pk else None,
                workspace=workspace,
                data=data,
            )
        except RunRefused as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
        return cleaned

    def save(self, commit: bool = True) -> Connection:
        connection = super().save(commit=False)
        data: dict[str, Any] = {}
        if self.cleaned_data.get("password"):
            data["password"] = self.cleaned_data["password"]
        elif self.cleaned_data.get("clear_password"):
            data["password"] = ""
        if data:
            services.apply_password(connection, data["password"])
        if commit:
            connection.save()
        return connection


@admin.register(Connection)
class ConnectionAdmin(WorkspaceScoped):
    form = ConnectionForm
    list_display = ["name", "kind", "workspace", "host", "port", "database", "allow_writes"]
    list_filter = [("workspace", ScopedFilter), "kind"]
    search_fields = ["name", "host", "description"]
    actions = ["test_connections"]

    def save_model(self, request: HttpRequest, obj: Connection, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]  # admin users are Users
        super().save_model(request, obj, form, change)
        if change:
            services.connection_touched(connection=obj)

    @admin.action(description="Test connection")
    def test_connections(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            result = services.connection_test(params=params_of(connection))
            level = messages.SUCCESS if result["ok"] else messages.ERROR
            self.message_user(request, f"{connection.name}: {result['message']}", level)


@admin.register(QueueSubscription)
class QueueSubscriptionAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = ["flow", "node_id", "connection", "state", "last_error", "last_message_at"]
    list_filter = ["state"]
    search_fields = ["flow__name", "node_id"]
    list_select_related = ["flow", "connection"]


@admin.register(QueueDeadLetter)
class QueueDeadLetterAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = ["received_at", "flow", "node_id", "source", "message_id", "reason"]
    list_filter = ["connection_name"]
    search_fields = ["flow__name", "message_id", "reason", "body"]
    list_select_related = ["flow"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Handled dead letters may be cleared; nothing else about them changes.
        return bool(request.user.is_active and request.user.is_superuser)
