"""Properties that must hold for EVERY valid input (hypothesis), not just for tuned examples.

Designs are drawn from the realistic part of the catalogue — an app pool alone, or behind a
load balancer with a cache and a database, with timeouts and retries on the app → db edge —
under constant, ramp and spike curves with optional incidents. Example counts are small (the
machine has two cores); each example is a short run.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.engine.builders import scenario_doc
from tests.engine.runner import simulate_docs

# No shrinking: on a 2-core CI box a failing property would spend minutes minimising; the
# unshrunk example is printed and is small enough to reproduce by hand.
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)
CAUSES = ("errors_timeout_rps", "errors_dropped_rps", "errors_shed_rps", "errors_dependency_rps")
PERCENTILE_KEYS = (
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_p99.9_ms",
)


IDLE_WORKERS = {
    "id": "workers",
    "type": "worker_pool",
    "instances": 2,
    "concurrency": 4,
    "service_time_ms": {"async_job": 80},
}


@st.composite
def designs(draw):
    service = draw(st.floats(5, 120))
    app = {
        "id": "app",
        "type": "app_pool",
        "instances": draw(st.integers(1, 6)),
        "concurrency": draw(st.integers(1, 16)),
        "service_time_ms": {"read": service, "write": service * draw(st.floats(1, 3))},
        "max_queue_per_instance": draw(st.integers(0, 500)),
    }
    if draw(st.booleans()):
        app["autoscaling"] = {
            "min": 1,
            "max": app["instances"] + draw(st.integers(0, 6)),  # a valid design starts in range
            "target_utilization": draw(st.floats(0.3, 0.9)),
            "cooldown_s": draw(st.sampled_from([0, 10, 60])),
            "cold_start_s": draw(st.sampled_from([0, 5, 30])),
        }
    if draw(st.booleans()):
        app["shed_after_ms"] = draw(st.floats(10, 2000))
    # Sometimes a component that no route uses: one design must fit many scenarios.
    idle = [IDLE_WORKERS] if draw(st.booleans()) else []
    if draw(st.booleans()):
        return {"components": [app, *idle], "routes": {"read": ["app"], "write": ["app"]}}
    limiter = (
        [{"id": "limiter", "type": "rate_limiter", "rate_rps": draw(st.floats(10, 3000))}]
        if draw(st.booleans())
        else []
    )
    front = ["lb", *(c["id"] for c in limiter)]
    design = {
        "components": [
            {"id": "lb", "type": "load_balancer"},
            *limiter,
            app,
            # two medium nodes hold 12.8 GB: room for every memory drawn
            {"id": "cache", "type": "cache", "nodes": 2, "memory_gb": draw(st.floats(0.05, 8))},
            {
                "id": "db",
                "type": "database",
                "max_connections": draw(st.integers(5, 200)),
                "service_time_ms": {
                    "read": draw(st.floats(1, 20)),
                    "write": draw(st.floats(2, 40)),
                },
            },
            *idle,
        ],
        "routes": {"read": [*front, "app", "cache", "db"], "write": [*front, "app", "db"]},
    }
    if draw(st.booleans()):
        edge = {
            "from": "app",
            "to": "db",
            "timeout_ms": draw(st.floats(20, 2000)),
            "retries": {
                "max_attempts": draw(st.integers(1, 4)),
                "backoff_ms": draw(st.sampled_from([0, 50, 200])),
                "jitter": draw(st.booleans()),
            },
        }
        if draw(st.booleans()):
            edge["circuit_breaker"] = {"error_rate": draw(st.floats(0.1, 0.9)), "open_s": 5}
        design["edges"] = [edge]
    return design


@st.composite
def scenarios(draw):
    duration = draw(st.sampled_from([60.0, 120.0]))
    rps = draw(st.floats(1, 3000))
    curve = draw(
        st.sampled_from(
            [
                {"kind": "constant", "rps": rps},
                {"kind": "ramp", "start_rps": rps / 4, "end_rps": rps},
                {
                    "kind": "spike",
                    "base_rps": rps / 3,
                    "spike_rps": rps,
                    "at_s": 20,
                    "duration_s": 15,
                },
            ]
        )
    )
    incidents = draw(
        st.lists(
            st.sampled_from(
                [
                    {"kind": "traffic_spike", "at_s": 10, "duration_s": 20, "multiplier": 3.0},
                    {"kind": "instance_failure", "at_s": 15, "duration_s": 20, "component": "app"},
                    {
                        "kind": "dependency_slowdown",
                        "at_s": 5,
                        "duration_s": 30,
                        "component": "db",
                        "factor": 5.0,
                    },
                    {"kind": "cache_flush", "at_s": 30, "component": "cache"},
                    {"kind": "db_primary_failure", "at_s": 20, "component": "db"},
                    {
                        "kind": "bad_deploy",
                        "at_s": 10,
                        "duration_s": 20,
                        "component": "app",
                        "error_rate": 0.3,
                    },
                    {
                        "kind": "capacity_loss",
                        "at_s": 10,
                        "duration_s": 30,
                        "component": "app",
                        "fraction": 0.5,
                    },
                ]
            ),
            max_size=2,
        )
    )
    read = draw(st.floats(0.5, 1.0))
    doc = scenario_doc(
        curve=curve,
        duration_s=duration,
        tick_s=draw(st.sampled_from([0.5, 1.0, 2.0])),
        mix={"read": read, "write": 1.0 - read} if read < 1.0 else {"read": 1.0},
        burstiness=draw(st.sampled_from([1.0, 1.0, 4.0])),
        incidents=incidents,
    )
    think_time_s = draw(st.sampled_from([None, None, 2.0, 30.0]))  # closed-loop users
    if think_time_s is not None:
        doc["traffic"]["think_time_s"] = think_time_s
    return doc


@SETTINGS
@given(scenario=scenarios(), design=designs())
def test_requests_are_conserved_per_tick_and_in_totals(scenario, design):
    result = simulate_docs(scenario, [design], replications=4, seed=1)
    v, dt = result.variants[0], result.tick_s
    s = {k: b.mean for k, b in v.series.items()}
    # Per tick, cumulatively: arrived so far = finished so far + in flight now.
    arrived = np.cumsum(s["offered_rps"]) * dt
    finished = np.cumsum(s["success_rps"] + s["error_rps"]) * dt
    np.testing.assert_allclose(
        arrived - finished, s["in_flight"], rtol=1e-6, atol=1e-6 * arrived[-1] + 1e-6
    )
    # Errors by cause add up to the errors.
    np.testing.assert_allclose(sum(s[c] for c in CAUSES), s["error_rps"], rtol=1e-9, atol=1e-9)
    # Totals, per replication: offered = succeeded + failed + still in flight at the end.
    pr = v.per_replication
    np.testing.assert_allclose(
        pr["offered"], pr["succeeded"] + pr["failed"] + pr["in_flight"], rtol=1e-9
    )
    for key in ("offered", "succeeded", "failed", "in_flight"):
        assert (pr[key] >= 0).all(), key


@SETTINGS
@given(scenario=scenarios(), design=designs())
def test_latencies_non_negative_and_percentiles_ordered(scenario, design):
    v = simulate_docs(scenario, [design], replications=4, seed=2).variants[0]
    pr = v.per_replication
    stacked = np.vstack([pr[k] for k in PERCENTILE_KEYS])
    finite = np.isfinite(stacked).all(axis=0)  # a replication with no completed request has nan
    assert (stacked[:, finite] >= 0).all()
    assert (np.diff(stacked[:, finite], axis=0) >= -1e-9).all(), "p50 ≤ p90 ≤ p95 ≤ p99 ≤ p99.9"
    for mean in (pr["latency_mean_ms"], v.series["latency_mean_ms"].mean):
        assert (mean[np.isfinite(mean)] >= 0).all()
    for band in ("mean", "p05", "p95"):
        p50, p95, p99 = (
            getattr(v.series[k], band)
            for k in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
        )
        ok = np.isfinite(p50) & np.isfinite(p95) & np.isfinite(p99)
        assert (p50[ok] >= 0).all()
        assert (p50[ok] <= p95[ok] + 1e-9).all() and (p95[ok] <= p99[ok] + 1e-9).all(), band


@SETTINGS
@given(scenario=scenarios(), design=designs())
def test_costs_never_negative_and_spend_accumulates(scenario, design):
    v = simulate_docs(scenario, [design], replications=2, seed=3).variants[0]
    assert v.monthly_cost_usd > 0
    spend = v.series["spend_usd"].mean
    assert (spend >= 0).all()
    assert (np.diff(spend) >= -1e-9).all(), "cumulative spend never goes down"
    assert (v.per_replication["spend_usd"] >= 0).all()


@settings(max_examples=10, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate])
@given(
    rps=st.floats(20, 600),
    step=st.floats(1.05, 1.6),
    service=st.floats(10, 80),
    instances=st.integers(1, 4),
)
def test_latency_is_non_decreasing_in_load(rps, step, service, instances):
    """Same design, same seed (common random numbers), more load ⇒ no percentile goes down.

    Compared on the mean over replications of the whole-run percentiles, with no tolerance.
    Drawn on queueing pools only: behind a cache with a TTL, more reads legitimately RAISE the
    hit ratio (each key is refreshed more often), so end-to-end latency may fall with load.
    """
    design = {
        "components": [
            {
                "id": "app",
                "type": "app_pool",
                "instances": instances,
                "concurrency": 8,
                "service_time_ms": {"read": service},
                "max_queue_per_instance": 1_000_000,
            }
        ],
        "routes": {"read": ["app"]},
    }
    low, high = (
        simulate_docs(scenario_doc(rps=r, duration_s=120), [design], replications=8, seed=4)
        .variants[0]
        .per_replication
        for r in (rps, rps * step)
    )
    for key in PERCENTILE_KEYS:
        assert np.nanmean(high[key]) >= np.nanmean(low[key]) * (1 - 1e-9), key


@pytest.mark.parametrize("seed", [0, 7])
def test_same_seed_gives_bit_identical_results_and_another_seed_differs(seed):
    scenario = scenario_doc(rps=300, duration_s=120, mix={"read": 0.8, "write": 0.2})
    design = {
        "components": [
            {"id": "lb", "type": "load_balancer"},
            {
                "id": "app",
                "type": "app_pool",
                "instances": 2,
                "concurrency": 8,
                "service_time_ms": {"read": 30, "write": 50},
            },
            {"id": "cache", "type": "cache", "memory_gb": 1},
            {"id": "db", "type": "database", "service_time_ms": {"read": 5, "write": 12}},
        ],
        "routes": {"read": ["lb", "app", "cache", "db"], "write": ["lb", "app", "db"]},
    }
    a, b = (simulate_docs(scenario, [design], replications=8, seed=seed) for _ in range(2))
    c = simulate_docs(scenario, [design], replications=8, seed=seed + 1)
    va, vb, vc = a.variants[0], b.variants[0], c.variants[0]
    assert va.series.keys() == vb.series.keys()
    for key in va.series:
        for band in ("mean", "p05", "p95"):
            np.testing.assert_array_equal(
                getattr(va.series[key], band), getattr(vb.series[key], band)
            )
    for key in va.per_replication:
        np.testing.assert_array_equal(va.per_replication[key], vb.per_replication[key])
    assert va.events == vb.events
    assert not np.array_equal(va.per_replication["offered"], vc.per_replication["offered"])


def test_idle_component_changes_nothing_but_cost():
    """A component on no route (here a worker pool, with no async jobs in the mix) carries no
    traffic: every traffic and latency output is identical, only the spend goes up."""
    scenario = scenario_doc(rps=400, duration_s=120, mix={"read": 1.0})
    base = {
        "components": [
            {"id": "lb", "type": "load_balancer"},
            {
                "id": "app",
                "type": "app_pool",
                "instances": 2,
                "concurrency": 8,
                "service_time_ms": {"read": 30},
            },
        ],
        "routes": {"read": ["lb", "app"]},
    }
    with_idle = {**base, "components": [*base["components"], IDLE_WORKERS]}
    plain, idle = simulate_docs(scenario, [base, with_idle], replications=4, seed=9).variants
    for key in ("success_rps", "error_rps", "latency_p99_ms", "latency_mean_ms", "backlog:app"):
        np.testing.assert_array_equal(idle.series[key].mean, plain.series[key].mean, err_msg=key)
    assert idle.monthly_cost_usd > plain.monthly_cost_usd


@SETTINGS
@given(scenario=scenarios(), design=designs(), other=designs())
def test_common_random_numbers_a_variant_does_not_depend_on_its_batch(scenario, design, other):
    """Variants share the random draws: a design simulated alone and the same design batched
    with another (and with a copy of itself) give the same series and totals up to float
    round-off (rtol 1e-9: summation order may differ with the batch shape; different draws
    would differ by percents)."""
    alone = simulate_docs(scenario, [design], replications=3, seed=5).variants[0]
    batched = simulate_docs(scenario, [other, design, design], replications=3, seed=5).variants
    for twin in batched[1:]:
        for key in ("offered_rps", "success_rps", "error_rps", "latency_p99_ms", "in_flight"):
            np.testing.assert_allclose(
                twin.series[key].mean, alone.series[key].mean, rtol=1e-9, atol=1e-9, err_msg=key
            )
        for key in ("offered", "succeeded", "failed", "latency_p99_ms"):
            np.testing.assert_allclose(
                twin.per_replication[key], alone.per_replication[key], rtol=1e-9, err_msg=key
            )
