"""Writes of the scoring app: store a run's assessment."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from django.db import transaction

from scoring.analysis import Assessment
from scoring.models import PostMortem, Score

if TYPE_CHECKING:
    from simulations.models import Run


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf (which JSON and Postgres jsonb refuse) with None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


@transaction.atomic
def assessment_save(*, run: Run, assessment: Assessment) -> tuple[Score, PostMortem]:
    """Store the score and post-mortem of ``run``, replacing any earlier ones.

    One ``Score`` and one ``PostMortem`` per run (unique ``run``), written by
    ``update_or_create``: a task that re-executes after a worker crash overwrites rather than
    duplicates. Meant to be called inside the caller's final transaction (the one that marks the
    run succeeded); nested, this atomic block is a savepoint.

    Raises
    ------
    django.core.exceptions.ValidationError
        If a value breaks a model rule (e.g. points outside 0-100); nothing is written.
    """
    score, _ = _save(Score, run, assessment.score.to_dict())

    pm = assessment.postmortem
    postmortem, _ = _save(
        PostMortem,
        run,
        _json_safe(
            {
                "summary": pm.summary,
                "root_cause_kind": pm.root_cause["kind"],
                "root_cause": pm.root_cause,
                "contributing_factors": pm.contributing_factors,
                "impact": pm.impact,
                "timeline": pm.timeline,
                "fixes": pm.fixes,
                "minutes_in_breach": pm.impact["minutes_in_breach"],
            }
        ),
    )
    return score, postmortem


def _save(model: type[Score] | type[PostMortem], run: Run, fields: dict) -> tuple[Any, bool]:
    """Validate ``fields`` on an unsaved instance (``full_clean``), then ``update_or_create``."""
    # The unique ``run`` is left to update_or_create, which locks the existing row if any.
    model(run=run, **fields).full_clean(exclude=["run"], validate_unique=False)
    return model.objects.update_or_create(run=run, defaults=fields)
