"""The ground truth is checked before it judges the engine.

Closed forms are checked against exact rationals worked by hand, against scipy's Poisson
distribution (Erlang B/C identities) and against numerical integration; the SimPy reference is
checked against the closed forms with 99.9 % batch-means confidence intervals.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import poisson

from tests.engine.reference import closed_forms as cf
from tests.engine.reference.des import (
    DROPPED,
    TIMED_OUT,
    KeyCache,
    Network,
    Station,
    simulate_network,
    token_bucket_shed_fraction,
)
from tests.engine.reference.stats import batch_interval, percentile_of

# -- closed forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "a", "b_exact", "c_exact"),
    [
        # B(2,1) = (1/2) / (1 + 1 + 1/2) = 1/5; C = 2B / (2 - 1·(1-B)) = 1/3
        (2, 1, Fraction(1, 5), Fraction(1, 3)),
        # B(3,2) = (8/6) / (1 + 2 + 2 + 8/6) = 4/19; C = 3B / (3 - 2(1-B)) = 4/9
        (3, 2, Fraction(4, 19), Fraction(4, 9)),
        # c = 1: B = a/(1+a), C = ρ
        (1, Fraction(1, 2), Fraction(1, 3), Fraction(1, 2)),
    ],
)
def test_erlang_b_and_c_match_hand_worked_rationals(c, a, b_exact, c_exact):
    assert cf.erlang_b(c, float(a)) == pytest.approx(float(b_exact), rel=1e-12)
    assert cf.erlang_c(c, float(a)) == pytest.approx(float(c_exact), rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(1, 0.3), (5, 2.0), (10, 8.0), (50, 45.0), (300, 290.0)])
def test_erlang_b_and_c_match_scipy_poisson_identities(c, a):
    # Erlang B is a truncated Poisson: B = P(X = c) / P(X ≤ c), X ~ Poisson(a).
    b = poisson.pmf(c, a) / poisson.cdf(c, a)
    # Erlang C: C = P(X=c)·c/(c−a) / (P(X ≤ c−1) + P(X=c)·c/(c−a)).
    tail = poisson.pmf(c, a) * c / (c - a)
    erlang_c = tail / (poisson.cdf(c - 1, a) + tail)
    assert cf.erlang_b(c, a) == pytest.approx(b, rel=1e-9)
    assert cf.erlang_c(c, a) == pytest.approx(erlang_c, rel=1e-9)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.95])
def test_mm1_special_case_is_exponential_response(rho):
    mu = 20.0
    q = cf.MMc(lam=rho * mu, mu=mu, c=1)
    assert q.p_wait == pytest.approx(rho, rel=1e-12)
    assert q.mean_response == pytest.approx(1.0 / (mu - rho * mu), rel=1e-12)
    for pct in (50, 95, 99, 99.9):
        exact = -math.log(1.0 - pct / 100.0) / (mu * (1.0 - rho))
        assert q.response_percentile(pct) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize(("c", "rho"), [(2, 0.5), (4, 0.8), (16, 0.9), (3, 2.0 / 3.0)])
def test_mmc_response_tail_integrates_to_the_mean(c, rho):
    # E[T] = ∫₀^∞ P(T > t) dt — an independent check of the hypoexponential tail. (c=3,
    # ρ=2/3 makes cμ − λ = μ, the degenerate branch of the formula.)
    mu = 10.0
    q = cf.MMc(lam=rho * c * mu, mu=mu, c=c)
    area, _ = integrate.quad(q.response_sf, 0, np.inf, limit=200)
    assert area == pytest.approx(q.mean_response, rel=1e-7)
    assert q.response_sf(q.response_percentile(99)) == pytest.approx(0.01, rel=1e-9)


def test_mmc_littles_law_and_queue_length_agree_with_state_probabilities():
    lam, mu, c = 7.0, 1.0, 10
    q = cf.MMc(lam=lam, mu=mu, c=c)
    # The M/M/c/K distribution with a huge K converges to M/M/c, giving E[N] independently.
    p = cf.mmck_distribution(lam, mu, c, 2000)
    mean_n = sum(n * pn for n, pn in enumerate(p))
    assert mean_n == pytest.approx(q.mean_in_system, rel=1e-9)
    assert sum(p[c:]) == pytest.approx(q.p_wait, rel=1e-9)
    assert cf.littles_law_l(lam, q.mean_response) == pytest.approx(mean_n, rel=1e-9)


@pytest.mark.parametrize(("rho", "k"), [(0.5, 5), (0.9, 10), (1.5, 4)])
def test_mm1k_blocking_matches_geometric_closed_form(rho, k):
    # M/M/1/K: p_K = (1−ρ) ρ^K / (1 − ρ^{K+1}) (Kleinrock 1975 eq. 3.45).
    exact = (1 - rho) * rho**k / (1 - rho ** (k + 1))
    assert cf.mmck_blocking(rho, 1.0, 1, k) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (5, 3.0), (20, 25.0)])
def test_mmcc_blocking_is_erlang_b(c, a):
    assert cf.mmck_blocking(a, 1.0, c, c) == pytest.approx(cf.erlang_b(c, a), rel=1e-12)


@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (4, 0.8), (16, 0.9)])
def test_gamma_arrivals_with_scv_1_reduce_to_erlang_c(c, rho):
    # Gamma with shape 1 is the exponential: GI/M/c must give back M/M/c exactly.
    lam, mu = 100.0, 100.0 / (rho * c)
    gamma, markov = cf.GammaMc(lam, mu, c, scv=1.0), cf.MMc(lam, mu, c)
    assert gamma.sigma == pytest.approx(rho, rel=1e-9)  # σ = ρ for Poisson arrivals
    assert gamma.p_wait == pytest.approx(markov.p_wait, rel=1e-9)
    assert gamma.mean_response == pytest.approx(markov.mean_response, rel=1e-9)


def test_gi_m_1_waits_with_probability_sigma():
    # GI/M/1: an arrival finds the server busy with probability σ and waits Exp(μ(1 − σ))
    # (Kleinrock 1975 §6.4). Burstier arrivals (larger SCV) give a larger σ than ρ.
    q = cf.GammaMc(lam=50.0, mu=100.0, c=1, scv=4.0)
    assert q.p_wait == pytest.approx(q.sigma, rel=1e-9)
    assert q.mean_wait == pytest.approx(q.sigma / (100.0 * (1 - q.sigma)), rel=1e-9)
    assert 0.5 < q.sigma < 1.0


def test_retry_fixed_point_reduces_to_one_attempt_and_detects_the_storm():
    lam, mu, c, timeout = 200.0, 1000.0 / 14.0, 4, 0.05
    # One attempt: no extra load, p is just the response tail at the timeout.
    single = cf.retry_fixed_point(lam, mu, c, timeout, attempts=1)
    assert single == pytest.approx(cf.MMc(lam, mu, c).response_sf(timeout), rel=1e-9)
    # Three attempts: self-consistent, more load than without retries, and p ≥ the no-retry p.
    p = cf.retry_fixed_point(lam, mu, c, timeout, attempts=3)
    offered = lam * (1 + p + p**2)
    assert p == pytest.approx(cf.MMc(offered, mu, c).response_sf(timeout), rel=1e-9)
    assert p > single
    # ρ = 0.8 and two attempts: no fixed point below saturation — the retry storm.
    assert cf.retry_fixed_point(lam, 1000.0 / 16.0, c, timeout, attempts=2) is None


def test_closed_forms_refuse_unstable_or_nonsense_input():
    with pytest.raises(ValueError, match="unstable"):
        cf.MMc(lam=10.0, mu=5.0, c=2)
    with pytest.raises(ValueError):
        cf.erlang_c(3, 3.0)
    with pytest.raises(ValueError):
        cf.fluid_drain_time(100.0, lam=10.0, mu=5.0, c=2)


def test_che_approximation_is_exact_for_uniform_popularity_limit_and_orders_caches():
    pop = cf.zipf_popularity(10_000, 0.99)
    small, large = cf.che_lru_hit_ratio(pop, 500), cf.che_lru_hit_ratio(pop, 5_000)
    # LRU can never beat the static "top-C keys" cache (the best a cache of C items can do).
    assert small < pop[:500].sum()
    assert large < pop[:5_000].sum()
    assert 0 < small < large < 1
    # Uniform popularity: LRU holds a random C of N keys, hit ratio C/N.
    uniform = np.full(1000, 1e-3)
    assert cf.che_lru_hit_ratio(uniform, 250) == pytest.approx(0.25, rel=1e-9)


# -- the SimPy reference against the closed forms --------------------------------------------

WARMUP_S = 50.0


def _single_station(c: int, service_ms: float, queue_limit: int | None = None) -> Network:
    return Network(
        stations=(Station("app", c, {"read": service_ms}, queue_limit=queue_limit),),
        routes={"read": ("app",)},
        mix={"read": 1.0},
    )


@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (1, 0.8), (4, 0.8), (8, 0.9)])
def test_des_mmc_mean_and_p99_within_confidence_interval_of_erlang_c(c, rho):
    mu = 25.0  # 40 ms service
    lam = rho * c * mu
    # 100k requests per case (≈1 s); the 99.9 % batch-means CI is the tolerance. (Checked
    # over 21 seeds at c=4, ρ=0.8: errors are centred, |error| / half-width ≤ 0.65.)
    horizon = int(100_000 / lam)
    res = simulate_network(_single_station(c, 40.0), np.full(horizon, lam), 1.0, seed=2026)
    lat = res.ok_latency_ms(WARMUP_S)
    q = cf.MMc(lam=lam, mu=mu, c=c)
    mean, hw = batch_interval(lat)
    assert abs(mean - q.mean_response * 1e3) <= hw, (mean, hw, q.mean_response * 1e3)
    p99, hw99 = batch_interval(lat, percentile_of(99))
    assert abs(p99 - q.response_percentile(99) * 1e3) <= hw99
    busy = res.busy["app"]  # sampled busy servers: E[busy] = λ/μ (offered load)
    assert busy[int(WARMUP_S) :].mean() == pytest.approx(lam / mu, rel=0.05)


@pytest.mark.parametrize(("c", "k", "rho"), [(1, 5, 0.9), (2, 5, 1.2), (4, 6, 0.8)])
def test_des_mmck_blocking_within_binomial_tolerance(c, k, rho):
    mu, lam = 25.0, rho * c * 25.0
    res = simulate_network(
        _single_station(c, 40.0, queue_limit=k - c), np.full(600, lam), 1.0, seed=k
    )
    m = res.mask(WARMUP_S)
    dropped = res.outcome[m] == DROPPED
    expected = cf.mmck_blocking(lam, mu, c, k)
    mean, hw = batch_interval(dropped.astype(float))
    assert abs(mean - expected) <= hw, (mean, hw, expected)


def test_des_tandem_with_cache_matches_jackson_network_mean():
    # LB-free three-station path app → cache → db. A fixed hit ratio h thins the stream to the
    # db to λ(1−h), still Poisson; by Burke's theorem each station is an independent M/M/c and
    # E[T] = T_app + T_cache + (1 − h)·T_db (Jackson 1957; Kleinrock 1975 §4.8).
    lam, h = 150.0, 0.7
    net = Network(
        stations=(
            Station("app", 8, {"read": 40.0}),
            Station("cache", 2, {"read": 1.0}, hit_ratio=h),
            Station("db", 4, {"read": 20.0}),
        ),
        routes={"read": ("app", "cache", "db")},
        mix={"read": 1.0},
    )
    res = simulate_network(net, np.full(600, lam), 1.0, seed=7)
    lat = res.ok_latency_ms(WARMUP_S)
    expected = (
        cf.MMc(lam, 25.0, 8).mean_response
        + cf.MMc(lam, 1000.0, 2).mean_response
        + (1 - h) * cf.MMc(lam * (1 - h), 50.0, 4).mean_response
    ) * 1e3
    mean, hw = batch_interval(lat)
    assert abs(mean - expected) <= hw, (mean, hw, expected)
    assert res.hit_ratio == pytest.approx(h, abs=0.01)


def test_des_key_level_lru_hit_ratio_matches_che_approximation():
    keys, s, capacity = 20_000, 0.9, 2_000
    net = Network(
        stations=(Station("cache", 4, {"read": 1.0}),),
        routes={"read": ("cache",)},
        mix={"read": 1.0},
        key_cache=KeyCache("cache", keys=keys, zipf_s=s, capacity_items=capacity),
    )
    res = simulate_network(net, np.full(400, 200.0), 1.0, seed=3)
    expected = cf.che_lru_hit_ratio(cf.zipf_popularity(keys, s), capacity)
    # 80k lookups, the first ~capacity/(1−h) are the cold start: ±0.015 covers both the
    # binomial noise (σ ≈ 0.002) and the warm-up transient (≈ 2k misses / 80k ≈ 0.025 × (1−h)).
    assert res.hit_ratio == pytest.approx(expected, abs=0.015)


def test_des_overload_backlog_grows_at_lambda_minus_c_mu_then_drains():
    # Fluid limit with Brownian fluctuations: over T seconds of overload the backlog gains
    # (λ − cμ)T ± √((λ + cμ)T) (arrivals and departures both Poisson-like), and a backlog B
    # drains in B/(cμ − λ) with first-passage s.d. √(B(λ + cμ))/(cμ − λ)^{3/2}. Tolerances are
    # 3.3 of those standard deviations (≈ 99.9 %).
    c, mu, base, peak_rps = 4, 25.0, 80.0, 130.0
    rate = np.concatenate([np.full(60, base), np.full(60, peak_rps), np.full(240, base)])
    res = simulate_network(_single_station(c, 40.0), rate, 1.0, seed=11)
    backlog = res.backlog["app"]
    span = 49.0
    growth = (backlog[119] - backlog[70]) / span
    expected_growth = cf.fluid_backlog_growth(peak_rps, mu, c)
    assert abs(growth - expected_growth) <= 3.3 * math.sqrt((peak_rps + c * mu) / span)
    peak = backlog[120]
    drain = cf.fluid_drain_time(peak, base, mu, c)
    sd = math.sqrt(peak * (base + c * mu)) / (c * mu - base) ** 1.5
    cleared = int(np.argmax(backlog[120:] == 0))
    assert abs(cleared - drain) <= 3.3 * sd + 2.0  # + 2 ticks: sampling at tick starts


def test_des_is_deterministic_for_a_seed():
    net = _single_station(2, 40.0)
    a = simulate_network(net, np.full(50, 40.0), 1.0, seed=5)
    b = simulate_network(net, np.full(50, 40.0), 1.0, seed=5)
    np.testing.assert_array_equal(a.latency_ms, b.latency_ms)
    np.testing.assert_array_equal(a.backlog["app"], b.backlog["app"])


@pytest.mark.parametrize("rho", [0.5, 0.7])
def test_des_bursty_gamma_arrivals_match_exact_gi_m_c(rho):
    """Gamma renewal arrivals with SCV 4 into 8 servers: the reference against the exact
    GI/M/c result (Takács), 99.9 % batch-means intervals."""
    c, mu, scv = 8, 25.0, 4.0
    lam = rho * c * mu
    horizon = int(100_000 / lam)
    res = simulate_network(_single_station(c, 40.0), np.full(horizon, lam), 1.0, seed=2027, scv=scv)
    lat = res.ok_latency_ms(WARMUP_S)
    q = cf.GammaMc(lam=lam, mu=mu, c=c, scv=scv)
    mean, hw = batch_interval(lat)
    assert abs(mean - q.mean_response * 1e3) <= hw, (mean, hw, q.mean_response * 1e3)
    p99, hw99 = batch_interval(lat, percentile_of(99))
    assert abs(p99 - q.response_percentile(99) * 1e3) <= hw99, (p99, hw99)


def test_des_strict_round_robin_matches_erlang_n_arrivals():
    """4 single-server instances fed round robin from a Poisson stream: each is E_4/M/1."""
    lam = 80.0
    net = Network(
        stations=(Station("app", 4, {"read": 40.0}, instances=4, dispatch="round_robin"),),
        routes={"read": ("app",)},
        mix={"read": 1.0},
    )
    res = simulate_network(net, np.full(1500, lam), 1.0, seed=31)
    q = cf.GammaMc(lam=lam / 4, mu=25.0, c=1, scv=0.25)
    mean, hw = batch_interval(res.ok_latency_ms(WARMUP_S))
    assert abs(mean - q.mean_response * 1e3) <= hw, (mean, hw, q.mean_response * 1e3)


def test_token_bucket_reference_sheds_the_excess_above_its_rate():
    # Long run, a token bucket admits at most its rate: above it the shed fraction is 1 − r/λ
    # whatever the burst; far below it a deep bucket sheds (almost) nothing.
    over = token_bucket_shed_fraction(300.0, 50, 500.0, 1000.0, seed=1)
    assert over == pytest.approx(1 - 300 / 500, abs=0.005)
    assert token_bucket_shed_fraction(300.0, 100, 150.0, 200.0, seed=1) < 1e-4
    # A smaller bucket sheds more of the same just-below-rate stream (bursts overflow it).
    small = token_bucket_shed_fraction(300.0, 5, 290.0, 300.0, seed=2)
    large = token_bucket_shed_fraction(300.0, 50, 290.0, 300.0, seed=2)
    assert small > large


def test_des_client_timeout_fails_the_tail_and_counts_it_at_the_timeout():
    # M/M/4 at ρ = 0.8 with a 150 ms client timeout: P(timeout) = P(T > 150 ms), and every
    # timed-out request is recorded at exactly the timeout (the caller stopped waiting).
    lam, timeout_ms = 80.0, 150.0
    res = simulate_network(
        _single_station(4, 40.0), np.full(1200, lam), 1.0, seed=41, timeout_ms=timeout_ms
    )
    m = res.mask(WARMUP_S)
    timed_out = res.outcome[m] == TIMED_OUT
    expected = cf.MMc(lam, 25.0, 4).response_sf(timeout_ms / 1e3)
    fraction, hw = batch_interval(timed_out.astype(float))
    assert abs(fraction - expected) <= hw, (fraction, hw, expected)
    assert (res.latency_ms[m][timed_out] == timeout_ms).all()
    assert (res.latency_ms[m][~timed_out] <= timeout_ms).all()


def test_mm1_wait_percentile_matches_the_exponential_tail():
    # M/M/1: P(W > t) = ρ e^{−(μ−λ)t}, so the q-th percentile is ln(ρ / (1 − q)) / (μ − λ)
    # above the atom at 0 and 0 below it.
    q = cf.MMc(lam=40.0, mu=50.0, c=1)
    assert q.wait_percentile(99) == pytest.approx(math.log(0.8 / 0.01) / 10.0, rel=1e-12)
    assert q.wait_percentile(15) == 0.0


def test_des_ttl_only_cache_matches_the_renewal_hit_ratio():
    """A cache large enough never to evict, entries expiring 20 s after a miss fills them:
    key i hits with probability p_i λ T / (1 + p_i λ T). Tolerance ±0.01 (binomial s.e. of
    ~100k lookups ≈ 0.0015; the cold start is excluded)."""
    keys, s, lam, ttl_s = 20_000, 0.9, 200.0, 20.0
    net = Network(
        stations=(Station("cache", 4, {"read": 1.0}),),
        routes={"read": ("cache",)},
        mix={"read": 1.0},
        key_cache=KeyCache("cache", keys=keys, zipf_s=s, capacity_items=keys, ttl_s=ttl_s),
    )
    res = simulate_network(net, np.full(600, lam), 1.0, seed=43)
    expected = cf.ttl_hit_ratio(cf.zipf_popularity(keys, s), lam, ttl_s)
    assert res.hit_ratio_in(60.0) == pytest.approx(expected, abs=0.01)


def test_des_call_timeout_with_one_attempt_fails_the_same_tail():
    # The per-call policy with a single attempt is the client timeout seen from the caller:
    # the call fails when its response would exceed the timeout, P(T > timeout).
    lam, timeout_ms = 80.0, 150.0
    station = Station("app", 4, {"read": 40.0}, call_timeout_ms=timeout_ms, attempts=1)
    net = Network(stations=(station,), routes={"read": ("app",)}, mix={"read": 1.0})
    res = simulate_network(net, np.full(1200, lam), 1.0, seed=42)
    timed_out = (res.outcome[res.mask(WARMUP_S)] == TIMED_OUT).astype(float)
    fraction, hw = batch_interval(timed_out)
    expected = cf.MMc(lam, 25.0, 4).response_sf(timeout_ms / 1e3)
    assert abs(fraction - expected) <= hw, (fraction, hw, expected)
