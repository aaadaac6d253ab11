"""``curriculum_load``: files → rows, idempotent by slug (a second load changes nothing)."""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction

from courses.markdown import glossary_index_invalidate
from courses.models import Choice, Course, GlossaryTerm, Lesson, Level, Question, Quiz, Stage
from courses.services.curriculum_files import (
    LESSON_KEYS,
    CurriculumError,
    Problems,
    read_courses,
    read_glossary,
    read_stages,
)
from courses.services.progress import enrollments_refresh
from simulations.models import Scenario

CREATED, UPDATED, UNCHANGED, DELETED = "created", "updated", "unchanged", "deleted"


@dataclass
class LoadReport:
    """What a load did: ``counts[kind][outcome]`` plus non-fatal ``warnings``."""

    counts: dict[str, Counter] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        self.counts.setdefault(kind, Counter())[outcome] += 1

    @property
    def changed(self) -> bool:
        return any(c[CREATED] or c[UPDATED] or c[DELETED] for c in self.counts.values())


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems = Problems()
        self.report = LoadReport()
        self.scenarios = dict(Scenario.objects.values_list("slug", "id"))

    def upsert(
        self, model: type[models.Model], lookup: dict, values: dict, path: Path, where: str = ""
    ):
        """Create or update one row; compare first so an unchanged row is not written."""
        obj = model.objects.filter(**lookup).first() if lookup else None
        if obj is None:
            obj, outcome = model(**lookup, **values), CREATED
        else:
            changed = [k for k, v in values.items() if getattr(obj, k) != v]
            outcome = UPDATED if changed else UNCHANGED
            for key in changed:
                setattr(obj, key, values[key])
        if outcome != UNCHANGED:
            try:
                obj.full_clean()
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    for message in messages:
                        self.problems.add(path, f"{where}{name}", message)
                return None
            obj.save()
        self.report.count(model._meta.verbose_name, outcome)
        return obj

    def sync_m2m(self, relation, wanted_ids: set[int], kind: str) -> None:
        current = set(relation.values_list("id", flat=True))
        if current != wanted_ids:
            relation.set(wanted_ids)
            self.report.count(kind, UPDATED)

    def delete_extra(self, queryset, kind: str) -> None:
        for obj in queryset:
            obj.delete()
            self.report.count(kind, DELETED)

    # Sections ---------------------------------------------------------------------------------

    def load_stages(self) -> None:
        stages, levels = read_stages(self.root, self.problems)
        path = self.root / "stages.yaml"
        for i, s in enumerate(stages):
            self.upsert(
                Stage,
                {"slug": s["slug"]},
                {"title": s["title"], "order": s["order"], "summary": s["summary"]},
                path,
                f"stages[{i}].",
            )
        for i, lv in enumerate(levels):
            self.upsert(
                Level,
                {"code": lv["code"]},
                {"title": lv["title"], "summary": lv["summary"]},
                path,
                f"levels[{i}].",
            )

    def load_glossary(self) -> None:
        path = self.root / "glossary.yaml"
        for i, t in enumerate(read_glossary(self.root, self.problems)):
            self.upsert(
                GlossaryTerm,
                {"slug": t["slug"]},
                {k: t[k] for k in ("term", "aliases", "short", "long", "sources")},
                path,
                f"terms[{i}].",
            )

    def load_courses(self) -> None:
        files = read_courses(self.root, self.problems)
        stages = dict(Stage.objects.values_list("slug", "id"))
        levels = dict(Level.objects.values_list("code", "id"))
        loaded: dict[str, Course] = {}
        for data in files:
            path = data["_path"]
            if data["stage"] not in stages:
                self.problems.add(path, "stage", f"unknown stage {data['stage']!r}")
                continue
            if data["level"] not in levels:
                self.problems.add(path, "level", f"unknown level {data['level']!r}")
                continue
            values = {k: data[k] for k in ("title", "order", "summary", "description", "status")}
            values |= {"stage_id": stages[data["stage"]], "level_id": levels[data["level"]]}
            course = self.upsert(Course, {"slug": data["slug"]}, values, path)
            if course is not None:
                loaded[data["slug"]] = course
                self.load_lessons(course, data["lessons"])
                self.load_quiz(course, data["quiz"])
        for data in files:
            course = loaded.get(data["slug"])
            if course is not None:
                self.link_course(course, data)
                enrollments_refresh(course=course)

    def link_course(self, course: Course, data: dict) -> None:
        path = data["_path"]
        prerequisites = set(
            Course.objects.filter(slug__in=data["prerequisites"]).values_list("slug", "id")
        )
        missing = set(data["prerequisites"]) - {slug for slug, _ in prerequisites}
        for slug in sorted(missing):
            self.problems.add(path, "prerequisites", f"unknown course {slug!r}")
        self.sync_m2m(course.prerequisites, {pk for _, pk in prerequisites}, "prerequisites")
        wanted = set()
        for slug in data["required_scenarios"]:
            if slug in self.scenarios:
                wanted.add(self.scenarios[slug])
            else:
                self.report.warnings.append(
                    f"{path}: required_scenarios: scenario {slug!r} is not loaded yet; skipped "
                    "(run load_scenarios, then load_curriculum again)"
                )
        self.sync_m2m(course.required_scenarios, wanted, "required scenarios")

    def load_lessons(self, course: Course, lessons: list[dict]) -> None:
        for lesson in lessons:
            path, scenario_id = lesson["_path"], None
            if lesson["scenario"]:
                scenario_id = self.scenarios.get(lesson["scenario"])
                if scenario_id is None:
                    self.report.warnings.append(
                        f"{path}: scenario: scenario {lesson['scenario']!r} is not loaded yet; "
                        "skipped"
                    )
            # The file's keys are the row's fields, but for the lookup key and the resolved FK.
            values = {k: lesson[k] for k in LESSON_KEYS if k not in ("slug", "scenario")}
            values.update(body=lesson["body"], scenario_id=scenario_id)
            self.upsert(Lesson, {"course": course, "slug": lesson["slug"]}, values, path)

    def load_quiz(self, course: Course, quiz: dict | None) -> None:
        if quiz is None:
            return
        path = quiz["_path"]
        try:
            threshold = Decimal(str(quiz["pass_threshold"])).quantize(Decimal("0.01"))
        except InvalidOperation:
            self.problems.add(path, "pass_threshold", "must be a number between 0 and 1")
            return
        row = self.upsert(
            Quiz,
            {"slug": quiz["slug"]},
            {
                "course_id": course.id,
                "title": quiz["title"],
                "pass_threshold": threshold,
                "grading_policy": quiz["grading_policy"],
            },
            path,
        )
        if row is None:
            return
        # Questions and choices have no slugs: they are matched by position, so an edited
        # question keeps its id (and past attempts keep pointing at it).
        existing = list(row.questions.order_by("order", "id"))
        for i, q in enumerate(quiz["questions"]):
            values = {
                "order": i + 1,
                "prompt": q["prompt"],
                "kind": q["kind"],
                "explanation": q["explanation"] or "",
            }
            question = self._upsert_position(
                Question, existing, i, {"quiz": row}, values, path, f"questions[{i}]."
            )
            if question is None:
                continue
            current_choices = list(question.choices.order_by("order", "id"))
            for j, c in enumerate(q["choices"]):
                self._upsert_position(
                    Choice,
                    current_choices,
                    j,
                    {"question": question},
                    {
                        "order": j + 1,
                        "text": c["text"],
                        "is_correct": c["correct"],
                        "explanation": c["explanation"],
                    },
                    path,
                    f"questions[{i}].choices[{j}].",
                )
            self.delete_extra(current_choices[len(q["choices"]) :], "choice")
        self.delete_extra(existing[len(quiz["questions"]) :], "question")

    def _upsert_position(
        self, model, existing: list, i: int, parent: dict, values: dict, path: Path, where: str
    ):
        if i < len(existing):
            return self.upsert(model, {"pk": existing[i].pk}, values, path, where)
        return self.upsert(model, {}, parent | values, path, where)


@transaction.atomic
def curriculum_load(*, root: Path) -> LoadReport:
    """Load the curriculum tree at ``root`` into the database, idempotently by slug.

    Rows are matched by slug (levels by code; quiz questions and choices by position) and only
    written when a value differs, so a second load reports everything unchanged. Courses and
    lessons missing from the files are left alone (learners' progress points at them);
    questions and choices beyond a quiz file's count are deleted. Unknown
    scenario slugs are reported as warnings and skipped. Any invalid file or field raises
    ``CurriculumError`` listing every problem as ``<file>: <field>: <message>``, and nothing is
    written (one transaction).
    """
    loader = _Loader(root)
    if not (root / "stages.yaml").exists():
        raise CurriculumError([f"{root / 'stages.yaml'}: (file): missing"])
    loader.load_stages()
    if not loader.problems.items:
        loader.load_glossary()
        loader.load_courses()
    if loader.problems.items:
        raise CurriculumError(loader.problems.items)
    glossary_index_invalidate()
    return loader.report
