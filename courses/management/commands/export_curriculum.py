"""``manage.py export_curriculum [--path DIR]``: write the curriculum rows back to files."""

from pathlib import Path

from django.core.management.base import BaseCommand

from courses.management.commands.load_curriculum import DEFAULT_ROOT
from courses.services.curriculum_export import curriculum_export


class Command(BaseCommand):
    help = (
        "Export stages, levels, glossary, courses, lessons and quizzes to files (canonical form)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            type=Path,
            default=DEFAULT_ROOT,
            help="Curriculum root (default: courses/curriculum/).",
        )

    def handle(self, *args, path: Path, **options):
        written = curriculum_export(root=path)
        for file in written:
            self.stdout.write(f"  wrote {file}")
        self.stdout.write(self.style.SUCCESS(f"{len(written)} file(s) written under {path}."))
