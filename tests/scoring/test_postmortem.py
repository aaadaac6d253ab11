"""Root cause, impact, timeline and summary of hand-built runs."""

import numpy as np
import pytest

from scoring.analysis.postmortem import (
    INCIDENT_AFTERMATH_S,
    build_timeline,
    compute_impact,
    find_root_cause,
    write_summary,
)
from tests.scoring.builders import (
    CONTRACT,
    RPS,
    Event,
    healthy_series,
    incident,
    outage,
    slow,
    view,
)


def test_root_cause_is_the_incident_that_precedes_the_breach():
    # given an instance failure at 300 s and an outage from 305 s, and a later saturation
    v = view(
        series=outage(healthy_series(), 305, 400),
        incidents=[incident("instance_failure", 300, 120, "app", count=2)],
        events=[Event(300, "incident_start", "app"), Event(310, "saturation_start", "app")],
    )
    cause = find_root_cause(v)
    assert cause["kind"] == "instance_failure"
    assert cause["component"] == "app" and cause["t_s"] == 300
    assert "T+05:05" in cause["explanation"]  # the breach time is in the sentence


def test_incident_by_component_type_is_resolved_to_the_design_component():
    v = view(
        series=outage(healthy_series(), 305, 400),
        incidents=[incident("dependency_slowdown", 300, 60, "database", factor=5)],
    )
    assert find_root_cause(v)["component"] == "db"


def test_root_cause_is_the_first_saturated_component_without_an_incident():
    series = slow(healthy_series(), 250, 600, p99_ms=800.0)
    v = view(
        series=series,
        events=[Event(200, "saturation_start", "db"), Event(240, "saturation_start", "app")],
    )
    cause = find_root_cause(v)
    assert (cause["kind"], cause["component"], cause["t_s"]) == ("saturation", "db", 200)


def test_incident_after_the_breach_is_not_the_root_cause():
    series = slow(healthy_series(), 100, 600, p99_ms=800.0)
    v = view(
        series=series,
        incidents=[incident("traffic_spike", 400, 60, multiplier=3)],
        events=[Event(90, "saturation_start", "app")],
    )
    assert find_root_cause(v)["kind"] == "saturation"


def test_incident_long_over_before_the_breach_is_not_the_root_cause():
    end = 100 + 30
    series = slow(healthy_series(), end + INCIDENT_AFTERMATH_S + 10, 600, p99_ms=800.0)
    v = view(
        series=series,
        incidents=[incident("traffic_spike", 100, 30, multiplier=3)],
        events=[Event(end + INCIDENT_AFTERMATH_S, "saturation_start", "app")],
    )
    assert find_root_cause(v)["kind"] == "saturation"


def test_incident_on_a_component_the_design_lacks_is_a_no_op():
    v = view(
        series=slow(healthy_series(), 300, 600, p99_ms=800.0),
        incidents=[incident("cache_flush", 290, component="cdn")],
        events=[Event(295, "saturation_start", "app")],
    )
    assert find_root_cause(v)["component"] == "app"


def test_already_saturated_component_outranks_the_last_straw_incident():
    v = view(
        series=outage(healthy_series(), 305, 400),
        incidents=[incident("traffic_spike", 300, 60, multiplier=2)],
        events=[Event(120, "saturation_start", "db")],
    )
    cause = find_root_cause(v)
    assert (cause["kind"], cause["component"]) == ("saturation", "db")
    assert "traffic spike" in cause["explanation"]


def test_saturation_that_ended_before_the_incident_does_not_outrank_it():
    v = view(
        series=outage(healthy_series(), 305, 400),
        incidents=[incident("traffic_spike", 300, 60, multiplier=2)],
        events=[Event(120, "saturation_start", "db"), Event(150, "saturation_end", "db")],
    )
    assert find_root_cause(v)["kind"] == "traffic_spike"


def test_hottest_component_when_no_event_names_one():
    series = slow(healthy_series(), 300, 600, p99_ms=800.0)
    series["utilization:db"] = np.where(np.arange(600) >= 300, 0.97, 0.3)
    assert find_root_cause(view(series=series))["component"] == "db"


