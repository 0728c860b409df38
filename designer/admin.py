"""Admin for workspaces and flows. Versions and the audit trail are history: read-only.

Every admin page lists only what belongs to workspaces the staff user administers (all of
them, for a superuser): querysets, foreign-key choices and filters go through
designer.access like every other read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from designer import access
from designer.models import Flow, FlowEvent, FlowVersion, Membership, Role, Workspace

if TYPE_CHECKING:  # the stubs' name for "text or lazy text"; it exists only in them
    from django.utils.functional import _StrOrPromise


class WorkspaceScoped(admin.ModelAdmin):
    """Rows of the workspaces the user administers; ``workspace_path`` leads from a row to
    its workspace (``"flow__workspace"``; ``"pk"`` for workspaces themselves)."""

    workspace_path: ClassVar[str] = "workspace"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return access.scope(
            super().get_queryset(request),
            user=request.user,
            via=self.workspace_path,
            min_role=Role.ADMIN,
        )

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.related_model is Workspace:
            kwargs["queryset"] = access.workspace_list_for_user(
                user=request.user, min_role=Role.ADMIN
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedFilter(admin.RelatedFieldListFilter):
    """A filter over a relation to a workspace or a flow that offers only those the user
    administers (Django's own lists every row of the related table)."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, _StrOrPromise]]:
        user, admin_role = request.user, Role.ADMIN
        if field.related_model is Workspace:
            choices: QuerySet[Any] = access.workspace_list_for_user(user=user, min_role=admin_role)
        elif field.related_model is Flow:
            choices = access.flow_list_for_user(user=user, archived=None, min_role=admin_role)
        else:
            raise TypeError(f"ScopedFilter covers workspaces and flows, not {field.related_model}")
        return [(str(row.pk), str(row)) for row in choices]


class ReadOnlyAdmin(WorkspaceScoped):
    """History that must not change: viewable, never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScoped):
    workspace_path = "pk"
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


class VersionInline(admin.TabularInline):
    model = FlowVersion
    fields = ("number", "message", "author", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Flow)
class FlowAdmin(WorkspaceScoped):
    list_display = ["name", "workspace", "live_version", "owner", "updated_at", "archived_at"]
    list_filter = [("workspace", ScopedFilter), ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description"]
    # Publishing goes through the API/designer so it is validated and audited.
    readonly_fields = ["live_version", "created_at", "updated_at", "archived_at", "owner"]
    inlines = [VersionInline]


@admin.register(FlowVersion)
class FlowVersionAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = ["flow", "number", "message", "author", "created_at"]
    list_filter = [("flow__workspace", ScopedFilter)]
    search_fields = ["flow__name", "message"]
    list_select_related = ["flow", "author"]


@admin.register(FlowEvent)
class FlowEventAdmin(ReadOnlyAdmin):
    workspace_path = "flow__workspace"
    list_display = ["created_at", "flow", "action", "actor", "from_version", "to_version"]
    list_filter = ["action", ("flow__workspace", ScopedFilter)]
    search_fields = ["flow__name", "actor__username"]
    list_select_related = ["flow", "actor"]
    date_hierarchy = "created_at"
