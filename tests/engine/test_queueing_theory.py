"""The engine against closed-form queueing theory (Kleinrock 1975; Harchol-Balter 2013).

A single app pool on the route ``read: [app]`` with Poisson arrivals (burstiness 1) and
exponential service is an M/M/c queue with c = instances × concurrency and μ = 1/service time;
with a finite ``max_queue_per_instance`` it is M/M/c/K with K = c + instances × queue. Each test
batches all utilizations of one c into ONE engine call (the variants differ only in service
time, so they share the arrival draws).

Tolerances (the issue's targets, plus the sampling noise of the engine's own replications):

* mean response within 5 % and p99 within 10 % for ρ ≤ 0.9, each widened by the 99.9 %
  confidence half-width of the engine's replication mean (a few tenths of a percent here);
* Erlang C probability of waiting and mean wait (through the mean backlog E[N_q] = λ E[W],
  Little's law on the queue) within 10 % for ρ ≥ 0.5, where waiting is not negligible;
* M/M/c/K blocking within 10 % relative (or 0.002 absolute for tiny probabilities);
* Little's law L = λW on the engine's own in-flight, throughput and latency series within 5 %.
"""

from dataclasses import dataclass

import numpy as np
import pytest

from tests.engine.builders import PoolSpec, scenario_doc, single_pool_design
from tests.engine.compare import within
from tests.engine.reference import closed_forms as cf
from tests.engine.runner import simulate_docs

RHOS = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9)
HEAVY = 0.95  # above the range: reported by its own test, same tolerances
DURATION_S = 900.0
WARMUP_TICKS = 60  # per-tick comparisons skip the first minute (the queue starts empty)
REPLICATIONS = 32


@dataclass(frozen=True)
class Case:
    rho: float
    c: int
    lam: float
    pool: PoolSpec
    variant: object  # engine VariantResult

    @property
    def theory(self) -> cf.MMc:
        return cf.MMc(lam=self.lam, mu=self.pool.mu, c=self.c)

    def tail_mean(self, key: str) -> float:
        """Mean over replications and over ticks after the warm-up of a per-tick series."""
        return float(self.variant.series[key].mean[WARMUP_TICKS:].mean())


# c = 1 (M/M/1), 8, 32 and 256 servers (the last beyond any small-c table); λ chosen so that
# service times stay in a realistic 2-200 ms range.
CASES = {1: 40.0, 8: 200.0, 32: 800.0, 256: 5000.0}


@pytest.fixture(scope="module", params=sorted(CASES), ids=lambda c: f"c={c}")
def mmc(request) -> list[Case]:
    """All utilizations of one c in ONE engine call (variants differ only in service time)."""
    c, lam = request.param, CASES[request.param]
    rhos = (*RHOS, HEAVY)
    pools = [PoolSpec(instances=1, concurrency=c, service_ms=1e3 * r * c / lam) for r in rhos]
    result = simulate_docs(
        scenario_doc(rps=lam, duration_s=DURATION_S),
        [single_pool_design(p) for p in pools],
        replications=REPLICATIONS,
        seed=11,
    )
    return [Case(r, c, lam, p, v) for r, p, v in zip(rhos, pools, result.variants, strict=True)]


def _check_latency(cases: list[Case], key: str, pct: float | None, rel: float) -> list[str]:
    failures = []
    for case in cases:
        q = case.theory
        expected = (q.mean_response if pct is None else q.response_percentile(pct)) * 1e3
        ok, msg = within(case.variant.per_replication[key], expected, rel)
        if not ok:
            failures.append(f"rho={case.rho}: {msg}")
    return failures


def _up_to_0_9(cases: list[Case]) -> list[Case]:
    return [case for case in cases if case.rho <= 0.9]


def test_mean_response_within_5_percent_up_to_rho_0_9(mmc):
    failures = _check_latency(_up_to_0_9(mmc), "latency_mean_ms", None, 0.05)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("key", "pct"),
    [
        ("latency_p50_ms", 50),
        ("latency_p90_ms", 90),
        ("latency_p95_ms", 95),
        ("latency_p99_ms", 99),
        ("latency_p99.9_ms", 99.9),
    ],
)
def test_percentiles_within_10_percent_up_to_rho_0_9(mmc, key, pct):
    failures = _check_latency(_up_to_0_9(mmc), key, pct, 0.10)
    assert not failures, "\n".join(failures)


