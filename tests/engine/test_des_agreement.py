"""The engine against the independent SimPy reference (``tests/engine/reference/des.py``) in
steady state: a three-tier network with a cache, two hot tiers, the cache's hit ratio and its
warm-up after a flush, and a rate limiter. (Transients: ``test_des_transients.py``.)

The reference simulates every request of the same network; the engine is a time-stepped fluid
model with queueing relations. Mapping (from the engine's documented model): an app pool behind
a least-connections load balancer is ONE queue with c = instances × concurrency servers; a
database of size ``medium`` has 4 cores (servers) and ``max_connections − cores`` waiting
places; the load balancer and the cache are pure delays (0.5 ms each, no queue); service times
are exponential.

Tolerances: the issue's 5 % (means) / 10 % (percentiles) for model error, PLUS the 99.9 %
confidence half-widths of both estimates (batch means for the reference, replications for the
engine), so sampling noise never decides a verdict.
"""

import math

import numpy as np
import pytest

from tests.engine.builders import (
    DB_CORES_MEDIUM,
    PoolSpec,
    ThreeTier,
    scenario_doc,
)
from tests.engine.reference.des import (
    DELAY_SERVERS,
    KeyCache,
    Network,
    Station,
    simulate_network,
    token_bucket_shed_fraction,
)
from tests.engine.reference.stats import batch_interval, percentile_of, replication_interval
from tests.engine.runner import simulate_docs

# -- multi-tier network with a cache -----------------------------------------------------------

LAM = 300.0
MIX = {"read": 0.9, "write": 0.1}
KEYS, ZIPF_S = 100_000, 0.9
NET = ThreeTier(
    app=PoolSpec(instances=2, concurrency=8, service_ms=40.0),  # ρ_app = 300·0.04/16 = 0.75
    db_connections=200,
    db_read_ms=15.0,  # ρ_db = (270·(1 − hit)·0.015 + 30·0.03)/4 ≈ 0.63 at hit ≈ 0.6
    db_write_ms=30.0,
    cache_memory_gb=0.04,  # 10k items of 4 kB: a tenth of the key space
)
DURATION_S, WARMUP_S = 600.0, 60.0


@pytest.fixture(scope="module")
def three_tier():
    """The engine's run and the reference's run of LB → app → cache → DB."""
    scenario = scenario_doc(rps=LAM, duration_s=DURATION_S, mix=MIX, keys=KEYS, zipf_s=ZIPF_S)
    engine = simulate_docs(scenario, [NET.design()], replications=32, seed=21).variants[0]
    hit = float(engine.series["hit_ratio:cache"].mean[int(WARMUP_S) :].mean())
    # The reference takes the engine's hit ratio as given (the cache model is tested on its own
    # below); what is compared here is how the tiers compose into end-to-end latency.
    app, t = NET.app, NET
    network = Network(
        stations=(
            Station("lb", DELAY_SERVERS, {"read": 0.5, "write": 0.5}),
            Station("app", app.servers, {"read": app.service_ms, "write": app.service_ms}),
            Station("cache", DELAY_SERVERS, {"read": t.cache_get_ms}, hit_ratio=hit),
            Station(
                "db",
                DB_CORES_MEDIUM,
                {"read": t.db_read_ms, "write": t.db_write_ms},
                queue_limit=t.db_connections - DB_CORES_MEDIUM,
            ),
        ),
        routes={"read": ("lb", "app", "cache", "db"), "write": ("lb", "app", "db")},
        mix=MIX,
    )
    des = simulate_network(network, np.full(int(DURATION_S), LAM), 1.0, seed=21)
    return engine, des, hit


def _agree(engine_values, des_values, statistic, rel) -> tuple[bool, str]:
    e_mean, e_hw = replication_interval(engine_values)
    d_est, d_hw = batch_interval(des_values, statistic)
    ok = abs(e_mean - d_est) <= rel * d_est + e_hw + d_hw
    return ok, f"engine {e_mean:.2f} ± {e_hw:.2f} vs reference {d_est:.2f} ± {d_hw:.2f}"


