"""``curriculum_export``: rows → files, in the canonical form the loader reads."""

from pathlib import Path

from courses.models import Course, GlossaryTerm, Level, Stage
from courses.services.curriculum_files import (
    Flow,
    dump_yaml,
    flow_sources,
    lesson_file_text,
    write_if_changed,
)


def _stages_text() -> str:
    return dump_yaml(
        {
            "stages": [
                {"slug": s.slug, "title": s.title, "order": s.order, "summary": s.summary}
                for s in Stage.objects.order_by("order", "slug")
            ],
            "levels": [
                {"code": lv.code, "title": lv.title, "summary": lv.summary}
                for lv in Level.objects.order_by("code")
            ],
        }
    )


def _glossary_text() -> str:
    return dump_yaml(
        {
            "terms": [
                {
                    "slug": t.slug,
                    "term": t.term,
                    "aliases": Flow(t.aliases),
                    "short": t.short,
                    "long": t.long,
                    "sources": flow_sources(t.sources),
                }
                for t in GlossaryTerm.objects.order_by("slug")
            ]
        }
    )


def _course_files(course: Course) -> dict[Path, str]:
    base = Path("courses") / course.slug
    files = {
        base / "course.yaml": dump_yaml(
            {
                "slug": course.slug,
                "title": course.title,
                "stage": course.stage.slug,
                "level": course.level.code,
                "order": course.order,
                "summary": course.summary,
                "description": course.description,
                "prerequisites": Flow(sorted(p.slug for p in course.prerequisites.all())),
                "required_scenarios": Flow(sorted(s.slug for s in course.required_scenarios.all())),
                "status": course.status,
            }
        )
    }
    for lesson in course.lessons.all():
        meta = {
            "slug": lesson.slug,
            "title": lesson.title,
            "order": lesson.order,
            "minutes": lesson.minutes,
            "status": lesson.status,
            "recall_prompts": lesson.recall_prompts,
            "recap": lesson.recap,
            "sources": flow_sources(lesson.sources),
        }
        if lesson.scenario is not None:
            meta["scenario"] = lesson.scenario.slug
        name = f"{lesson.order:02d}-{lesson.slug}.md"
        files[base / "lessons" / name] = lesson_file_text(meta, lesson.body)
    quiz = getattr(course, "quiz", None)
    if quiz is not None:
        questions = []
        for question in quiz.questions.all():
            item = {"prompt": question.prompt, "kind": question.kind}
            if question.explanation:
                item["explanation"] = question.explanation
            item["choices"] = [
                {"text": c.text, "correct": c.is_correct, "explanation": c.explanation}
                for c in question.choices.all()
            ]
            questions.append(item)
        files[base / "quiz.yaml"] = dump_yaml(
            {
                "slug": quiz.slug,
                "title": quiz.title,
                # Written as a float (0.7, not '0.70') so the files read like the authored ones.
                "pass_threshold": float(quiz.pass_threshold),
                "grading_policy": quiz.grading_policy,
                "questions": questions,
            }
        )
    return files


def curriculum_export(*, root: Path) -> list[Path]:
    """Write every stage, level, glossary term, course, lesson and quiz under ``root``.

    Files are canonical YAML / front-matter Markdown that ``curriculum_load`` reads back to the
    same rows. Only files whose text changes are written; lesson files of an exported course
    that no longer match a lesson (renamed or re-ordered) are removed. Returns the paths written.
    """
    files = {Path("stages.yaml"): _stages_text(), Path("glossary.yaml"): _glossary_text()}
    courses = (
        Course.objects.select_related("stage", "level", "quiz")
        .prefetch_related(
            "prerequisites", "required_scenarios", "lessons__scenario", "quiz__questions__choices"
        )
        .order_by("slug")
    )
    for course in courses:
        course_files = _course_files(course)
        files |= course_files
        lessons_dir = root / "courses" / course.slug / "lessons"
        keep = {root / p for p in course_files}
        for stale in lessons_dir.glob("*.md") if lessons_dir.exists() else ():
            if stale not in keep:
                stale.unlink()
    return [root / path for path, text in files.items() if write_if_changed(root / path, text)]
