"""Loading files into rows and exporting them back: idempotent, validated, round-trippable."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from courses.models import Choice, Course, GlossaryTerm, Lesson, Question, Quiz
from courses.services.curriculum_export import curriculum_export
from courses.services.curriculum_files import CurriculumError
from courses.services.curriculum_load import CREATED, UNCHANGED, UPDATED, curriculum_load
from tests.courses.conftest import FIXTURE_ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(tmp_path) -> Path:
    """An editable copy of the fixture curriculum."""
    root = tmp_path / "curriculum"
    shutil.copytree(FIXTURE_ROOT, root)
    return root


def _snapshot() -> dict:
    """Every loaded row's fields, to compare whole databases before and after."""
    return {
        model.__name__: sorted(
            tuple(sorted((k, str(v)) for k, v in row.items() if k not in {"updated_at"}))
            for row in model.objects.values()
        )
        for model in (Course, Lesson, Quiz, Question, Choice, GlossaryTerm)
    }


def test_first_load_creates_everything(scenario):
    report = curriculum_load(root=FIXTURE_ROOT)
    assert report.counts["course"][CREATED] == 2
    assert report.counts["lesson"][CREATED] == 4
    assert report.counts["question"][CREATED] == 3
    assert report.counts["choice"][CREATED] == 7
    assert report.counts["glossary term"][CREATED] == 3
    second = Course.objects.get(slug="second-course")
    assert list(second.prerequisites.values_list("slug", flat=True)) == ["demo-course"]
    assert list(second.required_scenarios.values_list("slug", flat=True)) == ["fixture-scenario"]
    assert second.lessons.get().scenario == scenario
    assert Lesson.objects.get(slug="draft-lesson").status == "draft"


def test_second_load_changes_nothing(scenario):
    curriculum_load(root=FIXTURE_ROOT)
    before = _snapshot()
    report = curriculum_load(root=FIXTURE_ROOT)
    assert not report.changed
    assert all(set(c) == {UNCHANGED} for c in report.counts.values()), report.counts
    assert _snapshot() == before


def test_an_edited_file_updates_its_row_and_keeps_ids(tree, scenario):
    curriculum_load(root=tree)
    lesson_path = tree / "courses/demo-course/lessons/01-first-lesson.md"
    lesson_id = Lesson.objects.get(slug="first-lesson").id
    question_ids = list(Question.objects.order_by("order").values_list("id", flat=True))
    lesson_path.write_text(lesson_path.read_text().replace("minutes: 5", "minutes: 9"))
    quiz_path = tree / "courses/demo-course/quiz.yaml"
    quiz_path.write_text(
        quiz_path.read_text().replace("What does p99 describe?", "What does the p99 describe?")
    )

    report = curriculum_load(root=tree)

    assert report.counts["lesson"][UPDATED] == 1 and report.counts["question"][UPDATED] == 1
    assert Lesson.objects.get(id=lesson_id).minutes == 9
    assert list(Question.objects.order_by("order").values_list("id", flat=True)) == question_ids
    assert Question.objects.get(id=question_ids[0]).prompt == "What does the p99 describe?"


def test_a_removed_question_is_deleted(tree, scenario):
    curriculum_load(root=tree)
    quiz_path = tree / "courses/demo-course/quiz.yaml"
    text = quiz_path.read_text()
    quiz_path.write_text(text[: text.index("  - prompt: Is cache-aside")])
    report = curriculum_load(root=tree)
    assert report.counts["question"]["deleted"] == 1
    assert Question.objects.count() == 2


def test_unknown_scenarios_are_warnings_not_errors(tree):
    report = curriculum_load(root=tree)  # no scenario rows exist
    assert any("fixture-scenario" in w and "required_scenarios" in w for w in report.warnings)
    assert any("only-lesson.md: scenario" in w for w in report.warnings)
    assert Course.objects.get(slug="second-course").required_scenarios.count() == 0


def test_scenarios_are_linked_once_they_exist(tree, scenario):
    curriculum_load(root=tree)
    assert Course.objects.get(slug="second-course").required_scenarios.get() == scenario