def test_three_tier_mean_latency_within_5_percent_of_the_reference(three_tier):
    engine, des, _ = three_tier
    ok, msg = _agree(
        engine.per_replication["latency_mean_ms"], des.ok_latency_ms(WARMUP_S), np.mean, 0.05
    )
    assert ok, msg


@pytest.mark.parametrize(
    ("key", "pct"), [("latency_p50_ms", 50), ("latency_p95_ms", 95), ("latency_p99_ms", 99)]
)
def test_three_tier_percentiles_within_10_percent_of_the_reference(three_tier, key, pct):
    engine, des, _ = three_tier
    ok, msg = _agree(
        engine.per_replication[key], des.ok_latency_ms(WARMUP_S), percentile_of(pct), 0.10
    )
    assert ok, msg


def test_three_tier_utilization_and_throughput_match_the_reference(three_tier):
    engine, des, _ = three_tier
    after = int(WARMUP_S)
    for station, servers in (("app", NET.app.servers), ("db", DB_CORES_MEDIUM)):
        ref = des.busy[station][after:].mean() / servers
        got = engine.series[f"utilization:{station}"].mean[after:].mean()
        assert got == pytest.approx(ref, abs=0.02), station
    ref_rate = (des.outcome[des.mask(WARMUP_S)] == 0).sum() / (DURATION_S - WARMUP_S)
    got_rate = engine.series["success_rps"].mean[after:].mean()
    assert got_rate == pytest.approx(ref_rate, rel=0.01)


def _cache_then_db(flush_at_s: tuple[float, ...] = ()) -> Network:
    """Reads through a key-level LRU + TTL cache to the database of NET: a miss refills its key
    when the database read returns, so concurrent misses on a key all reach the database."""
    return Network(
        stations=(
            Station("cache", DELAY_SERVERS, {}),
            Station("db", DB_CORES_MEDIUM, {"read": NET.db_read_ms}),
        ),
        routes={"read": ("cache", "db")},
        mix={"read": 1.0},
        key_cache=KeyCache(
            "cache",
            KEYS,
            ZIPF_S,
            int(NET.cache_memory_gb * 1e6 / NET.cache_item_kb),
            NET.cache_ttl_s,
            flush_at_s,
        ),
    )


def test_cache_hit_ratio_matches_a_key_level_lru_with_ttl():
    """The engine's steady-state hit ratio against a real LRU + TTL fed Zipf keys.

    The reference keeps every key: capacity 10k items, TTL 300 s, 100k keys, Zipf 0.9, reads at
    300 rps. Measured after 300 s (cold start excluded). Tolerance ±0.02 absolute: the binomial
    s.e. of ~90k lookups is 0.0015, and Che's approximation is within ~0.005 for Zipf.
    """
    scenario = scenario_doc(
        rps=LAM, duration_s=DURATION_S, mix={"read": 1.0}, keys=KEYS, zipf_s=ZIPF_S
    )
    engine = simulate_docs(scenario, [NET.design()], replications=4, seed=2).variants[0]
    got = float(engine.series["hit_ratio:cache"].mean[300:].mean())
    ref = simulate_network(_cache_then_db(), np.full(int(DURATION_S), LAM), 1.0, seed=2)
    assert got == pytest.approx(ref.hit_ratio_in(300.0), abs=0.02)


