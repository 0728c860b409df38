"""Admin for workspaces and flows. Versions and the audit trail are history: read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from designer.models import Flow, FlowEvent, FlowVersion, Membership, Workspace


class ReadOnlyAdmin(admin.ModelAdmin):
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
class WorkspaceAdmin(admin.ModelAdmin):
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
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "live_version", "owner", "updated_at", "archived_at"]
    list_filter = ["workspace", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description"]
    # Publishing goes through the API/designer so it is validated and audited.
    readonly_fields = ["live_version", "created_at", "updated_at", "archived_at", "owner"]
    inlines = [VersionInline]


@admin.register(FlowVersion)
class FlowVersionAdmin(ReadOnlyAdmin):
    list_display = ["flow", "number", "message", "author", "created_at"]
    list_filter = ["flow__workspace"]
    search_fields = ["flow__name", "message"]
    list_select_related = ["flow", "author"]


@admin.register(FlowEvent)
class FlowEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "flow", "action", "actor", "from_version", "to_version"]
    list_filter = ["action", "flow__workspace"]
    search_fields = ["flow__name", "actor__username"]
    list_select_related = ["flow", "actor"]
    date_hierarchy = "created_at"