def test_heavy_traffic_rho_0_95_mean_and_p99(mmc):
    """Above the issue's range (ρ = 0.95), held to the same 5 % / 10 %: stated, not assumed."""
    heavy = [case for case in mmc if case.rho == HEAVY]
    failures = _check_latency(heavy, "latency_mean_ms", None, 0.05)
    failures += _check_latency(heavy, "latency_p99_ms", 99, 0.10)
    assert not failures, "\n".join(failures)


def test_utilization_equals_offered_load_over_capacity(mmc):
    for case in mmc:
        assert case.tail_mean("utilization:app") == pytest.approx(case.rho, rel=0.02), case.rho


def test_erlang_c_mean_wait_from_the_latency(mmc):
    """E[W] = E[T] − 1/μ = C(c, a)/(cμ − λ) within 10 % where waiting matters (ρ ≥ 0.5),
    plus 1 % of the service time (for c = 256 at ρ = 0.5, E[W] ≈ 10⁻⁸ s: nothing to compare)."""
    failures = []
    for case in mmc:
        if case.rho < 0.5:
            continue
        q = case.theory
        wait_ms = case.variant.per_replication["latency_mean_ms"].mean() - case.pool.service_ms
        if (
            abs(wait_ms - q.mean_wait * 1e3)
            > 0.10 * q.mean_wait * 1e3 + 0.01 * case.pool.service_ms
        ):
            failures.append(f"rho={case.rho}: E[W] {wait_ms:.3f} ms vs {q.mean_wait * 1e3:.3f}")
    assert not failures, "\n".join(failures)


def test_erlang_c_queue_length_from_the_backlog(mmc):
    """E[N_q] = λ E[W] = λ C(c, a)/(cμ − λ): the mean backlog (requests waiting) within 10 % for
    ρ ≥ 0.5 — equivalently the probability of waiting, P(wait) = E[N_q] (cμ − λ)/λ."""
    failures = []
    for case in mmc:
        if case.rho < 0.5:
            continue
        q = case.theory
        backlog = case.tail_mean("backlog:app")
        if abs(backlog - q.mean_queue) > 0.10 * q.mean_queue:
            p_wait = backlog * (case.c * case.pool.mu - case.lam) / case.lam
            failures.append(
                f"rho={case.rho}: E[N_q] {backlog:.3f} vs {q.mean_queue:.3f} "
                f"(P(wait) {p_wait:.4f} vs Erlang C {q.p_wait:.4f})"
            )
    assert not failures, "\n".join(failures)


def test_littles_law_on_the_engines_own_series(mmc):
    """L = λW within 5 %, with λ = success_rps and W = the engine's mean latency, for two
    measures of L the engine computes by other routes: the system ``in_flight`` series, and
    backlog + busy servers (utilization × c) at the app. Checks their mutual consistency."""
    failures = []
    for case in mmc:
        s = {k: b.mean[WARMUP_TICKS:] for k, b in case.variant.series.items()}
        w_s = np.average(s["latency_mean_ms"], weights=s["success_rps"]) / 1e3
        expected = cf.littles_law_l(s["success_rps"].mean(), w_s)
        for name, in_system in (
            ("in_flight", s["in_flight"].mean()),
            ("backlog + busy", (s["backlog:app"] + s["utilization:app"] * case.c).mean()),
        ):
            if abs(in_system - expected) > 0.05 * expected:
                failures.append(f"rho={case.rho}: {name} {in_system:.3f} vs λW {expected:.3f}")
    assert not failures, "\n".join(failures)


MMCK_CASES = [(1, 1, 5, 0.9), (1, 1, 5, 1.2), (1, 4, 2, 0.8), (1, 16, 8, 1.0), (2, 8, 4, 1.1)]


@pytest.fixture(
    scope="module", params=MMCK_CASES, ids=lambda p: "inst={}-conc={}-queue={}-rho={}".format(*p)
)
def mmck_run(request):
    """One pool with a finite waiting room: M/M/c/K with K = c + instances × queue."""
    instances, concurrency, queue, rho = request.param
    lam = 200.0
    c = instances * concurrency
    pool = PoolSpec(instances, concurrency, 1000.0 * rho * c / lam, queue_per_instance=queue)
    v = simulate_docs(
        scenario_doc(rps=lam, duration_s=DURATION_S),
        [single_pool_design(pool)],
        replications=REPLICATIONS,
        seed=5,
    ).variants[0]
    return lam, pool, c + instances * queue, v


