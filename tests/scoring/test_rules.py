"""Scoring rules on hand-built per-replication totals (no engine, no database)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.analysis.rules import (
    PASS_PROBABILITY,
    Contract,
    availability_subscore,
    nines,
    score_variant,
)

CONTRACT = Contract(
    availability=0.995,
    latency_percentile=99,
    latency_ms=300.0,
    budget_usd_per_month=1500.0,
    duration_s=3600.0,
)


def totals(availability, latency_ms, offered=100_000):
    """Per-replication totals for replications with the given availability and p99."""
    availability = np.atleast_1d(np.asarray(availability, dtype=float))
    latency = np.broadcast_to(np.asarray(latency_ms, dtype=float), availability.shape)
    offered_arr = np.full(availability.shape, float(offered))
    succeeded = np.round(offered_arr * availability)
    return {
        "offered": offered_arr,
        "succeeded": succeeded,
        "failed": offered_arr - succeeded,
        "latency_p99_ms": latency.copy(),
    }


def test_meeting_every_criterion_in_every_replication_scores_100_and_passes():
    facts = score_variant(totals([0.999] * 8, 120.0), 1000.0, CONTRACT)
    assert facts.points == 100.0
    assert facts.p_contract_met == 1.0
    assert facts.passed


def test_criteria_are_inclusive_at_their_targets():
    # exactly on target: availability = A, latency = T, cost = B -> met
    facts = score_variant(totals([0.995], 300.0), 1500.0, CONTRACT)
    assert (facts.p_availability_met, facts.p_latency_met, facts.p_cost_met) == (1.0, 1.0, 1.0)
    assert facts.points == 100.0


def test_each_criterion_just_past_its_target_is_a_miss():
    just_low = score_variant(totals([0.99499], 100.0, offered=1_000_000), 1000.0, CONTRACT)
    too_slow = score_variant(totals([0.999], 300.01), 1000.0, CONTRACT)
    too_dear = score_variant(totals([0.999], 100.0), 1500.01, CONTRACT)
    assert just_low.p_availability_met == 0.0 and not just_low.passed
    assert too_slow.p_latency_met == 0.0 and not too_slow.passed
    assert too_dear.p_cost_met == 0.0 and not too_dear.passed
    # near misses keep almost all their points, but never a perfect score
    for facts in (just_low, too_slow, too_dear):
        assert 98.0 < facts.points <= 99.0


def test_p_contract_met_counts_replications_meeting_all_three():
    # 10 replications: 7 good, 2 slow, 1 unavailable and slow
    availability = [0.999] * 9 + [0.98]
    latency = [100.0] * 7 + [400.0] * 3
    facts = score_variant(totals(availability, latency), 1000.0, CONTRACT)
    assert facts.p_contract_met == pytest.approx(0.7)
    assert facts.p_latency_met == pytest.approx(0.7)
    assert facts.p_availability_met == pytest.approx(0.9)
    assert facts.availability == pytest.approx(np.mean(availability), abs=1e-6)
    assert facts.latency_ms == pytest.approx(np.mean(latency))


@pytest.mark.parametrize("met_out_of_10, expected", [(10, True), (9, True), (8, False), (0, False)])
def test_pass_rule_is_p_contract_met_at_least_point_nine(met_out_of_10, expected):
    latency = [100.0] * met_out_of_10 + [900.0] * (10 - met_out_of_10)
    facts = score_variant(totals([0.999] * 10, latency), 1000.0, CONTRACT)
    assert PASS_PROBABILITY == 0.9
    assert facts.passed is expected


def test_availability_in_nines():
    assert nines(0.999) == pytest.approx(3.0)
    assert nines(0.9) == pytest.approx(1.0)
    assert nines(1.0) == pytest.approx(9.0)  # floored, finite


def test_availability_subscore_is_full_at_target_and_zero_two_nines_short():
    sub = availability_subscore(np.array([0.995, 0.95, 0.5, 0.0]), 0.995)
    # 0.95 is exactly one nine short of 0.995 (error 5 % vs 0.5 %): half the weight
    np.testing.assert_allclose(sub, [1.0, 0.5, 0.0, 0.0], atol=1e-12)


def test_near_miss_scores_better_than_collapse():
    near = score_variant(totals([0.993], 320.0), 1600.0, CONTRACT)
    collapse = score_variant(totals([0.60], 2000.0), 1600.0, CONTRACT)
    assert not near.passed and not collapse.passed
    assert near.points > 85 > 25 > collapse.points


@pytest.mark.parametrize("criterion", ["availability", "latency", "cost"])
def test_points_never_increase_when_a_criterion_gets_worse(criterion):
    # walk from very good to very bad on one axis, the others fixed and met
    steps = np.linspace(0, 1, 41)
    points = []
    for x in steps:
        availability = 0.9999 - x * 0.5 if criterion == "availability" else 0.999
        latency = 100 + x * 900 if criterion == "latency" else 100.0
        cost = 1000 + x * 3000 if criterion == "cost" else 1000.0
        points.append(score_variant(totals([availability], latency), cost, CONTRACT).points)
    assert all(b <= a for a, b in zip(points, points[1:], strict=False))
    assert points[0] == 100.0 and points[-1] < points[0]


def test_weights_bound_what_one_criterion_can_lose():
    no_latency = score_variant(totals([0.999], 10_000.0), 1000.0, CONTRACT)
    no_cost = score_variant(totals([0.999], 100.0), 100_000.0, CONTRACT)
    no_availability = score_variant(totals([0.0], 100.0), 1000.0, CONTRACT)
    assert no_latency.points == pytest.approx(70.0)
    assert no_cost.points == pytest.approx(80.0)
    assert no_availability.points == pytest.approx(50.0)


def test_nothing_succeeded_means_no_latency_and_latency_not_met():
    per_rep = totals([0.0, 0.0], np.nan)
    facts = score_variant(per_rep, 1000.0, CONTRACT)
    assert facts.latency_ms is None
    assert facts.p_latency_met == 0.0
    assert facts.points == pytest.approx(20.0)  # only the cost criterion is met


def test_latency_key_follows_the_sla_percentile():
    contract = Contract(
        availability=0.99,
        latency_percentile=99.9,
        latency_ms=500.0,
        budget_usd_per_month=100.0,
        duration_s=60.0,
    )
    per_rep = {
        "offered": np.array([10.0]),
        "succeeded": np.array([10.0]),
        "latency_p99_ms": np.array([100.0]),
        "latency_p99.9_ms": np.array([800.0]),
    }
    facts = score_variant(per_rep, 50.0, contract)
    assert contract.latency_key == "latency_p99.9_ms"
    assert facts.latency_ms == 800.0 and facts.p_latency_met == 0.0


# Properties over arbitrary replications -----------------------------------------------------------

fractions = st.floats(0.0, 1.0)
latencies = st.floats(1.0, 100_000.0)
costs = st.floats(0.0, 100_000.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(fractions, latencies), min_size=1, max_size=12), costs)
def test_points_are_bounded_and_pass_follows_the_rule(reps, cost):
    availability, latency = zip(*reps, strict=True)
    facts = score_variant(totals(list(availability), list(latency)), cost, CONTRACT)
    assert 0.0 <= facts.points <= 100.0
    assert facts.passed == (facts.p_contract_met >= PASS_PROBABILITY)
    assert facts.p_contract_met <= min(
        facts.p_availability_met, facts.p_latency_met, facts.p_cost_met
    )
    assert (facts.points == 100.0) == (facts.p_contract_met == 1.0)


@settings(max_examples=200, deadline=None)
@given(fractions, fractions, latencies, latencies, costs, costs)
def test_points_are_monotone_in_every_criterion(a1, a2, l1, l2, c1, c2):
    better = score_variant(totals([max(a1, a2)], min(l1, l2)), min(c1, c2), CONTRACT)
    worse = score_variant(totals([min(a1, a2)], max(l1, l2)), max(c1, c2), CONTRACT)
    assert worse.points <= better.points
