"""Admin: authors edit scenarios (validated by the engine); runs and designs are read-only."""

from django import forms
from django.contrib import admin, messages

from simulations.models import Design, Run, RunResult, Scenario
from simulations.services.runs import run_fail
from simulations.services.scenarios import scenario_document_problems


class ScenarioAdminForm(forms.ModelForm):
    class Meta:
        model = Scenario
        fields = [
            "slug",
            "title",
            "summary",
            "brief",
            "teaching_notes",
            "pressure",
            "level",
            "order",
            "spec",
            "starter_design",
            "is_published",
        ]

    def clean(self):
        cleaned = super().clean()
        if "spec" in cleaned and "starter_design" in cleaned:
            document = {**cleaned, "slug": cleaned.get("slug") or (self.instance.slug or "draft")}
            problems = scenario_document_problems(document)
            if problems:
                raise forms.ValidationError(problems)
        return cleaned


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    form = ScenarioAdminForm
    list_display = ["title", "slug", "pressure", "level", "order", "is_published", "updated_at"]
    list_filter = ["pressure", "level", "is_published"]
    search_fields = ["title", "slug", "summary"]
    prepopulated_fields = {"slug": ["title"]}


@admin.register(Design)
class DesignAdmin(admin.ModelAdmin):
    list_display = ["pk", "owner", "scenario", "created_at"]
    list_select_related = ["owner", "scenario"]
    search_fields = ["owner__username", "scenario__slug"]
    readonly_fields = ["owner", "scenario", "document", "created_at"]

    def has_add_permission(self, request):
        return False  # designs are immutable records of what a learner submitted

    def has_change_permission(self, request, obj=None):
        return False


class RunResultInline(admin.StackedInline):
    model = RunResult
    fields = ["tick_s", "monthly_cost_usd", "events"]
    readonly_fields = fields
    can_delete = False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["pk", "owner", "scenario", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status", "scenario"]
    list_select_related = ["owner", "scenario"]
    search_fields = ["owner__username", "scenario__slug", "idempotency_key"]
    readonly_fields = [f.name for f in Run._meta.fields]
    inlines = [RunResultInline]
    actions = ["fail_runs"]

    def has_add_permission(self, request):
        return False  # runs are submitted through the site or the API (run_submit)

    @admin.action(description="End the selected unfinished runs as failed (operator)")
    def fail_runs(self, request, queryset):
        failed = sum(
            run_fail(
                run_id=pk,
                reason="An operator stopped this run. Submit it again when you are ready.",
            )
            for pk in queryset.unfinished().values_list("pk", flat=True)
        )
        self.message_user(request, f"{failed} run(s) marked as failed.", messages.SUCCESS)