def test_mmck_blocking_probability(mmck_run):
    lam, pool, k, v = mmck_run
    s = v.series
    offered = s["offered_rps"].mean[WARMUP_TICKS:].sum()
    dropped = s["errors_dropped_rps"].mean[WARMUP_TICKS:].sum() / offered
    expected = cf.mmck_blocking(lam, pool.mu, pool.servers, k)
    assert abs(dropped - expected) <= max(0.10 * expected, 0.002), (dropped, expected)


def test_mmck_mean_response_of_admitted_requests(mmck_run):
    """A finite waiting room also bounds the wait: E[T | admitted] = E[N] / (λ (1 − p_K))."""
    lam, pool, k, v = mmck_run
    expected = cf.mmck_mean_response(lam, pool.mu, pool.servers, k) * 1e3
    ok, msg = within(v.per_replication["latency_mean_ms"], expected, 0.10)
    assert ok, msg


# -- bursty arrivals: GI/M/c -------------------------------------------------------------------

BURSTY_RHOS = (0.5, 0.7, 0.85)


@pytest.fixture(
    scope="module",
    params=[(c, scv) for c in (1, 8, 32) for scv in (2.0, 4.0)],
    ids=lambda p: f"c={p[0]}-scv={p[1]:g}",
)
def bursty(request):
    """``burstiness`` b is the SCV of inter-arrival times; the exact reference is GI/M/c with
    Gamma inter-arrivals of that SCV (its index of dispersion of counts is also b)."""
    c, scv = request.param
    lam = CASES[c]
    pools = [PoolSpec(1, c, 1e3 * r * c / lam) for r in BURSTY_RHOS]
    result = simulate_docs(
        scenario_doc(rps=lam, duration_s=DURATION_S, burstiness=scv),
        [single_pool_design(p) for p in pools],
        replications=REPLICATIONS,
        seed=12,
    )
    return [
        (rho, cf.GammaMc(lam, p.mu, c, scv), v)
        for rho, p, v in zip(BURSTY_RHOS, pools, result.variants, strict=True)
    ]


def test_bursty_arrivals_mean_and_p99_within_10_percent_of_exact_gi_m_c(bursty):
    """The issue's 5 % targets are for M/M/c; a variability-term (G/G/c) approximation is held to
    10 % on the mean and on p99 — the accuracy usually quoted for two-moment approximations
    (Whitt, "Approximations for the GI/G/m queue", 1993)."""
    failures = [miss for rho, q, v in bursty for miss in _gi_m_c_misses(rho, q, v)]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("c", "scv"), [(1, 6.0), (2, 3.0), (4, 6.0), (16, 6.0)])
def test_bursty_arrivals_held_out_cases(c, scv):
    """Burstiness values and pool sizes NOT used when the engine's fluid/stationary threshold
    was calibrated (docs/engine.md, known limits): same exact GI/M/c reference, same 10 % on the
    mean and p99, ρ = 0.6, 0.8 and 0.9."""
    lam = {1: 40.0, 2: 80.0, 4: 120.0, 16: 400.0}[c]
    rhos = (0.6, 0.8, 0.9)
    pools = [PoolSpec(1, c, 1e3 * r * c / lam) for r in rhos]
    variants = simulate_docs(
        scenario_doc(rps=lam, duration_s=DURATION_S, burstiness=scv),
        [single_pool_design(p) for p in pools],
        replications=REPLICATIONS,
        seed=21,
    ).variants
    failures = [
        miss
        for rho, pool, v in zip(rhos, pools, variants, strict=True)
        for miss in _gi_m_c_misses(rho, cf.GammaMc(lam, pool.mu, c, scv), v)
    ]
    assert not failures, "\n".join(failures)


def _gi_m_c_misses(rho, q, variant) -> list[str]:
    """The engine's mean and p99 response that miss the exact GI/M/c ``q`` by more than 10 %."""
    misses = []
    for key, expected in (
        ("latency_mean_ms", q.mean_response * 1e3),
        ("latency_p99_ms", q.response_percentile(99) * 1e3),
    ):
        ok, msg = within(variant.per_replication[key], expected, 0.10)
        if not ok:
            misses.append(f"rho={rho} {key}: {msg}")
    return misses
