"""Writes for scenarios: import one scenario file (used by ``manage.py load_scenarios``)."""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction

from simulations import engine, specs
from simulations.models import Scenario

META_FIELDS = ("title", "summary", "pressure", "level", "order", "brief", "teaching_notes")
REQUIRED_KEYS = ("slug", "title", "summary", "brief", "spec", "starter_design")

Outcome = Literal["created", "updated", "unchanged"]


class ScenarioFileError(ValueError):
    """A scenario file is invalid; ``problems`` lists ``"<pointer>: <message>"`` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}:\n  " + "\n  ".join(problems))


def scenario_document_problems(document: Any) -> list[str]:
    """Every problem with a scenario file's content, each as ``"<JSON pointer>: <message>"``.

    Checks the meta keys, the engine scenario document (``/spec/...``) and that the starter
    design is valid for it (``/starter_design/...``).
    """
    if not isinstance(document, dict):
        return ["/: a scenario file must be a mapping with slug, title, spec, starter_design…"]
    problems = [f"/{key}: is required" for key in REQUIRED_KEYS if key not in document]
    if problems:
        return problems
    try:
        specs.parse_scenario(document["spec"])
    except engine.ScenarioError as exc:
        return [f"/spec{p['pointer']}: {p['message']}" for p in specs.problems_from_error(exc)]
    design = specs.design_problems(
        scenario_doc=document["spec"], design_doc=document["starter_design"]
    )
    return [f"/starter_design{p['pointer']}: {p['message']}" for p in design]


@transaction.atomic
def scenario_import(*, document: dict[str, Any], source: str) -> tuple[Scenario, Outcome]:
    """Create or update the scenario whose slug is ``document["slug"]``; idempotent.

    Parameters
    ----------
    document
        A parsed scenario file: meta fields (slug, title, summary, pressure, level, order, brief,
        teaching_notes), ``spec`` (the engine scenario document) and ``starter_design``.
    source
        Where the document came from (a file path), for error messages.

    Returns
    -------
    (Scenario, outcome)
        ``outcome`` is ``"created"``, ``"updated"`` or ``"unchanged"`` (nothing written).

    Raises
    ------
    ScenarioFileError
        The document is invalid; every problem is located by a JSON pointer. Nothing is written.
    """
    problems = scenario_document_problems(document)
    if problems:
        raise ScenarioFileError(source, problems)
    values = {field: document[field] for field in META_FIELDS if field in document}
    values["spec"] = document["spec"]
    values["starter_design"] = document["starter_design"]

    scenario = Scenario.objects.select_for_update().filter(slug=document["slug"]).first()
    if scenario is None:
        scenario, outcome, changed = Scenario(slug=document["slug"], **values), "created", None
    else:
        changed = [f for f, v in values.items() if getattr(scenario, f) != v]
        if not changed:
            return scenario, "unchanged"
        for field in changed:
            setattr(scenario, field, values[field])
        outcome = "updated"
    try:
        scenario.full_clean()
    except ValidationError as exc:
        raise ScenarioFileError(
            source, [f"/{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
        ) from exc
    scenario.save(update_fields=None if changed is None else [*changed, "updated_at"])
    return scenario, outcome
