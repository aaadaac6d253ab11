"""Read-only admin for scores and post-mortems: they are facts written by the run pipeline."""

from django.contrib import admin

from scoring.models import PostMortem, Score


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and detail pages, no add/change/delete: rows come only from ``assessment_save``."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
