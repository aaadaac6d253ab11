"""assessment_save: one Score and one PostMortem per run, validated, idempotent."""

import json
import math

import pytest
from django.core.exceptions import ValidationError

from scoring.analysis import assess
from scoring.models import PostMortem, Score
from scoring.services import assessment_save
from tests.scoring.facts import assessment, with_score


@pytest.mark.django_db
def test_saves_the_score_and_the_postmortem(make_run):
    run = make_run()
    a = assessment()
    score, postmortem = assessment_save(run=run, assessment=a)

    score.refresh_from_db()
    assert score.run == run and score.passed is False
    assert score.points == pytest.approx(a.score.points)
    assert score.availability == pytest.approx(a.score.availability)
    assert score.latency_percentile == 99 and score.replications == 4
    postmortem.refresh_from_db()
    assert postmortem.root_cause["kind"] == "instance_failure"
    assert postmortem.root_cause_kind == "instance_failure"
    assert postmortem.minutes_in_breach == pytest.approx(2.0)
    assert postmortem.impact["failed_requests"] == pytest.approx(12_000)
    assert [row["kind"] for row in postmortem.timeline][:2] == [
        "incident_start",
        "sla_breach_start",
    ]
    assert run.score == score and run.postmortem == postmortem


@pytest.mark.django_db
def test_called_twice_keeps_one_row_each_with_the_latest_facts(make_run):
    run = make_run()
    assessment_save(run=run, assessment=assessment())
    assessment_save(run=run, assessment=assessment(outage_s=None))
    assert Score.objects.filter(run=run).count() == 1
    assert PostMortem.objects.filter(run=run).count() == 1
    assert Score.objects.get(run=run).passed is True
    assert PostMortem.objects.get(run=run).root_cause_kind == "none"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes, field",
    [
        ({"points": 120.0}, "points"),
        ({"availability": 1.5}, "availability"),
        ({"passed": True}, "passed"),
    ],  # passed contradicts p_contract_met = 0
)
def test_invalid_facts_are_refused_and_nothing_is_written(make_run, changes, field):
    run = make_run()
    with pytest.raises(ValidationError):
        assessment_save(run=run, assessment=with_score(assessment(), **changes))
    assert not Score.objects.filter(run=run).exists()
    assert not PostMortem.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_a_refused_rewrite_keeps_the_previous_rows(make_run):
    run = make_run()
    assessment_save(run=run, assessment=assessment(outage_s=None))
    with pytest.raises(ValidationError):
        assessment_save(run=run, assessment=with_score(assessment(), points=-1.0))
    assert Score.objects.get(run=run).passed is True


@pytest.mark.django_db
def test_non_finite_numbers_are_stored_as_null(make_run):
    run = make_run()
    a = assessment(
        fixes=[
            {
                "title": "t",
                "delta_points": 1.0,
                "passes": False,
                "delta_latency_ms": math.nan,
                "latency_ms": math.inf,
            }
        ]
    )
    _, postmortem = assessment_save(run=run, assessment=a)
    postmortem.refresh_from_db()
    assert postmortem.fixes[0]["delta_latency_ms"] is None
    assert postmortem.fixes[0]["latency_ms"] is None


@pytest.mark.django_db
def test_a_real_assessment_round_trips_through_the_database(make_run):
    # given the engine's own output (numpy arrays inside), not hand-built facts
    from tests.scoring.test_assess import design, scenario

    a = assess(scenario=scenario(), design_doc=design(), replications=2, seed=4)
    run = make_run()
    # when
    score, postmortem = assessment_save(run=run, assessment=a)
    # then every JSON value came back as plain JSON, equal to what the analysis produced
    postmortem.refresh_from_db()
    assert json.loads(json.dumps(postmortem.fixes)) == postmortem.fixes
    assert postmortem.root_cause == a.postmortem.root_cause
    assert len(postmortem.fixes) == len(a.postmortem.fixes) >= 1
    assert postmortem.impact["failed_requests"] == pytest.approx(
        a.postmortem.impact["failed_requests"]
    )
    assert Score.objects.get(run=run).points == pytest.approx(a.score.points)
