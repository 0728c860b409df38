"""Admin for run history (read-only: history must not change), secrets (values are
write-only: set or replace them, never read them back) and the active triggers (read-only:
publishing decides them)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

import runtime.resources.connections.admin  # noqa: F401  # registers connections, queue consumers, dead letters
from designer.admin import ReadOnlyAdmin, ScopedFilter, WorkspaceScoped
from designer.selectors import version_numbers_for_user
from runtime.models import (
    CronSchedule,
    DbChangeSubscription,
    EventSubscription,
    Run,
    Secret,
    StepRun,
    WebhookEndpoint,
)
from runtime.resources.secrets import NAME_PATTERN, secret_encrypt


class StepRunInline(admin.TabularInline):
    model = StepRun
    fields = ("node_id", "kind", "status", "attempt", "error", "started_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionNumberFilter(admin.SimpleListFilter):
    """Runs on version number n (of the flow chosen beside it, or of any flow). The choices
    are the version numbers that exist; ``?version=<n>`` works for any n."""

    title = "version"
    parameter_name = "version"
    MAX_CHOICES = 100

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        flow = request.GET.get("flow__id__exact", "")
        numbers = version_numbers_for_user(
            user=request.user,
            flow_id=int(flow) if flow.isascii() and flow.isdigit() and len(flow) < 19 else None,
            limit=self.MAX_CHOICES,
        )
        return [(str(number), f"v{number}") for number in numbers]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> QuerySet[Run]:
        value = self.value() or ""
        if value.isascii() and value.isdigit() and len(value) < 10:
            return queryset.filter(version__number=int(value))
        return queryset


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = [
        "id",
        "flow",
        "version_number",
        "status",
        "trigger_kind",
        "created_at",
        "duration",
    ]
    # "flow" lists the flows themselves (not a DISTINCT over millions of runs).
    list_filter = [
        ("flow", ScopedFilter),
        VersionNumberFilter,
        "status",
        "trigger_kind",
        "is_test",
        ("flow__workspace", ScopedFilter),
    ]
    search_fields = ["=id", "flow__name", "origin", "error"]
    list_select_related = ["flow", "version"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over millions of runs
    inlines = [StepRunInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        # A version's graph can be a megabyte; the list needs only its number.
        return super().get_queryset(request).defer("version__graph")

    @admin.display(description="duration")
    def duration(self, run: Run) -> str:
        # Shorter than a second timestamp: the list fits a 1280 px screen beside the filters.
        seconds = run.duration_seconds
        return "—" if seconds is None else f"{seconds:.2f} s"

    @admin.display(description="version", ordering="version__number")
    def version_number(self, run: Run) -> str:
        # Not str(version): that reads the version's flow again, once per row.
        return f"v{run.version.number}"


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdmin):
    workspace_path = "run__flow__workspace"
    list_display = ["run", "node_id", "kind", "status", "attempt", "started_at", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["=run__id", "node_id", "error"]
    list_select_related = ["run"]
    show_full_result_count = False


class SecretForm(forms.ModelForm):
    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        strip=False,
        help_text="Stored encrypted. Leave empty to keep the current value.",
        required=False,
    )

    class Meta:
        model = Secret
        fields = ["workspace", "name", "description"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not NAME_PATTERN.match(name):
            raise forms.ValidationError("Letters, digits and _, starting with a letter.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance.pk and not cleaned.get("value"):
            self.add_error("value", "A new secret needs a value.")
        return cleaned

    def save(self, commit: bool = True) -> Secret:
        secret = super().save(commit=False)
        if self.cleaned_data.get("value"):
            secret.ciphertext = secret_encrypt(self.cleaned_data["value"])
        if commit:
            secret.save()
        return secret


@admin.register(Secret)
class SecretAdmin(WorkspaceScoped):
    form = SecretForm
    list_display = ["name", "workspace", "description", "created_by", "updated_at"]
    list_filter = [("workspace", ScopedFilter)]
    search_fields = ["name", "description"]
    exclude = ["ciphertext"]

    def save_model(self, request: HttpRequest, obj: Secret, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]  # admin users are Users
        super().save_model(request, obj, form, change)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = ["flow", "node_id", "created_at", "rotated_at", "last_error"]
    search_fields = ["flow__name", "node_id"]
    list_select_related = ["flow"]


@admin.register(CronSchedule)
class CronScheduleAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = ["flow", "node_id", "expression", "timezone", "next_fire_at", "last_error"]
    search_fields = ["flow__name", "expression"]
    list_select_related = ["flow"]


@admin.register(EventSubscription)
class EventSubscriptionAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = ["pattern", "flow", "node_id", "condition"]
    search_fields = ["pattern", "flow__name"]
    list_select_related = ["flow"]


@admin.register(DbChangeSubscription)
class DbChangeSubscriptionAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = ["table", "flow", "node_id", "operations", "columns"]
    search_fields = ["table", "flow__name"]
    list_select_related = ["flow"]
