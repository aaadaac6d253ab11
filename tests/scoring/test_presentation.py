"""The run report partial, the read-only serializers and the read-only admin."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape

from scoring.api.serializers import PostMortemSerializer, ScoreSerializer
from scoring.services import assessment_save
from tests.scoring.facts import assessment

FIX = {
    "code": "scale_out",
    "title": "Add 50 % more instances",
    "component": "app",
    "answers": "instance_failure",
    "design_change": "app: instances 3 → 5",
    "design": {},
    "points": 97.0,
    "delta_points": 20.5,
    "p_contract_met": 1.0,
    "availability": 0.999,
    "delta_availability": 0.0123,
    "latency_ms": 150.0,
    "delta_latency_ms": -40.0,
    "monthly_cost_usd": 1400.0,
    "delta_monthly_cost_usd": 300.0,
    "passes": True,
    "correctness": {"duplicate_writes": {"before": 688.3, "after": 0.0}},
}


@pytest.fixture
def saved(make_run):
    run = make_run()
    score, postmortem = assessment_save(run=run, assessment=assessment(fixes=[FIX]))
    return run, score, postmortem


@pytest.mark.django_db
def test_report_shows_kpis_postmortem_and_fixes(saved):
    run, score, postmortem = saved
    html = render_to_string(
        "scoring/_run_report.html",
        {"score": score, "postmortem": postmortem, "scenario": run.scenario},
    )
    assert f"{score.points:.0f}" in html and "/ 100" in html
    assert '<span class="badge bad">Not passed</span>' in html
    assert "target 99.50 %" in html and "p99 latency" in html and "target ≤ 300 ms" in html
    assert "budget $1,500" in html
    assert escape(postmortem.summary) in html
    assert "Instance failure" in html and "<strong>app</strong>" in html
    assert "Add 50 % more instances" in html and "app: instances 3 → 5" in html
    assert "Duplicate writes: 688 → 0" in html
    assert "+20.5" in html and "+1.23 pp" in html and "−40 ms" in html
    assert "SLA breach start" in html and "T+03:20" in html
    assert html.count('scope="col"') >= 11  # header cells of the fixes and timeline tables


@pytest.mark.django_db
def test_report_renders_from_the_two_rows_without_further_queries(saved, django_assert_num_queries):
    run, score, postmortem = saved
    with django_assert_num_queries(0):
        render_to_string("scoring/_run_report.html", {"score": score, "postmortem": postmortem})


@pytest.mark.django_db
def test_report_for_a_run_without_score_renders_nothing():
    html = render_to_string("scoring/_run_report.html", {"score": None, "postmortem": None})
    assert html.strip() == ""


@pytest.mark.django_db
def test_serializers_expose_the_facts_read_only(saved):
    _, score, postmortem = saved
    data = ScoreSerializer(score).data
    assert data["passed"] is False and data["latency_target_ms"] == 300.0
    assert set(ScoreSerializer.Meta.read_only_fields) == set(ScoreSerializer.Meta.fields)
    pm = PostMortemSerializer(postmortem).data
    assert pm["root_cause"]["kind"] == "instance_failure"
    assert pm["fixes"][0]["delta_points"] == 20.5
    assert {"summary", "contributing_factors", "impact", "timeline"} <= set(pm)


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["score", "postmortem"])
def test_admin_lists_and_shows_but_never_edits(
    admin_client, saved, model, django_assert_max_num_queries
):
    run, score, postmortem = saved
    obj = score if model == "score" else postmortem
    with django_assert_max_num_queries(12):
        listing = admin_client.get(reverse(f"admin:scoring_{model}_changelist"))
    assert listing.status_code == 200 and str(run.scenario) in listing.content.decode()
    detail = admin_client.get(reverse(f"admin:scoring_{model}_change", args=[obj.pk]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert 'name="_save"' not in page  # read-only: no save button
    if model == "postmortem":
        assert "<pre>" in page and "instance_failure" in page  # JSON shown readable
    assert admin_client.get(reverse(f"admin:scoring_{model}_add")).status_code == 403
    assert (
        admin_client.post(reverse(f"admin:scoring_{model}_delete", args=[obj.pk])).status_code
        == 403
    )