def test_cache_flush_warm_up_curve_matches_a_key_level_lru():
    """After a cache flush the hit ratio climbs back as keys are refilled — the driver of the
    database stampede. Engine (per-tick series) against the key-level LRU + TTL reference
    (requests arriving in each window) from 2 s after the flush (the engine evaluates warm-up at
    tick starts, so the first two ticks are coarser by design). Tolerance per window: 0.02 for
    the model plus 3.3 binomial s.e. of the reference's lookups in that window."""
    flush_at = 300
    scenario = scenario_doc(
        rps=LAM,
        duration_s=DURATION_S,
        mix={"read": 1.0},
        keys=KEYS,
        zipf_s=ZIPF_S,
        incidents=[{"kind": "cache_flush", "at_s": flush_at, "component": "cache"}],
    )
    engine = simulate_docs(scenario, [NET.design()], replications=4, seed=6).variants[0]
    network = _cache_then_db((float(flush_at),))
    ref = simulate_network(network, np.full(int(DURATION_S), LAM), 1.0, seed=6)
    engine_hit = engine.series["hit_ratio:cache"].mean
    failures = []
    for start, stop in ((302, 305), (305, 310), (310, 320), (320, 340), (340, 380), (380, 450)):
        got = engine_hit[start:stop].mean()
        want = ref.hit_ratio_in(start, stop)
        lookups = LAM * (stop - start)
        tolerance = 0.02 + 3.3 * math.sqrt(want * (1 - want) / lookups)
        if abs(got - want) > tolerance:
            failures.append(
                f"[{start}, {stop}) s: engine {got:.3f} vs reference {want:.3f} ± {tolerance:.3f}"
            )
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def two_hot_tiers():
    """LB → app (16 servers) → DB (4 cores), both at ρ = 0.85, no cache: the engine keeps only
    the larger of the stage waits random in its path law, so this is where its end-to-end
    composition is weakest."""
    lam, rho = 200.0, 0.85
    app = PoolSpec(instances=2, concurrency=8, service_ms=1e3 * rho * 16 / lam)
    db_ms = 1e3 * rho * DB_CORES_MEDIUM / lam
    design = {
        "components": [
            {"id": "lb", "type": "load_balancer"},
            app.component(),
            {
                "id": "db",
                "type": "database",
                "max_connections": 100_000,  # the bound: never full here
                "service_time_ms": {"read": db_ms},
            },
        ],
        "routes": {"read": ["lb", "app", "db"]},
    }
    engine = simulate_docs(
        scenario_doc(rps=lam, duration_s=900), [design], replications=16, seed=4
    ).variants[0]
    network = Network(
        stations=(
            Station("lb", DELAY_SERVERS, {"read": 0.5}),
            Station("app", app.servers, {"read": app.service_ms}),
            Station("db", DB_CORES_MEDIUM, {"read": db_ms}),
        ),
        routes={"read": ("lb", "app", "db")},
        mix={"read": 1.0},
    )
    return engine, simulate_network(network, np.full(600, lam), 1.0, seed=4)


@pytest.mark.parametrize(
    ("key", "statistic", "rel"),
    [
        ("latency_mean_ms", np.mean, 0.05),
        ("latency_p95_ms", percentile_of(95), 0.10),
        ("latency_p99_ms", percentile_of(99), 0.10),
    ],
    ids=["mean", "p95", "p99"],
)
def test_two_hot_tiers_compose_like_the_reference(two_hot_tiers, key, statistic, rel):
    engine, des = two_hot_tiers
    ok, msg = _agree(engine.per_replication[key], des.ok_latency_ms(WARMUP_S), statistic, rel)
    assert ok, msg


# -- rate limiter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lam", "rate_rps", "burst"), [(500.0, 300.0, 50), (290.0, 300.0, 10), (290.0, 300.0, 50)]
)
def test_rate_limiter_sheds_like_a_token_bucket(lam, rate_rps, burst):
    """Token bucket (rate r, size B) in front of an ample pool: the engine's shed fraction
    (errors_shed / offered) against a per-request token bucket fed the same Poisson stream.
    Above the rate it must be 1 − r/λ in the long run whatever B is; just below it, a small
    bucket still sheds the bursts. Tolerance 10 % relative + 0.005 absolute."""
    design = {
        "components": [
            {"id": "limiter", "type": "rate_limiter", "rate_rps": rate_rps, "burst": burst},
            PoolSpec(instances=4, concurrency=16, service_ms=10.0).component(),
        ],
        "routes": {"read": ["limiter", "app"]},
    }
    v = simulate_docs(
        scenario_doc(rps=lam, duration_s=600), [design], replications=8, seed=17
    ).variants[0]
    got = float((v.per_replication["errors_shed"] / v.per_replication["offered"]).mean())
    want = token_bucket_shed_fraction(rate_rps, burst, lam, 1000.0, seed=17)
    assert abs(got - want) <= 0.10 * want + 0.005, (got, want)
