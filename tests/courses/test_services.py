"""Enrollment, completion, progress, publishing and "what you still need"."""

import pytest

from config.errors import NotFoundError
from courses.models import Course, Enrollment, LessonProgress, PublicationStatus
from courses.selectors import progress
from courses.selectors.progress import requirements_for
from courses.services.authoring import course_set_status, lesson_publish, lesson_unpublish
from courses.services.progress import enrollment_create, lesson_complete
from courses.services.quizzes import quiz_attempt_submit
from tests.courses.conftest import right_answers
from tests.courses.factories import LessonFactory, QuizFactory

pytestmark = pytest.mark.django_db


def test_enrollment_create_is_idempotent(user, course):
    first, created = enrollment_create(learner=user, course=course)
    second, created_again = enrollment_create(learner=user, course=course)
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk
    assert Enrollment.objects.filter(learner=user).count() == 1


def test_new_enrollment_starts_at_the_first_published_lesson(user, course, lessons):
    enrollment, _ = enrollment_create(learner=user, course=course)
    assert (enrollment.lessons_done, enrollment.lessons_total, enrollment.percent) == (0, 2, 0)
    assert enrollment.resume_lesson == lessons[0]


def test_draft_course_cannot_be_enrolled(user, course):
    course_set_status(courses=[course], status=PublicationStatus.DRAFT)
    with pytest.raises(NotFoundError):
        enrollment_create(learner=user, course=course)


def test_lesson_complete_moves_progress_and_resume_point(user, lessons):
    enrollment, created = lesson_complete(learner=user, lesson=lessons[0])
    assert created
    # 1 of 2 published lessons (the draft lesson does not count).
    assert (enrollment.lessons_done, enrollment.lessons_total, enrollment.percent) == (1, 2, 50)
    assert enrollment.resume_lesson == lessons[1]
    enrollment, _ = lesson_complete(learner=user, lesson=lessons[1])
    assert (enrollment.lessons_done, enrollment.percent, enrollment.resume_lesson) == (2, 100, None)


def test_completing_twice_is_harmless(user, lessons):
    first, _ = lesson_complete(learner=user, lesson=lessons[0])
    stamp = LessonProgress.objects.get(learner=user).completed_at
    again, created = lesson_complete(learner=user, lesson=lessons[0])
    assert not created
    assert LessonProgress.objects.filter(learner=user).count() == 1
    assert LessonProgress.objects.get(learner=user).completed_at == stamp
    assert (again.lessons_done, again.percent, again.last_activity_at) == (
        first.lessons_done,
        first.percent,
        first.last_activity_at,
    )


def test_draft_lesson_cannot_be_completed(user, course):
    draft = course.lessons.get(slug="draft-lesson")
    with pytest.raises(NotFoundError):
        lesson_complete(learner=user, lesson=draft)
    assert not LessonProgress.objects.exists()


def test_progress_is_per_learner(user, other_user, lessons):
    lesson_complete(learner=user, lesson=lessons[0])
    enrollment, _ = enrollment_create(learner=other_user, course=lessons[0].course)
    assert enrollment.lessons_done == 0


def test_publishing_a_lesson_updates_every_enrollment(user, other_user, course, lessons):
    lesson_complete(learner=user, lesson=lessons[0])
    enrollment_create(learner=other_user, course=course)
    draft = course.lessons.get(slug="draft-lesson")

    assert lesson_publish(lessons=[draft]) == 1
    percents = dict(Enrollment.objects.values_list("learner__username", "percent"))
    assert percents == {"ada": 33, "grace": 0}  # 1 of 3 rounds down to 33 %
    assert Enrollment.objects.get(learner=user).lessons_total == 3

    assert lesson_publish(lessons=[draft]) == 0  # already published: nothing changes
    assert lesson_unpublish(lessons=[draft]) == 1
    assert Enrollment.objects.get(learner=user).percent == 50


def test_unpublishing_a_done_lesson_keeps_the_fact_but_stops_counting_it(user, lessons):
    lesson_complete(learner=user, lesson=lessons[0])
    lesson_unpublish(lessons=[lessons[0]])
    enrollment = Enrollment.objects.get(learner=user)
    assert (enrollment.lessons_done, enrollment.lessons_total) == (0, 1)
    assert LessonProgress.objects.filter(learner=user).exists()


def test_requirements_list_lessons_quiz_and_scenarios(user, course, lessons, quiz):
    second = course.unlocks.get()  # the second course requires the fixture scenario
    needs = requirements_for(user=user, courses=[course, second])
    assert [lesson.slug for lesson in needs[course.id].lessons] == ["first-lesson", "second-lesson"]
    assert needs[course.id].quiz == quiz
    assert needs[course.id].scenarios == []
    assert [s.slug for s in needs[second.id].scenarios] == ["fixture-scenario"]
    assert needs[second.id].quiz is None  # the second course has no quiz
    assert not needs[course.id].complete


def test_requirements_complete_after_lessons_and_quiz(user, course, lessons, quiz):
    for lesson in lessons:
        lesson_complete(learner=user, lesson=lesson)
    quiz_attempt_submit(learner=user, quiz=quiz, answers=right_answers(quiz))
    needs = requirements_for(user=user, courses=[course])[course.id]
    assert needs.lessons == [] and needs.quiz is None and needs.complete


def test_required_scenarios_come_from_scoring(user, curriculum, monkeypatch):

    second = Course.objects.prefetch_related("required_scenarios").get(slug="second-course")
    monkeypatch.setattr(progress, "passed_scenario_slugs", lambda user: {"fixture-scenario"})
    assert requirements_for(user=user, courses=[second])[second.id].scenarios == []


def test_requirements_query_count_does_not_grow_with_courses(
    user, curriculum, django_assert_num_queries
):

    for _ in range(5):  # more courses, each with lessons and a quiz
        quiz = QuizFactory()
        LessonFactory.create_batch(3, course=quiz.course)
    courses = list(Course.objects.prefetch_related("required_scenarios"))
    assert len(courses) == 7
    # lessons, completions, quizzes, attempts, passed scenarios (scoring) — however many courses
    with django_assert_num_queries(5):
        requirements_for(user=user, courses=courses)
