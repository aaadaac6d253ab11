"""``manage.py load_scenarios [FILE ...]``: import scenario files idempotently by slug."""

from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from simulations.services.scenarios import (
    ScenarioFileError,
    scenario_document_problems,
    scenario_import,
)

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


class Command(BaseCommand):
    help = (
        "Create or update scenarios from YAML files (default: simulations/scenarios/*.yaml). "
        "Every file is validated with the engine first; any problem aborts the whole load."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="*", type=Path, help="Scenario files; default: all bundled."
        )

    def handle(self, *args, files, **options):
        paths = files or sorted(SCENARIO_DIR.glob("*.yaml"))
        if not paths:
            raise CommandError(f"No scenario files found in {SCENARIO_DIR}.")
        documents = [(path, self._read(path)) for path in paths]
        errors = [
            str(ScenarioFileError(str(path), problems))
            for path, doc in documents
            if (problems := scenario_document_problems(doc))
        ]
        if errors:
            raise CommandError(
                "Invalid scenario file(s); nothing was loaded.\n" + "\n".join(errors)
            )
        with transaction.atomic():
            for path, document in documents:
                scenario, outcome = scenario_import(document=document, source=str(path))
                self.stdout.write(f"{outcome:9}  {scenario.slug}  ({path.name})")

    @staticmethod
    def _read(path: Path):
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CommandError(f"{path}: cannot read YAML: {exc}") from exc
