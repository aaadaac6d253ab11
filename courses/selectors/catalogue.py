"""Curriculum reads: the catalogue, a course with its lessons, a lesson page, the glossary."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Lower

from accounts.models import User
from config.errors import NotFoundError
from courses.models import (
    Course,
    GlossaryTerm,
    Lesson,
    LessonProgress,
    Level,
    PublicationStatus,
    Quiz,
    Stage,
)

PUBLISHED = PublicationStatus.PUBLISHED


def course_list(*, stage: str | None = None, level: str | None = None) -> QuerySet[Course]:
    """Published courses with stage, level and published lessons prefetched (3 queries total).

    ``stage`` filters by stage slug, ``level`` by level code; unknown values give an empty list.
    Each course carries ``lesson_count`` and ``minutes_total`` [min] annotations.
    """
    courses = (
        Course.objects.published()
        .select_related("stage", "level")
        .annotate(
            lesson_count=Count("lessons", filter=Q(lessons__status=PUBLISHED)),
            minutes_total=Sum("lessons__minutes", filter=Q(lessons__status=PUBLISHED)),
        )
        .prefetch_related(
            Prefetch(
                "lessons",
                queryset=Lesson.objects.published().order_by("order", "slug"),
                to_attr="published_lessons",
            ),
        )
        .order_by("stage__order", "order", "slug")
    )
    if stage:
        courses = courses.filter(stage__slug=stage)
    if level:
        courses = courses.filter(level__code=level)
    return courses


@dataclass(frozen=True)
class StageSection:
    """One stage of the catalogue and its published courses, grouped by level."""

    stage: Stage
    levels: list[tuple[Level, list[Course]]]


def catalogue() -> list[StageSection]:
    """Every stage with its published courses grouped by level, in curriculum order.

    Stages without published courses are kept (the page says what is coming). Four queries.
    """
    courses = list(course_list())
    sections = []
    for stage in Stage.objects.order_by("order", "slug"):
        by_level: dict[int, tuple[Level, list[Course]]] = {}
        for course in courses:
            if course.stage_id == stage.id:
                by_level.setdefault(course.level_id, (course.level, []))[1].append(course)
        levels = sorted(by_level.values(), key=lambda pair: pair[0].code)
        sections.append(StageSection(stage=stage, levels=levels))
    return sections


def course_get(*, slug: str, include_drafts: bool = False) -> Course:
    """One course with stage, level, quiz, prerequisites, required scenarios and lessons.

    Learners see published courses and lessons only (``include_drafts`` is for the admin
    preview); the course's lessons are in ``course.visible_lessons``. Raises ``NotFoundError``.
    """
    lessons = Lesson.objects.order_by("order", "slug").select_related("scenario")
    courses = Course.objects.all()
    if not include_drafts:
        lessons, courses = lessons.filter(status=PUBLISHED), courses.filter(status=PUBLISHED)
    course = (
        courses.select_related("stage", "level", "quiz")
        .prefetch_related(
            Prefetch("lessons", queryset=lessons, to_attr="visible_lessons"),
            Prefetch("prerequisites", queryset=Course.objects.published()),
            "required_scenarios",
        )
        .filter(slug=slug)
        .first()
    )
    if course is None:
        raise NotFoundError(f"No course {slug!r}.", field="course")
    return course


def course_quiz(*, course: Course) -> Quiz | None:
    """The course's quiz with questions and choices in order (3 queries), or ``None``."""
    return Quiz.objects.filter(course=course).prefetch_related("questions__choices").first()


def done_lesson_ids(*, user: User | None, lesson_ids: list[int]) -> set[int]:
    """Which of ``lesson_ids`` the user has completed (empty for anonymous visitors)."""
    if user is None or not user.is_authenticated or not lesson_ids:
        return set()
    return set(
        LessonProgress.objects.filter(learner=user, lesson_id__in=lesson_ids).values_list(
            "lesson_id", flat=True
        )
    )


@dataclass(frozen=True)
class LessonPage:
    """Everything the lesson page shows: the lesson, its neighbours and the learner's mark."""

    course: Course
    lesson: Lesson
    previous: Lesson | None
    next: Lesson | None
    position: int
    is_done: bool


def lesson_page(
    *, course_slug: str, lesson_slug: str, user: User | None, include_drafts: bool = False
) -> LessonPage:
    """A lesson with previous/next within its course and whether ``user`` completed it.

    ``include_drafts`` (the admin preview) shows draft lessons and courses exactly as learners
    would see them once published. Raises ``NotFoundError``.
    """
    course = course_get(slug=course_slug, include_drafts=include_drafts)
    lessons = course.visible_lessons
    index = next((i for i, lesson in enumerate(lessons) if lesson.slug == lesson_slug), None)
    if index is None:
        raise NotFoundError(f"No lesson {lesson_slug!r} in {course_slug!r}.", field="lesson")
    lesson = lessons[index]
    return LessonPage(
        course=course,
        lesson=lesson,
        previous=lessons[index - 1] if index > 0 else None,
        next=lessons[index + 1] if index + 1 < len(lessons) else None,
        position=index + 1,
        is_done=bool(done_lesson_ids(user=user, lesson_ids=[lesson.id])),
    )


def glossary_search(*, query: str = "") -> QuerySet[GlossaryTerm]:
    """Glossary terms in alphabetical order, filtered by ``query`` (term, alias or definition).

    Aliases live in a JSON list; matching them with ``icontains`` on the JSON text works on
    SQLite and Postgres alike and is plenty for a few hundred terms.
    """
    terms = GlossaryTerm.objects.order_by(Lower("term"), "slug")
    query = query.strip()
    if query:
        terms = terms.filter(
            Q(term__icontains=query) | Q(aliases__icontains=query) | Q(short__icontains=query)
        )
    return terms
