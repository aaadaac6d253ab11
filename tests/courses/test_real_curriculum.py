"""The real curriculum under courses/curriculum/ is valid and meets the content bar."""

from pathlib import Path

import pytest
from django.conf import settings

from courses.markdown import render_markdown
from courses.models import Choice, Course, GlossaryTerm, Lesson, Level, Quiz, Stage
from courses.services.curriculum_load import curriculum_load

pytestmark = pytest.mark.django_db

REAL_ROOT = Path(settings.BASE_DIR) / "courses" / "curriculum"
REQUEST_PATH_COURSES = {
    "guided-basics",
    "how-a-request-travels",
    "inside-the-server",
    "storing-data",
}


@pytest.fixture
def loaded():
    report = curriculum_load(root=REAL_ROOT)
    assert not curriculum_load(root=REAL_ROOT).changed  # idempotent on the real files too
    return report


def test_the_three_stages_and_six_levels(loaded):
    assert list(Stage.objects.values_list("slug", flat=True)) == [
        "request-path",
        "scale-and-isolate",
        "operate",
    ]

    assert list(Level.objects.values_list("code", flat=True)) == [
        "A1",
        "A2",
        "B1",
        "B2",
        "C1",
        "C2",
    ]


def test_request_path_courses_are_complete(loaded):
    courses = {c.slug: c for c in Course.objects.all()}
    assert set(courses) >= REQUEST_PATH_COURSES
    assert courses["guided-basics"].lessons.count() == 7
    for slug in REQUEST_PATH_COURSES:
        course = courses[slug]
        assert course.status == "published", slug
        assert course.lessons.published().count() >= 4, slug
        quiz = Quiz.objects.get(course=course)
        assert quiz.questions.count() >= 6, f"{slug}: a quiz has at least six questions"


def test_every_choice_is_explained_and_every_question_has_a_right_answer(loaded):
    assert not Choice.objects.filter(explanation__regex=r"^\s*$").exists()
    for quiz in Quiz.objects.prefetch_related("questions__choices"):
        for question in quiz.questions.all():
            correct = [c for c in question.choices.all() if c.is_correct]
            assert correct, f"{quiz.slug} Q{question.order}"
            if question.kind == "single":
                assert len(correct) == 1, f"{quiz.slug} Q{question.order}"


def test_glossary_has_at_least_sixty_terms(loaded):
    assert GlossaryTerm.objects.count() >= 60
    assert not GlossaryTerm.objects.filter(short="").exists()


def test_every_lesson_has_sources_and_renders_with_glossary_links(loaded):
    linked = 0
    for lesson in Lesson.objects.published():
        assert lesson.sources, f"{lesson.slug}: facts are sourced"
        assert lesson.minutes >= 1
        html = render_markdown(lesson.body)
        assert "<script" not in html
        linked += 'class="glossary"' in html
    assert linked >= Lesson.objects.published().count() // 2  # the glossary covers the lessons
