"""``manage.py load_curriculum [--path DIR]``: load the curriculum files, idempotently by slug."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from courses.services.curriculum_files import CurriculumError
from courses.services.curriculum_load import CREATED, DELETED, UNCHANGED, UPDATED, curriculum_load

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "curriculum"


class Command(BaseCommand):
    help = "Load stages, levels, glossary, courses, lessons and quizzes from courses/curriculum/."

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            type=Path,
            default=DEFAULT_ROOT,
            help="Curriculum root (default: courses/curriculum/).",
        )

    def handle(self, *args, path: Path, **options):
        try:
            report = curriculum_load(root=path)
        except CurriculumError as exc:
            raise CommandError(
                f"The curriculum at {path} is invalid; nothing was loaded:\n  "
                + "\n  ".join(exc.problems)
            ) from exc
        for kind, counts in sorted(report.counts.items()):
            line = (
                f"{kind:>20}: {counts[CREATED]} created, {counts[UPDATED]} updated, "
                f"{counts[UNCHANGED]} unchanged"
            )
            if counts[DELETED]:
                line += f", {counts[DELETED]} deleted"
            self.stdout.write(line)
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        verdict = "Curriculum loaded." if report.changed else "Curriculum already up to date."
        self.stdout.write(self.style.SUCCESS(verdict))
