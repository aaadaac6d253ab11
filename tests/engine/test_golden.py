"""Golden values for a small seeded run: any change to them must come with an ENGINE_VERSION
bump (results changed for the same input). Independent cross-checks sit beside them."""

from __future__ import annotations

import numpy as np
import pytest

from simulations.engine import ENGINE_VERSION, parse_design, parse_scenario, simulate
from tests.engine.engine_docs import design_doc, scenario_doc

SPIKE = [{"kind": "traffic_spike", "at_s": 60, "duration_s": 20, "multiplier": 2.0}]


@pytest.fixture(scope="module")
def variant():
    scenario = parse_scenario(scenario_doc(duration_s=120, incidents=SPIKE))
    design = parse_design(design_doc(), scenario)
    return simulate(scenario, [design], replications=4, seed=42).variants[0]


def test_golden_values_for_engine_version(variant):
    assert ENGINE_VERSION == "0.4.0"
    rep = variant.per_replication
    np.testing.assert_allclose(rep["offered"], [27984.0, 27968.0, 28244.0, 28147.0])
    np.testing.assert_allclose(rep["failed"], 0.0)
    np.testing.assert_allclose(
        rep["latency_p50_ms"], [21.4596204, 21.4585807, 21.4585244, 21.4584600], rtol=1e-6
    )
    np.testing.assert_allclose(
        rep["latency_p99_ms"], [131.6751575, 131.6744852, 131.6744488, 131.6744072], rtol=1e-6
    )
    np.testing.assert_allclose(
        rep["latency_mean_ms"], [29.8569388, 29.8559033, 29.8558473, 29.8557831], rtol=1e-6
    )
    np.testing.assert_allclose(
        variant.series["utilization:app"].mean[[0, 30, 65, 90]],
        [0.2263020833, 0.23390625, 0.4458333333, 0.2252604167],
        rtol=1e-6,
    )


def test_golden_run_agrees_with_hand_computed_figures(variant):
    rep = variant.per_replication
    # spend: instance-hours at list price for 120 s plus the load balancer's per-request fee
    # on the expected 200 rps x 120 s + 200 rps x 20 s of spike (fees follow the intensity)
    hourly = 3 * 0.192 + 0.342 + 0.206 + 0.025
    np.testing.assert_allclose(rep["spend_usd"], hourly * 120 / 3600 + 28_000 * 0.4e-6)
    # app utilization = offered load / servers: 200 rps x (0.9 x 25 + 0.1 x 40) ms / 24
    steady = variant.series["utilization:app"].mean[5:60].mean()
    assert steady == pytest.approx(200 * 0.0265 / 24, rel=0.03)
    # the spike doubles it
    assert variant.series["utilization:app"].mean[62:80].mean() == pytest.approx(
        2 * steady, rel=0.05
    )


def test_golden_counts_from_alias_tables():
    """Ten minutes of constant traffic at 64 replications: each class's mean count recurs
    often enough to be drawn from its alias table (``poisson.poisson_counts``)."""
    scenario = parse_scenario(scenario_doc(duration_s=600))
    result = simulate(scenario, [parse_design(design_doc(), scenario)], replications=64, seed=42)
    offered = result.variants[0].per_replication["offered"]
    np.testing.assert_array_equal(offered[:4], [119579.0, 119933.0, 120185.0, 119668.0])
    assert offered.sum() == 7680420.0
    # 200 rps x 600 s x 64 replications expected; the total is within 3 standard deviations of it
    assert abs(offered.sum() - 200 * 600 * 64) < 3 * np.sqrt(200 * 600 * 64)
