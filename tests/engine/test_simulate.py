"""simulate(): contract keys, determinism, common random numbers, conservation, size caps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulations.engine import (
    ENGINE_VERSION,
    DesignError,
    parse_design,
    parse_scenario,
    simulate,
)
from simulations.engine.costs import HOURS_PER_MONTH, INSTANCE_USD_PER_HOUR
from simulations.engine.schema import SIZES
from tests.engine.engine_docs import design_doc, scenario_doc

CONTRACT_SERIES = (
    "offered_rps",
    "success_rps",
    "error_rps",
    "errors_timeout_rps",
    "errors_dropped_rps",
    "errors_shed_rps",
    "errors_dependency_rps",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "spend_usd",
    "utilization:app",
    "backlog:app",
    "instances:app",
    "hit_ratio:cache",
    "utilization:db",
    "backlog:db",
)
CONTRACT_TOTALS = (
    "offered",
    "succeeded",
    "failed",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_p99.9_ms",
    "spend_usd",
)
INCIDENTS = [
    {"kind": "traffic_spike", "at_s": 100, "duration_s": 60, "multiplier": 3.0},
    {"kind": "cache_flush", "at_s": 200, "component": "cache"},
    {"kind": "instance_failure", "at_s": 300, "duration_s": 60, "component": "app"},
    {"kind": "db_primary_failure", "at_s": 400, "component": "db", "duration_s": 30},
]


def _run(scenario=None, designs=None, replications=8, seed=3):
    scenario = parse_scenario(scenario or scenario_doc(incidents=INCIDENTS))
    designs = [parse_design(d, scenario) for d in (designs or [design_doc()])]
    return simulate(scenario, designs, replications=replications, seed=seed)


@pytest.fixture(scope="module")
def result():
    return _run()


def test_contract_keys_and_shapes(result):
    variant = result.variants[0]
    assert result.engine_version == ENGINE_VERSION
    assert result.times_s.shape == (600,)
    for key in CONTRACT_SERIES:
        band = variant.series[key]
        assert band.mean.shape == band.p05.shape == band.p95.shape == (600,), key
        assert np.all(band.p05 <= band.p95 + 1e-9), key
    for key in CONTRACT_TOTALS:
        assert variant.per_replication[key].shape == (8,), key
    assert variant.monthly_cost_usd > 0


def test_to_dict_is_json_safe(result):
    text = json.dumps(result.to_dict())
    back = json.loads(text)
    assert len(back["variants"][0]["series"]["latency_p99_ms"]["mean"]) == 600


def test_same_seed_is_bit_identical_and_another_seed_differs(result):
    again = _run()
    other = _run(seed=4)
    for key in ("success_rps", "latency_p99_ms", "utilization:db"):
        assert np.array_equal(
            result.variants[0].series[key].mean, again.variants[0].series[key].mean
        )
    assert not np.array_equal(
        result.variants[0].per_replication["offered"], other.variants[0].per_replication["offered"]
    )


def test_a_variant_identical_to_the_base_gives_identical_series():
    doc = design_doc()
    res = _run(designs=[doc, doc])
    base, twin = res.variants
    for key, band in base.series.items():
        assert np.array_equal(band.mean, twin.series[key].mean), key
    alone = _run(designs=[doc])
    assert np.array_equal(
        alone.variants[0].series["latency_p99_ms"].mean, base.series["latency_p99_ms"].mean
    )


def test_variants_share_arrivals_common_random_numbers():
    small = design_doc()
    small["components"][1]["instances"] = 2
    res = _run(designs=[design_doc(), small])
    assert np.array_equal(
        res.variants[0].per_replication["offered"], res.variants[1].per_replication["offered"]
    )


def test_requests_are_conserved_per_replication_and_per_tick(result):
    variant = result.variants[0]
    rep = variant.per_replication
    np.testing.assert_allclose(
        rep["offered"], rep["succeeded"] + rep["failed"] + rep["in_flight"], rtol=1e-9
    )
    s = variant.series
    net = np.cumsum(s["offered_rps"].mean - s["success_rps"].mean - s["error_rps"].mean)
    np.testing.assert_allclose(net * result.tick_s, s["in_flight"].mean, rtol=1e-6, atol=1e-6)
    causes = sum(s[f"errors_{c}_rps"].mean for c in ("timeout", "dropped", "shed", "dependency"))
    np.testing.assert_allclose(causes, s["error_rps"].mean, rtol=1e-12)


def test_incidents_show_up_where_they_should(result):
    s = result.variants[0].series
    assert s["offered_rps"].mean[110] == pytest.approx(3 * 200, rel=0.1)
    assert s["hit_ratio:cache"].mean[201] < 0.5 * s["hit_ratio:cache"].mean[190]
    assert s["errors_dependency_rps"].mean[401] > 0.5 * 200 * 0.1  # writes fail, db down
    kinds = {(e.kind, e.component) for e in result.variants[0].events}
    assert ("cache_flushed", "cache") in kinds
    assert ("incident_start", "db") in kinds


def test_spend_accumulates_and_is_never_negative(result):
    spend = result.variants[0].series["spend_usd"].mean
    assert np.all(np.diff(spend) >= 0) and spend[0] > 0
    hourly = 3 * 0.192 + 0.342 + 0.206 + 0.025  # app x3, db, cache, lb [USD/h]
    lb_requests = result.variants[0].per_replication["offered"].mean() * 0.40 / 1e6
    assert spend[-1] == pytest.approx(hourly * 600 / 3600 + lb_requests, rel=1e-3)


def test_oversize_work_is_refused_before_any_work():
    scenario = parse_scenario(scenario_doc(duration_s=86_400))
    design = parse_design(design_doc(), scenario)
    with pytest.raises(DesignError) as excinfo:
        simulate(scenario, [design] * 16, replications=512)
    assert "cap" in excinfo.value.problems[0].message


def test_a_batch_too_large_to_hold_in_memory_is_refused_even_when_short():
    """Memory grows with replications x variants x components whatever the run's length."""
    scenario = parse_scenario(scenario_doc(duration_s=60))
    design = parse_design(design_doc(), scenario)
    with pytest.raises(DesignError) as excinfo:
        simulate(scenario, [design] * 32, replications=1024)
    (problem,) = excinfo.value.problems
    assert "batch cells" in problem.message and "32768" in problem.message
    simulate(scenario, [design] * 2, replications=1024)  # 2 x 1024 x 4 cells fit


