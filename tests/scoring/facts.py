"""Assessments built by hand from the pure analysis (no engine run) for the database tests."""

import dataclasses

from scoring.analysis import Assessment
from scoring.analysis.factors import detect_factors
from scoring.analysis.postmortem import (
    PostMortemFacts,
    build_timeline,
    compute_impact,
    find_root_cause,
    write_summary,
)
from scoring.analysis.rules import score_variant
from tests.scoring.builders import CONTRACT, Event, healthy_series, incident, outage, view


def assessment(*, outage_s=(200, 320), cost=1000.0, fixes=()) -> Assessment:
    """An assessment of a run with an outage (or none: ``outage_s=None``).

    ``result`` is None: ``assessment_save`` stores facts, not the engine's arrays (the run
    pipeline stores those in ``RunResult``).
    """
    series = healthy_series() if outage_s is None else outage(healthy_series(), *outage_s)
    v = view(
        series=series,
        cost=cost,
        incidents=[incident("instance_failure", 195, 120, "app", count=3)],
        events=[Event(195, "incident_start", "app", "3 instances fail")],
    )
    score = score_variant(v.per_replication, cost, CONTRACT)
    cause, factors, impact = find_root_cause(v), detect_factors(v), compute_impact(v)
    postmortem = PostMortemFacts(
        summary=write_summary(
            root_cause=cause, impact=impact, factors=factors, fixes=list(fixes), passed=score.passed
        ),
        root_cause=cause,
        contributing_factors=factors,
        impact=impact,
        timeline=build_timeline(v),
        fixes=list(fixes),
    )
    return Assessment(result=None, score=score, postmortem=postmortem)


def with_score(a: Assessment, **changes) -> Assessment:
    return dataclasses.replace(a, score=dataclasses.replace(a.score, **changes))
