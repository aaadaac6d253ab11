"""Resilience policies and load balancing against closed forms (via the engine's contract).

* Round robin over n instances hands each instance every n-th arrival of a Poisson stream:
  Erlang-n inter-arrivals, an exact E_n/M/k queue per instance (``closed_forms.GammaMc`` with
  SCV 1/n); least connections is one pooled M/M/(n k) queue.
* A timeout T on a call to an M/M/c callee: the call times out with probability P(T_call > T)
  and the caller sees min(T_call, T) — timed-out requests count in the tail at the timeout.
* Immediate retries add their full load: the callee receives λ(1 − pⁿ)/(1 − p) calls, p the
  per-attempt timeout probability at that load (``closed_forms.retry_fixed_point``).
* Target-tracking autoscaling settles on n* = ceil(λS / (k · target)) instances.
* Closed-loop users (think time Z) who wait D between their attempts of a failing call send
  new requests at λ / (1 + D / Z): Little's law on the users waiting to retry.

Tolerances: 10 % on latencies from two-moment or composed laws, 5 % on means from exact ones,
2 % on utilization, 10 % (+ a small absolute floor) on failure fractions.
"""

import math

import numpy as np
import pytest
from scipy import integrate

from tests.engine.builders import DB_CORES_MEDIUM, PoolSpec, scenario_doc
from tests.engine.compare import within
from tests.engine.reference import closed_forms as cf
from tests.engine.runner import simulate_docs

DURATION_S = 900.0
WARMUP_TICKS = 60


# -- load-balancing algorithm ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instances", "concurrency", "service_ms"), [(4, 1, 40.0), (4, 4, 160.0), (2, 8, 160.0)]
)
def test_round_robin_instances_are_erlang_n_queues(instances, concurrency, service_ms):
    """Strict round robin gives instance j every n-th arrival of a Poisson stream: Erlang-n
    inter-arrivals (SCV 1/n), so each instance is an exact E_n/M/k queue (GI/M/c with Gamma
    arrivals of SCV 1/n); least connections is one pooled M/M/(n k) queue. Both within 10 %
    on the mean and p99 (ρ = 0.8; the load balancer adds its 0.5 ms hand-off)."""
    lam, lb_ms = 80.0, 0.5
    pool = PoolSpec(instances, concurrency, service_ms)
    designs = [
        {
            "components": [
                {"id": "lb", "type": "load_balancer", "algorithm": algorithm},
                pool.component(),
            ],
            "routes": {"read": ["lb", "app"]},
        }
        for algorithm in ("round_robin", "least_connections")
    ]
    rr, lc = simulate_docs(
        scenario_doc(rps=lam, duration_s=DURATION_S), designs, replications=16, seed=13
    ).variants
    exact = {
        "round_robin": (rr, cf.GammaMc(lam / instances, pool.mu, concurrency, 1.0 / instances)),
        "least_connections": (lc, cf.MMc(lam, pool.mu, pool.servers)),
    }
    failures = []
    for name, (v, q) in exact.items():
        for key, expected in (
            ("latency_mean_ms", q.mean_response * 1e3 + lb_ms),
            ("latency_p99_ms", q.response_percentile(99) * 1e3 + lb_ms),
        ):
            ok, msg = within(v.per_replication[key], expected, 0.10)
            if not ok:
                failures.append(f"{name} {key}: {msg}")
    assert not failures, "\n".join(failures)


# -- timeouts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("timeout_ms", "rho"), [(20.0, 0.7), (50.0, 0.7), (50.0, 0.9)])
def test_timeout_cuts_the_latency_at_the_timeout(timeout_ms, rho):
    """An app → db timeout T on an M/M/4 database (the app is a negligible 10 µs hop): a
    request times out with probability P(T_db > T), and the caller sees min(T_db, T) — timed-out
    requests count in the tail AT the timeout. Timeout fraction within 10 % (+0.002), mean of
    min(T_db, T) = ∫₀ᵀ P(T_db > t) dt within 5 %, p99 = min(q99(T_db), T) within 10 %."""
    lam, cores = 200.0, DB_CORES_MEDIUM
    design, mu = _db_behind_timeout(rho, timeout_ms, attempts=None)
    v = simulate_docs(
        scenario_doc(rps=lam, duration_s=600), [design], replications=16, seed=14
    ).variants[0]
    pr = v.per_replication
    db = cf.MMc(lam=lam, mu=mu, c=cores)
    cut_s = timeout_ms / 1e3
    timed_out = float((pr["errors_timeout"] / pr["offered"]).mean())
    expected_fraction = db.response_sf(cut_s)
    mean_ms = integrate.quad(db.response_sf, 0.0, cut_s)[0] * 1e3
    p99_ms = min(db.response_percentile(99), cut_s) * 1e3
    failures = []
    if abs(timed_out - expected_fraction) > 0.10 * expected_fraction + 0.002:
        failures.append(f"timed out {timed_out:.4f} vs P(T_db > T) {expected_fraction:.4f}")
    for key, expected, rel in (
        ("latency_mean_ms", mean_ms, 0.05),
        ("latency_p99_ms", p99_ms, 0.10),
    ):
        ok, msg = within(pr[key], expected, rel)
        if not ok:
            failures.append(f"{key}: {msg}")
    assert not failures, "\n".join(failures)


