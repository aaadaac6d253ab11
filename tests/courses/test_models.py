"""Database constraints hold even when a caller bypasses the services."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from courses.models import Choice, Enrollment, LessonProgress, Quiz, QuizAttempt
from tests.courses.factories import (
    ChoiceFactory,
    CourseFactory,
    LessonFactory,
    QuestionFactory,
    QuizFactory,
)

pytestmark = pytest.mark.django_db


def test_one_enrollment_per_learner_and_course(user):
    course = CourseFactory()
    Enrollment.objects.create(learner=user, course=course)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(learner=user, course=course)


def test_one_lesson_progress_per_learner_and_lesson(user):
    lesson = LessonFactory()
    LessonProgress.objects.create(learner=user, lesson=lesson, completed_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        LessonProgress.objects.create(learner=user, lesson=lesson, completed_at=timezone.now())


def test_lesson_slug_unique_within_a_course_only():
    lesson = LessonFactory(slug="intro")
    LessonFactory(slug="intro")  # another course: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        LessonFactory(slug="intro", course=lesson.course)


def test_enrollment_percent_cannot_exceed_100(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            learner=user, course=CourseFactory(), percent=101, lessons_done=1, lessons_total=1
        )


def test_enrollment_done_cannot_exceed_total(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            learner=user, course=CourseFactory(), lessons_done=3, lessons_total=2
        )


def test_choice_needs_an_explanation():
    question = QuestionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Choice.objects.create(question=question, text="x", explanation="")


def test_pass_threshold_is_a_fraction():
    with pytest.raises(IntegrityError), transaction.atomic():
        Quiz.objects.create(
            course=CourseFactory(), slug="q", title="Q", pass_threshold=Decimal("1.50")
        )


def test_attempt_score_is_a_fraction(user):
    quiz = QuizFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        QuizAttempt.objects.create(
            learner=user,
            quiz=quiz,
            answers=[],
            correct_count=1,
            question_count=1,
            score=Decimal("1.5"),
            passed=True,
            created_at=timezone.now(),
        )


def test_attempts_are_immutable(user):
    quiz = QuizFactory()
    attempt = QuizAttempt.objects.create(
        learner=user,
        quiz=quiz,
        answers=[],
        correct_count=0,
        question_count=1,
        score=Decimal("0"),
        passed=False,
        created_at=timezone.now(),
    )
    attempt.passed = True
    with pytest.raises(ValueError, match="immutable"):
        attempt.save()
    attempt.refresh_from_db()
    assert attempt.passed is False


def test_json_fields_are_validated():
    lesson = LessonFactory.build(
        course=CourseFactory(),
        recall_prompts="not a list",
        sources=[{"title": "x", "url": "javascript:alert(1)"}],
    )
    with pytest.raises(Exception) as excinfo:
        lesson.full_clean()
    assert set(excinfo.value.message_dict) >= {"recall_prompts", "sources"}


def test_str_methods_are_readable():
    choice = ChoiceFactory(text="The tail")
    assert str(choice) == "The tail"
    assert str(choice.question.quiz) == "Quiz"
