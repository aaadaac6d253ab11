"""Read-only admin for scores and post-mortems: they are facts written by the run pipeline."""

import json

from django.contrib import admin
from django.utils.html import format_html

from scoring.models import PostMortem, Score


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and detail pages, no add/change/delete: rows come only from ``assessment_save``."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    list_display = [
        "run",
        "run__scenario",
        "run__owner",
        "points",
        "passed",
        "p_contract_met",
        "availability",
        "latency_ms",
        "monthly_cost_usd",
        "created_at",
    ]
    list_filter = ["passed", "run__scenario", "created_at"]
    list_select_related = ["run__scenario", "run__owner"]
    search_fields = ["run__owner__username", "run__scenario__slug"]
    date_hierarchy = "created_at"


@admin.register(PostMortem)
class PostMortemAdmin(ReadOnlyAdmin):
    list_display = [
        "run",
        "run__scenario",
        "run__owner",
        "root_cause_kind",
        "minutes_in_breach",
        "created_at",
    ]
    list_filter = ["root_cause_kind", "run__scenario", "created_at"]
    list_select_related = ["run__scenario", "run__owner"]
    search_fields = ["run__owner__username", "run__scenario__slug", "summary"]
    date_hierarchy = "created_at"
    fields = [
        "run",
        "summary",
        "root_cause_kind",
        "minutes_in_breach",
        "root_cause_json",
        "contributing_factors_json",
        "impact_json",
        "fixes_json",
        "timeline_json",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="Root cause")
    def root_cause_json(self, obj):
        return _pretty(obj.root_cause)

    @admin.display(description="Contributing factors")
    def contributing_factors_json(self, obj):
        return _pretty(obj.contributing_factors)

    @admin.display(description="Impact")
    def impact_json(self, obj):
        return _pretty(obj.impact)

    @admin.display(description="What would have helped (modified designs omitted)")
    def fixes_json(self, obj):
        return _pretty([{k: v for k, v in fix.items() if k != "design"} for fix in obj.fixes])

    @admin.display(description="Timeline")
    def timeline_json(self, obj):
        return _pretty(obj.timeline)