def _db_behind_timeout(rho: float, timeout_ms: float, attempts: int | None) -> tuple[dict, float]:
    """App (negligible hop) → M/M/4 database at utilization ρ, with a timeout (and retries)."""
    db_ms = 1e3 * rho * DB_CORES_MEDIUM / 200.0
    edge = {"from": "app", "to": "db", "timeout_ms": timeout_ms}
    if attempts is not None:
        edge["retries"] = {"max_attempts": attempts, "backoff_ms": 0, "jitter": False}
    design = {
        "components": [
            PoolSpec(instances=1, concurrency=64, service_ms=0.01).component(),
            {
                "id": "db",
                "type": "database",
                "max_connections": 100_000,
                "service_time_ms": {"read": db_ms},
            },
        ],
        "routes": {"read": ["app", "db"]},
        "edges": [edge],
    }
    return design, 1e3 / db_ms


@pytest.mark.parametrize(
    ("timeout_ms", "rho", "attempts"), [(50.0, 0.7, 3), (30.0, 0.6, 3), (50.0, 0.8, 2)]
)
def test_retries_add_their_full_load(timeout_ms, rho, attempts):
    """Retries are real load, undamped: in the mean-field regime the database receives
    λ(1 − pⁿ)/(1 − p) calls where p solves p = P(T_db > timeout) at that load
    (closed_forms.retry_fixed_point). Where a fixed point exists: DB utilization within 2 %,
    failed fraction pⁿ within 10 % (+0.001) — damped retries would show as less load. Where
    none exists below saturation (ρ = 0.8, two attempts), the database must saturate and
    nearly every request fail — a retry storm, not a damped steady state.

    The mean-field state is only METASTABLE: the per-request reference leaves it on its own
    (test_des_transients.py::test_retry_storm_starts_from_ordinary_poisson_noise)."""
    lam = 200.0
    design, mu = _db_behind_timeout(rho, timeout_ms, attempts)
    v = simulate_docs(
        scenario_doc(rps=lam, duration_s=600), [design], replications=8, seed=15
    ).variants[0]
    util = v.series["utilization:db"].mean[WARMUP_TICKS:].mean()
    failed = float((v.per_replication["errors_timeout"] / v.per_replication["offered"]).mean())
    p = cf.retry_fixed_point(lam, mu, DB_CORES_MEDIUM, timeout_ms / 1e3, attempts)
    if p is None:
        assert util >= 0.99 and failed >= 0.9, (util, failed)
        return
    expected_util = lam * (1 - p**attempts) / (1 - p) / (DB_CORES_MEDIUM * mu)
    assert util == pytest.approx(expected_util, rel=0.02)
    assert abs(failed - p**attempts) <= 0.10 * p**attempts + 0.001, (failed, p**attempts)


# -- autoscaling -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lam", "service_ms", "concurrency", "target"), [(400.0, 50.0, 8, 0.6), (1000.0, 20.0, 4, 0.5)]
)
def test_target_tracking_settles_on_the_fewest_instances_under_target(
    lam, service_ms, concurrency, target
):
    """Target tracking at constant load settles where utilization a/(n k) first drops to the
    target: n* = ceil(a / (k · target)), a = λ S the offered load [Erlang]. Over the last five
    minutes of 15 the mean instance count must lie in [n*, n* + 1] (Poisson noise may hold one
    extra instance), and utilization must not exceed the target by more than 5 % of it."""
    app = PoolSpec(instances=2, concurrency=concurrency, service_ms=service_ms).component()
    app["autoscaling"] = {
        "min": 1,
        "max": 50,
        "target_utilization": target,
        "cooldown_s": 30,
        "cold_start_s": 20,
    }
    v = simulate_docs(
        scenario_doc(rps=lam, duration_s=DURATION_S),
        [{"components": [app], "routes": {"read": ["app"]}}],
        replications=4,
        seed=18,
    ).variants[0]
    settled = v.series["instances:app"].mean[-300:].mean()
    n_star = math.ceil(lam * service_ms / 1e3 / (concurrency * target))
    assert n_star <= settled <= n_star + 1, (settled, n_star)
    assert v.series["utilization:app"].mean[-300:].mean() <= target * 1.05