def test_slow_path_when_nothing_is_busy():
    v = view(series=slow(healthy_series(), 0, 600, p99_ms=400.0))
    assert find_root_cause(v)["kind"] == "slow_path"


def test_no_breach_within_budget_and_over_budget():
    assert find_root_cause(view())["kind"] == "none"
    assert find_root_cause(view(cost=2000.0))["kind"] == "over_budget"


def test_impact_arithmetic():
    # 120 s of total outage at 100 rps over 600 s
    v = view(series=outage(healthy_series(), 200, 320))
    impact = compute_impact(v)
    offered, failed = 600 * RPS, 120 * RPS
    assert impact["offered_requests"] == offered
    assert impact["failed_requests"] == failed
    allowed = (1 - CONTRACT.availability) * offered  # 300 requests
    assert impact["error_budget_burned_fraction"] == pytest.approx(failed / allowed)  # 40x
    assert impact["minutes_in_breach"] == pytest.approx(2.0)
    assert impact["first_breach_s"] == 200
    assert impact["budget_usd_for_horizon"] == pytest.approx(1500 * 600 / (730 * 3600))


def test_timeline_merges_events_and_breach_episodes_in_time_order():
    v = view(
        series=outage(healthy_series(), 200, 320),
        events=[
            Event(190, "incident_start", "app", "2 instances fail"),
            Event(330, "incident_end", "app"),
        ],
    )
    kinds = [row["kind"] for row in build_timeline(v)]
    assert kinds == ["incident_start", "sla_breach_start", "sla_breach_end", "incident_end"]
    assert build_timeline(v)[1]["t_label"] == "T+03:20"


def test_summary_names_breach_cause_losses_and_best_measured_fix():
    v = view(series=outage(healthy_series(), 200, 320))
    impact = compute_impact(v)
    cause = find_root_cause(v)
    fixes = [
        {"title": "Add 50 % more instances", "delta_points": 12.0, "passes": True},
        {"title": "Add a read replica", "delta_points": -1.0, "passes": False},
    ]
    text = write_summary(root_cause=cause, impact=impact, factors=[], fixes=fixes, passed=False)
    assert "T+03:20" in text and "2.0 minutes" in text
    assert "12,000 of 60,000 requests failed" in text
    assert "Add 50 % more instances" in text and "+12 points" in text
    assert "Add a read replica" not in text
    assert text.endswith("does not pass its contract yet.")


def test_saturation_logged_one_tick_after_the_breach_still_explains_it_truthfully():
    v = view(
        series=slow(healthy_series(), 250, 600, p99_ms=800.0),
        events=[Event(251, "saturation_start", "db")],
    )
    cause = find_root_cause(v)
    assert (cause["kind"], cause["component"]) == ("saturation", "db")
    assert "saturated at T+04:11, as the first breach began at T+04:10" in cause["explanation"]


def test_incident_inside_the_first_breached_tick_counts_but_not_one_tick_later():
    # the breach tick is [300, 301): an incident at 300.5 s lies inside it, one at 301 s does not
    series = outage(healthy_series(), 300, 400)
    inside = view(series=series, incidents=[incident("traffic_spike", 300.5, 60, multiplier=3)])
    later = view(series=series, incidents=[incident("traffic_spike", 301, 60, multiplier=3)])
    assert find_root_cause(inside)["kind"] == "traffic_spike"
    assert find_root_cause(later)["kind"] != "traffic_spike"


def test_summary_of_a_clean_run_and_of_an_over_budget_one():
    clean = view()
    text = write_summary(
        root_cause=find_root_cause(clean),
        impact=compute_impact(clean),
        factors=[],
        fixes=[],
        passed=True,
    )
    assert text == "The service kept its SLA for the whole run. The design passes its contract."

    dear = view(cost=2000.0)
    text = write_summary(
        root_cause=find_root_cause(dear),
        impact=compute_impact(dear),
        factors=[{"title": "Over budget"}],
        fixes=[],
        passed=False,
    )
    assert "costs $2,000/month against a $1,500 budget" in text
    assert "Contributing: over budget." in text