def test_every_component_policy_and_incident_kind_runs_and_conserves_requests():
    from tests.engine.engine_docs import ALL_INCIDENTS, CATALOGUE_MIX, catalogue_design

    doc = scenario_doc(duration_s=360, incidents=ALL_INCIDENTS)
    doc["traffic"]["mix"] = CATALOGUE_MIX
    doc["traffic"]["curve"] = {
        "kind": "diurnal",
        "base_rps": 300,
        "peak_rps": 700,
        "peak_at_s": 180,
    }
    result = _run(scenario=doc, designs=[catalogue_design()], replications=4)
    variant = result.variants[0]
    rep = variant.per_replication
    np.testing.assert_allclose(
        rep["offered"], rep["succeeded"] + rep["failed"] + rep["in_flight"], rtol=1e-9
    )
    for key, band in variant.series.items():
        assert np.all(np.isfinite(band.mean)), key
        if not key.startswith("spend"):
            assert np.all(band.mean >= -1e-9), key
    kinds = {e.kind for e in variant.events}
    assert {"incident_start", "cache_flushed", "failover", "incident_skipped"} <= kinds
    assert variant.series["replica_lag_s:db"].mean.max() >= 0
    assert "load_rps:db#lock" in variant.series and "utilization:db#replicas" in variant.series
    json.dumps(result.to_dict())


def test_a_read_only_mix_with_replicas_runs_in_a_batch_of_variants():
    """Regression: a mix without writes crashed batches whose designs replicate a database."""
    # given: reads only, and a database with one read replica
    scenario = parse_scenario(
        {
            "duration_s": 60,
            "tick_s": 1,
            "traffic": {"curve": {"kind": "constant", "rps": 100}, "mix": {"read": 1.0}},
            "sla": {"availability": 0.99, "latency_percentile": 99, "latency_ms": 300},
            "budget_usd_per_month": 1000,
        }
    )
    doc = {
        "components": [
            {
                "id": "app",
                "type": "app_pool",
                "instances": 2,
                "concurrency": 4,
                "service_time_ms": {"read": 10},
            },
            {"id": "db", "type": "database", "read_replicas": 1, "service_time_ms": {"read": 3}},
        ],
        "routes": {"read": ["app", "db"]},
    }
    design = parse_design(doc, scenario)
    # when: two variants in one batch
    result = simulate(scenario, [design, design], replications=4, seed=1)
    # then: both ran, identically (common random numbers), and served nearly everything
    first, second = (v.per_replication for v in result.variants)
    np.testing.assert_array_equal(first["succeeded"], second["succeeded"])
    assert (first["succeeded"] > 0.95 * first["offered"]).all()


def test_a_larger_cache_node_costs_its_list_price_more_for_the_same_memory():
    """Memory comes with the node: the same 1 GB on each node size serves the same (common
    random numbers, same hit ratio) and costs the size's list price difference."""
    scenario = scenario_doc(duration_s=120)
    designs = []
    for size in SIZES:
        doc = design_doc()
        doc["components"][2].update(size=size, memory_gb=1.0, nodes=2)
        designs.append(doc)
    variants = _run(scenario, designs, replications=2).variants
    base, price = variants[0], INSTANCE_USD_PER_HOUR["cache"]
    for size, variant in zip(SIZES, variants, strict=True):
        extra = 2 * (price[size] - price[SIZES[0]])  # two nodes [USD/h]
        assert variant.monthly_cost_usd - base.monthly_cost_usd == pytest.approx(
            extra * HOURS_PER_MONTH
        )
        np.testing.assert_array_equal(
            variant.series["hit_ratio:cache"].mean, base.series["hit_ratio:cache"].mean
        )