@pytest.mark.parametrize(
    "relative, old, new, expected",
    [
        (
            "courses/demo-course/course.yaml",
            "level: A1",
            "level: Z9",
            "course.yaml: level: unknown level",
        ),
        (
            "courses/demo-course/course.yaml",
            "summary: A small",
            "sumary: A small",
            "course.yaml: sumary: unknown field",
        ),
        (
            "courses/demo-course/lessons/02-second-lesson.md",
            "minutes: 7",
            "minutes: 0",
            "02-second-lesson.md: minutes:",
        ),
        (
            "courses/demo-course/quiz.yaml",
            "explanation: That is the average.",
            "explanation: ''",
            "quiz.yaml: questions[0].choices[1].explanation: every choice is explained",
        ),
        (
            "courses/demo-course/quiz.yaml",
            "{text: The mean latency, correct: false",
            "{text: The mean latency, correct: true",
            "quiz.yaml: questions[0].choices: A single-answer",
        ),
        (
            "courses/demo-course/quiz.yaml",
            "{text: DNS round robin, correct: true",
            "{text: DNS round robin, correct: false",
            None,
        ),  # still one correct: valid for multiple
        (
            "glossary.yaml",
            "short: Spreads incoming",
            "short: " + "x" * 200 + " Spreads",
            "glossary.yaml: terms[1].short: Ensure this value has at most 160 characters",
        ),
        (
            "courses/demo-course/lessons/01-first-lesson.md",
            'url: "https://www.rfc-editor.org/rfc/rfc9110"',
            'url: "javascript:alert(1)"',
            "01-first-lesson.md: sources:",
        ),
    ],
)
def test_validation_errors_name_the_file_and_field(tree, scenario, relative, old, new, expected):
    path = tree / relative
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    if expected is None:
        curriculum_load(root=tree)
        return
    with pytest.raises(CurriculumError) as excinfo:
        curriculum_load(root=tree)
    assert any(expected in problem for problem in excinfo.value.problems), excinfo.value.problems
    assert not Course.objects.exists()  # nothing half-written


def test_round_trip_export_load_export_is_byte_identical(tmp_path, scenario):
    curriculum_load(root=FIXTURE_ROOT)
    before = _snapshot()
    first = tmp_path / "first"
    written = curriculum_export(root=first)
    assert len(written) == 9  # stages, glossary, 2 courses, 4 lessons + 1 draft, 1 quiz

    report = curriculum_load(root=first)
    assert not report.changed, report.counts
    assert _snapshot() == before

    second = tmp_path / "second"
    curriculum_export(root=second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    assert curriculum_export(root=first) == []  # nothing to rewrite


def test_export_writes_admin_edits_and_removes_renamed_lessons(tmp_path, scenario):
    curriculum_load(root=FIXTURE_ROOT)
    curriculum_export(root=tmp_path)
    Lesson.objects.filter(slug="second-lesson").update(slug="renamed-lesson", title="Renamed")
    curriculum_export(root=tmp_path)
    lessons = sorted(p.name for p in (tmp_path / "courses/demo-course/lessons").iterdir())
    assert lessons == ["01-first-lesson.md", "02-renamed-lesson.md", "03-draft-lesson.md"]
    assert (
        "title: Renamed"
        in (tmp_path / "courses/demo-course/lessons/02-renamed-lesson.md").read_text()
    )


def test_load_command_prints_counts_and_is_idempotent(scenario):
    out = StringIO()
    call_command("load_curriculum", path=FIXTURE_ROOT, stdout=out, stderr=StringIO())
    assert "course: 2 created, 0 updated, 0 unchanged" in out.getvalue()
    out = StringIO()
    call_command("load_curriculum", path=FIXTURE_ROOT, stdout=out, stderr=StringIO())
    assert "course: 0 created, 0 updated, 2 unchanged" in out.getvalue()
    assert "already up to date" in out.getvalue()


def test_load_command_reports_problems_as_a_command_error(tree):
    (tree / "courses/demo-course/course.yaml").write_text("slug: demo-course\n")
    with pytest.raises(CommandError, match=r"course.yaml: title: missing"):
        call_command("load_curriculum", path=tree, stdout=StringIO(), stderr=StringIO())


def test_export_command(tmp_path, curriculum):
    out = StringIO()
    call_command("export_curriculum", path=tmp_path, stdout=out)
    assert "9 file(s) written" in out.getvalue()
