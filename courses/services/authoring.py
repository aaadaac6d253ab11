"""Authoring: publishing and unpublishing lessons and courses (admin actions call these)."""

from collections.abc import Iterable

from django.db import transaction

from courses.models import Course, Lesson, PublicationStatus
from courses.services.progress import enrollments_refresh


def _set_lesson_status(lessons: Iterable[Lesson], status: str) -> int:
    changed = [lesson for lesson in lessons if lesson.status != status]
    for lesson in changed:
        lesson.status = status
        lesson.full_clean()
        lesson.save(update_fields=["status", "updated_at"])
    # A lesson's publication changes every enrollment's total, percent and resume point.
    for course_id in {lesson.course_id for lesson in changed}:
        enrollments_refresh(course=Course.objects.get(pk=course_id))
    return len(changed)


@transaction.atomic
def lesson_publish(*, lessons: Iterable[Lesson]) -> int:
    """Publish the given lessons; returns how many changed (already published ones are skipped)."""
    return _set_lesson_status(lessons, PublicationStatus.PUBLISHED)


@transaction.atomic
def lesson_unpublish(*, lessons: Iterable[Lesson]) -> int:
    """Return the given lessons to draft; learners' completions are kept but stop counting."""
    return _set_lesson_status(lessons, PublicationStatus.DRAFT)


@transaction.atomic
def course_set_status(*, courses: Iterable[Course], status: PublicationStatus) -> int:
    """Publish or unpublish courses; returns how many changed."""
    changed = 0
    for course in courses:
        if course.status != status:
            course.status = status
            course.full_clean()
            course.save(update_fields=["status", "updated_at"])
            changed += 1
    return changed
