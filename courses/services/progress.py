"""Enrollment, lesson completion and the denormalised progress kept on each enrollment."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import NotFoundError
from courses.models import Course, Enrollment, Lesson, LessonProgress, PublicationStatus


def _require_published_course(course: Course) -> None:
    if course.status != PublicationStatus.PUBLISHED:
        raise NotFoundError(f"No published course {course.slug!r}.", field="course")


def enrollments_refresh(*, course: Course, learner_ids: Iterable[int] | None = None) -> int:
    """Recompute done / total / percent / resume lesson for a course's enrollments.

    Set-based: two queries for the facts and one ``bulk_update`` however many learners.
    ``learner_ids`` narrows the refresh (``None`` = every enrollment of the course).
    Returns the number of enrollments refreshed.
    """
    enrollments = Enrollment.objects.filter(course=course)
    if learner_ids is not None:
        enrollments = enrollments.filter(learner_id__in=list(learner_ids))
    enrollments = list(enrollments)
    if not enrollments:
        return 0
    lesson_ids = list(
        course.lessons.published().order_by("order", "slug").values_list("id", flat=True)
    )
    done: dict[int, set[int]] = defaultdict(set)
    for learner_id, lesson_id in LessonProgress.objects.filter(
        learner_id__in=[e.learner_id for e in enrollments], lesson_id__in=lesson_ids
    ).values_list("learner_id", "lesson_id"):
        done[learner_id].add(lesson_id)
    now = timezone.now()  # bulk_update does not apply auto_now
    for enrollment in enrollments:
        done_ids = done[enrollment.learner_id]
        enrollment.updated_at = now
        enrollment.lessons_total = len(lesson_ids)
        enrollment.lessons_done = len(done_ids)
        enrollment.percent = (100 * len(done_ids) // len(lesson_ids)) if lesson_ids else 0
        enrollment.resume_lesson_id = next((i for i in lesson_ids if i not in done_ids), None)
    Enrollment.objects.bulk_update(
        enrollments, ["lessons_total", "lessons_done", "percent", "resume_lesson", "updated_at"]
    )
    return len(enrollments)


@transaction.atomic
def enrollment_create(
    *, learner: User, course: Course, now: datetime | None = None
) -> tuple[Enrollment, bool]:
    """Enroll ``learner`` in a published ``course``; enrolling twice returns the same row.

    Returns ``(enrollment, created)``. Raises ``NotFoundError`` for a draft course.
    """
    _require_published_course(course)
    enrollment, created = Enrollment.objects.get_or_create(
        learner=learner, course=course, defaults={"last_activity_at": now or timezone.now()}
    )
    if created:
        enrollments_refresh(course=course, learner_ids=[learner.pk])
        enrollment.refresh_from_db()
    return enrollment, created


@transaction.atomic
def lesson_complete(
    *, learner: User, lesson: Lesson, now: datetime | None = None
) -> tuple[Enrollment, bool]:
    """Mark a published lesson done for ``learner`` (enrolling them if needed).

    Completing a lesson twice is harmless: the second call changes nothing and returns
    ``created=False``. Returns ``(enrollment, created)``; raises ``NotFoundError`` for a draft
    lesson or course.
    """
    if lesson.status != PublicationStatus.PUBLISHED:
        raise NotFoundError(f"No published lesson {lesson.slug!r}.", field="lesson")
    now = now or timezone.now()
    enrollment, _ = enrollment_create(learner=learner, course=lesson.course, now=now)
    _, created = LessonProgress.objects.get_or_create(
        learner=learner, lesson=lesson, defaults={"completed_at": now}
    )
    if created:
        enrollments_refresh(course=lesson.course, learner_ids=[learner.pk])
        enrollment.refresh_from_db()
        enrollment_touch(enrollment=enrollment, now=now)
    return enrollment, created


def enrollment_touch(*, enrollment: Enrollment, now: datetime) -> None:
    """Record activity on an enrollment (the dashboard sorts by it)."""
    enrollment.last_activity_at = now
    enrollment.save(update_fields=["last_activity_at", "updated_at"])
