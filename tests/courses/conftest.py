"""Fixtures for the curriculum and progress tests: a small curriculum loaded from files."""

from pathlib import Path

import pytest

from courses.models import Course, Lesson, Quiz
from courses.services.curriculum_load import curriculum_load
from simulations.models import Scenario

FIXTURE_ROOT = Path(__file__).parent / "fixtures" / "curriculum"


@pytest.fixture
def fixture_root() -> Path:
    return FIXTURE_ROOT


@pytest.fixture
def scenario(db) -> Scenario:
    return Scenario.objects.create(
        slug="fixture-scenario",
        title="Fixture scenario",
        summary="For tests.",
        brief="Run it.",
        spec={},
        starter_design={},
    )


@pytest.fixture
def curriculum(db, scenario):
    """The fixture curriculum, loaded (two courses, four lessons, one quiz, three terms)."""
    return curriculum_load(root=FIXTURE_ROOT)


@pytest.fixture
def course(curriculum) -> Course:
    return Course.objects.get(slug="demo-course")


@pytest.fixture
def lessons(course) -> list[Lesson]:
    """The demo course's published lessons, in order."""
    return list(course.lessons.published().order_by("order"))


@pytest.fixture
def quiz(course) -> Quiz:
    return Quiz.objects.get(course=course)


def right_answers(quiz: Quiz) -> dict[int, list[int]]:
    """Question id → its correct choice ids, read from the rows (the independent truth)."""
    return {q.id: [c.id for c in q.choices.all() if c.is_correct] for q in quiz.questions.all()}


def wrong_answers(quiz: Quiz) -> dict[int, list[int]]:
    """Question id → one incorrect choice id."""
    return {
        q.id: [next(c.id for c in q.choices.all() if not c.is_correct)]
        for q in quiz.questions.all()
    }
