"""Django admin as the authoring tool: inlines, ordering, search, filters, preview, publishing."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from courses.models import (
    Choice,
    Course,
    Enrollment,
    GlossaryTerm,
    Lesson,
    LessonProgress,
    Level,
    PublicationStatus,
    Question,
    Quiz,
    QuizAttempt,
    Stage,
)
from courses.selectors.catalogue import lesson_page
from courses.services.authoring import course_set_status, lesson_publish, lesson_unpublish
from courses.validators import question_choice_problems
from courses.views import lesson_template_context


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "order")
    list_editable = ("order",)
    prepopulated_fields = {"slug": ("title",)}


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ("code", "title")


class LessonInline(admin.TabularInline):
    model = Lesson
    fields = ("order", "title", "slug", "minutes", "status")
    prepopulated_fields = {"slug": ("title",)}
    show_change_link = True
    extra = 0
    ordering = ("order", "slug")


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("title", "stage", "level", "order", "status", "lesson_count")
    list_editable = ("order",)
    list_filter = ("status", "stage", "level")
    search_fields = ("title", "slug", "summary")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("prerequisites", "required_scenarios")
    inlines = [LessonInline]
    actions = ["publish", "unpublish"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("stage", "level")

    @admin.display(description="Lessons")
    def lesson_count(self, obj: Course) -> int:
        return obj.lessons.count()

    @admin.action(description="Publish the selected courses")
    def publish(self, request, queryset):
        changed = course_set_status(courses=queryset, status=PublicationStatus.PUBLISHED)
        self.message_user(request, f"{changed} course(s) published.", messages.SUCCESS)

    @admin.action(description="Return the selected courses to draft")
    def unpublish(self, request, queryset):
        changed = course_set_status(courses=queryset, status=PublicationStatus.DRAFT)
        self.message_user(request, f"{changed} course(s) returned to draft.", messages.SUCCESS)


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ("title", "course", "order", "minutes", "status", "preview_link")
    list_editable = ("order",)
    list_filter = ("status", "course__stage", "course")
    search_fields = ("title", "slug", "body")
    list_select_related = ("course",)
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("scenario",)
    readonly_fields = ("preview_link",)
    actions = ["publish", "unpublish"]
    fieldsets = (
        (
            None,
            {"fields": ("course", "title", "slug", "order", "minutes", "status", "preview_link")},
        ),
        ("Content", {"fields": ("body", "recall_prompts", "recap", "sources", "scenario")}),
    )

    def get_urls(self):
        preview = path(
            "<int:pk>/preview/",
            self.admin_site.admin_view(self.preview_view),
            name="courses_lesson_preview",
        )
        return [preview, *super().get_urls()]

    @admin.display(description="Preview")
    def preview_link(self, obj: Lesson) -> str:
        if obj.pk is None:
            return "Save the lesson to preview it."
        url = reverse("admin:courses_lesson_preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">Preview as learners see it</a>', url)

    def preview_view(self, request, pk: int):
        """The learner's lesson template, rendered for a draft lesson (or course)."""
        lesson = get_object_or_404(Lesson.objects.select_related("course"), pk=pk)
        if not self.has_view_permission(request, lesson):
            raise PermissionDenied
        page = lesson_page(
            course_slug=lesson.course.slug,
            lesson_slug=lesson.slug,
            user=request.user,
            include_drafts=True,
        )
        context = lesson_template_context(page, preview=True)
        return TemplateResponse(request, "courses/lesson_detail.html", context)

    @admin.action(description="Publish the selected lessons")
    def publish(self, request, queryset):
        changed = lesson_publish(lessons=queryset.select_related("course"))
        self.message_user(request, f"{changed} lesson(s) published.", messages.SUCCESS)

    @admin.action(description="Return the selected lessons to draft")
    def unpublish(self, request, queryset):
        changed = lesson_unpublish(lessons=queryset.select_related("course"))
        self.message_user(request, f"{changed} lesson(s) returned to draft.", messages.SUCCESS)


class ChoiceInlineFormSet(BaseInlineFormSet):
    """Blocks saving a question whose choices break the rules.

    No correct choice, or several correct choices on a single-answer question.
    """

    def clean(self):
        super().clean()
        flags = [
            bool(form.cleaned_data.get("is_correct"))
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problems = question_choice_problems(kind=self.instance.kind, correct_flags=flags)
        if problems:
            raise ValidationError(problems)


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset = ChoiceInlineFormSet
    fields = ("order", "text", "is_correct", "explanation")
    extra = 0
    min_num = 2
    ordering = ("order", "id")


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "quiz", "order", "kind")
    list_filter = ("kind", "quiz")
    search_fields = ("prompt",)
    list_select_related = ("quiz",)
    inlines = [ChoiceInline]


class QuestionInlineFormSet(BaseInlineFormSet):
    """Re-checks each question's saved choices when its kind changes (multiple → single)."""

    def clean(self):
        super().clean()
        problems = []
        for form in self.forms:
            question = form.instance
            if question.pk is None or not form.cleaned_data or "kind" not in form.changed_data:
                continue
            flags = [c.is_correct for c in question.choices.all()]
            for message in question_choice_problems(
                kind=form.cleaned_data["kind"], correct_flags=flags
            ):
                problems.append(f"Question {question.order}: {message}")
        if problems:
            raise ValidationError(problems)


class QuestionInline(admin.StackedInline):
    """Questions in their quiz. New questions are added on the question page, together with
    their choices, so that a question never exists without a correct choice."""

    model = Question
    formset = QuestionInlineFormSet
    fields = ("order", "prompt", "kind", "explanation")
    extra = 0
    show_change_link = True
    ordering = ("order", "id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ("title", "course", "pass_threshold", "grading_policy", "question_count")
    list_filter = ("grading_policy",)
    search_fields = ("title", "slug", "course__title")
    list_select_related = ("course",)
    inlines = [QuestionInline]

    @admin.display(description="Questions")
    def question_count(self, obj: Quiz) -> int:
        return obj.questions.count()


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(admin.ModelAdmin):
    list_display = ("term", "slug", "short")
    search_fields = ("term", "slug", "aliases", "short", "long")
    prepopulated_fields = {"slug": ("term",)}


class ReadOnlyAdmin(admin.ModelAdmin):
    """Progress is written by the services only; admins may look, filter and delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = (
        "learner",
        "course",
        "percent",
        "lessons_done",
        "lessons_total",
        "last_activity_at",
    )
    list_filter = ("course",)
    search_fields = ("learner__username", "course__title")
    list_select_related = ("learner", "course")


@admin.register(LessonProgress)
class LessonProgressAdmin(ReadOnlyAdmin):
    list_display = ("learner", "lesson", "completed_at")
    list_filter = ("lesson__course",)
    search_fields = ("learner__username", "lesson__title")
    list_select_related = ("learner", "lesson")


@admin.register(QuizAttempt)
class QuizAttemptAdmin(ReadOnlyAdmin):
    list_display = ("learner", "quiz", "score", "passed", "created_at")
    list_filter = ("passed", "quiz")
    search_fields = ("learner__username", "quiz__title")
    list_select_related = ("learner", "quiz")