# -- closed-loop users -------------------------------------------------------------------------


def _always_failing(think_time_s: float | None, backoff_ms: float) -> tuple[dict, dict]:
    """Every call fails (a bad deploy at 100 %) from 60 s to 260 s; three attempts, backoff
    without jitter, so a user waits exactly backoff, then 2 x backoff, between attempts."""
    traffic = {"curve": {"kind": "constant", "rps": 100.0}, "mix": {"read": 1.0}}
    if think_time_s is not None:
        traffic["think_time_s"] = think_time_s
    scenario = {
        "duration_s": 300,
        "traffic": traffic,
        "incidents": [
            {
                "kind": "bad_deploy",
                "at_s": 60,
                "duration_s": 200,
                "component": "app",
                "error_rate": 1.0,
            }
        ],
    }
    design = {
        "components": [
            {"id": "lb", "type": "load_balancer"},
            PoolSpec(instances=4, concurrency=8, service_ms=20.0).component(),
        ],
        "routes": {"read": ["lb", "app"]},
        "edges": [
            {
                "from": "lb",
                "to": "app",
                "retries": {"max_attempts": 3, "backoff_ms": backoff_ms, "jitter": False},
            }
        ],
    }
    return scenario, design


@pytest.mark.parametrize(("think_time_s", "backoff_ms"), [(10.0, 2000.0), (30.0, 5000.0)])
def test_closed_loop_users_waiting_to_retry_send_nothing_new(think_time_s, backoff_ms):
    """N = λZ users; each failing call keeps its user out of the thinking pool for
    D = B + 2B between its three attempts (a fast failure is noticed at once). By Little's law
    the users waiting to retry number P = r D, and new requests arrive at r = λ - P / Z, so
    r = λ / (1 + D / Z). Within 2 % (mean over 16 replications and the ticks) once the failure
    has lasted longer than D; back to λ after the rollback; and open-loop arrivals ignore it."""
    lam = 100.0
    scenario, design = _always_failing(think_time_s, backoff_ms)
    closed = simulate_docs(scenario, [design], replications=16, seed=21).variants[0]
    open_scenario, _ = _always_failing(None, backoff_ms)
    open_loop = simulate_docs(open_scenario, [design], replications=16, seed=21).variants[0]
    d_s = 3 * backoff_ms / 1e3
    failing = slice(60 + int(2 * d_s), 255)
    expected = lam / (1.0 + d_s / think_time_s)
    assert closed.series["offered_rps"].mean[failing].mean() == pytest.approx(expected, rel=0.02)
    assert closed.series["offered_rps"].mean[-15:].mean() == pytest.approx(lam, rel=0.05)
    assert open_loop.series["offered_rps"].mean[failing].mean() == pytest.approx(lam, rel=0.02)
    # conservation still holds per replication with the thinned arrivals
    rep = closed.per_replication
    np.testing.assert_allclose(
        rep["offered"], rep["succeeded"] + rep["failed"] + rep["in_flight"], rtol=1e-9
    )


def test_closed_loop_users_change_nothing_while_no_call_is_retried():
    """Thinning acts only through users waiting to retry: with no failures the closed-loop
    run is the open-loop run, array for array (same seed, same draws)."""
    scenario = scenario_doc(rps=200.0, duration_s=120)
    design = {
        "components": [PoolSpec(instances=2, concurrency=8, service_ms=30.0).component()],
        "routes": {"read": ["app"]},
    }
    closed_doc = {**scenario, "traffic": {**scenario["traffic"], "think_time_s": 5.0}}
    (open_loop,) = simulate_docs(scenario, [design], replications=4, seed=5).variants
    (closed,) = simulate_docs(closed_doc, [design], replications=4, seed=5).variants
    for key, band in open_loop.series.items():
        np.testing.assert_array_equal(band.mean, closed.series[key].mean, err_msg=key)
