"""The dynamics a learner must be able to see (issue 3), each against a counterfactual.

Every test runs a baseline and a variant in ONE batched call, so they share arrivals (common
random numbers) and the difference comes from the design.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulations.engine import Checkpoint, Simulation, parse_design, parse_scenario, simulate


def _run(scenario: dict, designs: list[dict], replications: int = 8, seed: int = 11):
    parsed = parse_scenario(scenario)
    return simulate(
        parsed, [parse_design(d, parsed) for d in designs], replications=replications, seed=seed
    ).variants


def _mean(variant, key: str, ticks: slice) -> float:
    return float(variant.series[key].mean[ticks].mean())


# --------------------------------------------------------------------------------------------
# cache flush -> database stampede
# --------------------------------------------------------------------------------------------
def _cached_design(coalescing: bool = False) -> dict:
    return {
        "components": [
            {
                "id": "app",
                "type": "app_pool",
                "instances": 4,
                "concurrency": 16,
                "service_time_ms": {"read": 10},
            },
            {
                "id": "cache",
                "type": "cache",
                "memory_gb": 4,
                "ttl_s": 3600,
                "item_kb": 4,
                "coalescing": coalescing,
            },
            {  # 4 cores x 8 ms: 500 reads/s, fine behind the cache, overloaded without it
                "id": "db",
                "type": "database",
                "size": "medium",
                "max_connections": 400,
                "service_time_ms": {"read": 8},
            },
        ],
        "routes": {"read": ["app", "cache", "db"]},
    }


def test_cache_flush_sends_the_read_load_to_the_database_then_warms_up():
    scenario = {
        "duration_s": 900,
        "traffic": {
            "curve": {"kind": "constant", "rps": 800},
            "mix": {"read": 1.0},
            "key_space": {"keys": 200_000, "zipf_s": 0.9},
        },
        "incidents": [{"kind": "cache_flush", "at_s": 300, "component": "cache"}],
    }
    plain, coalesced = _run(scenario, [_cached_design(), _cached_design(coalescing=True)])
    before = slice(200, 300)
    hit_before = _mean(plain, "hit_ratio:cache", before)
    db_before = _mean(plain, "load_rps:db", before)
    assert hit_before > 0.8
    assert db_before < 0.2 * 800
    # right after the flush nearly every read misses: the database takes the full read load
    assert plain.series["hit_ratio:cache"].mean[300] < 0.2
    assert plain.series["load_rps:db"].mean[300] > 0.8 * 800
    assert plain.series["utilization:db"].mean[300] > 2 * _mean(plain, "utilization:db", before)
    # ... and the hit ratio climbs back as distinct keys are fetched again
    assert plain.series["hit_ratio:cache"].mean[330] > plain.series["hit_ratio:cache"].mean[301]
    assert _mean(plain, "hit_ratio:cache", slice(800, 900)) > 0.85 * hit_before
    assert np.all(np.diff(plain.series["hit_ratio:cache"].mean[300:]) >= -1e-6)
    # request coalescing: one fetch per key, so the stampede on the database is smaller and
    # the cache refills sooner (without it, reads of a key in flight all miss too)
    stampede = slice(300, 320)
    plain_db = plain.series["load_rps:db"].mean[stampede]
    coalesced_db = coalesced.series["load_rps:db"].mean[stampede]
    assert np.all(coalesced_db <= plain_db + 1e-3)
    assert coalesced_db[0] < 0.9 * plain_db[0]


# --------------------------------------------------------------------------------------------
# retry storm: metastable failure after a short spike
# --------------------------------------------------------------------------------------------
STORM = {
    "duration_s": 300,
    "traffic": {"curve": {"kind": "constant", "rps": 250}, "mix": {"read": 1.0}},
    "incidents": [{"kind": "traffic_spike", "at_s": 60, "duration_s": 10, "multiplier": 2.0}],
}


def _storm_design(retries=None, breaker=None, shed_ms=None) -> dict:
    app = {
        "id": "app",
        "type": "app_pool",
        "instances": 2,
        "concurrency": 8,
        "service_time_ms": {"read": 50},
    }  # capacity 320 rps: 250 rps is 78 % busy
    if shed_ms:
        app["shed_after_ms"] = shed_ms
    edge = {"from": "lb", "to": "app", "timeout_ms": 500}
    if retries:
        edge["retries"] = retries
    if breaker:
        edge["circuit_breaker"] = breaker
    return {
        "components": [{"id": "lb", "type": "load_balancer"}, app],
        "routes": {"read": ["lb", "app"]},
        "edges": [edge],
    }


NAIVE = {"max_attempts": 3, "backoff_ms": 0, "jitter": False}


def test_retry_storm_keeps_the_system_down_after_the_spike_is_over():
    naive, no_retries = _run(STORM, [_storm_design(NAIVE), _storm_design()])
    after = slice(200, 300)  # the spike ended at 70 s
    # without retries the system is back to normal right after the spike ...
    assert _mean(no_retries, "success_rps", after) > 0.95 * 250
    assert _mean(no_retries, "latency_p99_ms", after) < 500
    # ... with naive retries every request times out (the queue never drains): metastable
    assert _mean(naive, "success_rps", after) < 0.05 * 250
    assert _mean(naive, "error_rps", after) > 0.9 * 250
    assert _mean(naive, "errors_timeout_rps", after) > 0.3 * 250
    # the servers are busy the whole time, with work nobody waits for any more
    assert _mean(naive, "utilization:app", after) > 0.99
    assert _mean(naive, "load_rps:app", after) > 2 * 250  # retries add real load


def test_breaker_shedding_or_a_retry_budget_breaks_the_storm():
    fixes = [
        _storm_design(NAIVE, breaker={"error_rate": 0.5, "open_s": 5}),
        _storm_design({**NAIVE, "budget": 0.1}),
        _storm_design(NAIVE, shed_ms=200),
    ]
    after = slice(200, 300)
    for variant in _run(STORM, fixes):
        assert _mean(variant, "success_rps", after) > 0.95 * 250
        assert _mean(variant, "latency_p99_ms", after) < 500


def test_backoff_with_jitter_ends_the_storm_of_a_closed_user_population():
    # Users who think 5 s between calls (N = 250 rps x 5 s = 1250 of them). A user waiting to
    # retry sends nothing new, so new requests fall to r = lam / (1 + D / Z), D the time a user
    # spends between attempts, and the app is offered 3 r while every attempt fails:
    #   immediate retries: D = 2 ticks = 2 s      -> 3 x 250 / 1.4 = 536 rps > 320: stays down
    #   backoff 5 s, full jitter: D ~ 0.5 + 2.5 + 0.5 + 5 s -> 3 x 250 / 2.7 = 278 rps < 320
    # Open-loop arrivals (the original STORM) ignore the backoff: 750 rps, still down.
    closed = copy.deepcopy(STORM)
    closed["traffic"]["think_time_s"] = 5.0
    patient = {"max_attempts": 3, "backoff_ms": 5000, "jitter": True}
    after = slice(200, 300)
    naive, backed_off = _run(closed, [_storm_design(NAIVE), _storm_design(patient)])
    assert _mean(naive, "success_rps", after) < 0.05 * 250
    assert _mean(naive, "load_rps:app", after) > 320
    assert _mean(backed_off, "success_rps", after) > 0.95 * 250
    assert _mean(backed_off, "latency_p99_ms", after) < 500
    (open_loop,) = _run(STORM, [_storm_design(patient)])
    assert _mean(open_loop, "success_rps", after) < 0.05 * 250


def test_breaker_opens_during_the_storm_and_closes_after():
    (variant,) = _run(STORM, [_storm_design(NAIVE, breaker={"error_rate": 0.5, "open_s": 5})])
    kinds = [(e.kind, e.t_s) for e in variant.events if e.kind.startswith("breaker")]
    assert kinds[0][0] == "breaker_open" and 60 <= kinds[0][1] <= 80
    assert kinds[-1][0] == "breaker_close"
    assert variant.series["breaker_open:app"].mean[200:].max() == 0


def test_jitter_spreads_a_retry_wave_over_ticks():
    # a bad deploy fails 50 % of requests for one tick; every failure is retried 4 s later
    # (or, with full jitter, uniformly within 4 s)
    scenario = {
        "duration_s": 60,
        "traffic": {"curve": {"kind": "constant", "rps": 100}, "mix": {"read": 1.0}},
        "incidents": [
            {
                "kind": "bad_deploy",
                "at_s": 10,
                "duration_s": 1,
                "component": "app",
                "error_rate": 0.5,
            }
        ],
    }
    fixed = _storm_design({"max_attempts": 2, "backoff_ms": 4000, "jitter": False})
    jittered = _storm_design({"max_attempts": 2, "backoff_ms": 4000, "jitter": True})
    sync, spread = _run(scenario, [fixed, jittered])
    wave = slice(11, 40)
    extra_sync = sync.series["load_rps:app"].mean[wave] - 100
    extra_spread = spread.series["load_rps:app"].mean[wave] - 100
    # the same retried work arrives in both (no damping) ...
    assert abs(extra_sync.sum() - extra_spread.sum()) < 0.05 * extra_sync.sum()
    # ... but jitter flattens the synchronized wave
    assert extra_spread.max() < 0.6 * extra_sync.max()


# --------------------------------------------------------------------------------------------
# autoscaling lag from cold starts
# --------------------------------------------------------------------------------------------
def _scaled(cold_start_s: float) -> dict:
    return {
        "components": [
            {
                "id": "app",
                "type": "app_pool",
                "instances": 2,
                "concurrency": 8,
                "service_time_ms": {"read": 40},
                "autoscaling": {
                    "min": 2,
                    "max": 12,
                    "target_utilization": 0.6,
                    "cooldown_s": 30,
                    "cold_start_s": cold_start_s,
                },
            }
        ],
        "routes": {"read": ["app"]},
    }


def test_autoscaling_lags_by_the_cold_start():
    scenario = {
        "duration_s": 900,
        "traffic": {
            "curve": {
                "kind": "spike",
                "base_rps": 200,
                "spike_rps": 600,
                "at_s": 120,
                "duration_s": 600,
            },
            "mix": {"read": 1.0},
        },
    }
    fast, slow = _run(scenario, [_scaled(10), _scaled(180)])
    for variant in (fast, slow):
        assert variant.series["instances:app"].mean[100] == 2
        assert variant.series["instances:app"].mean[700] >= 5  # 600 rps x 40 ms / 0.6 / 8
    # new instances serve only after their cold start; meanwhile they are billed and booting
    first_fast = int(np.argmax(fast.series["instances:app"].mean > 2))
    first_slow = int(np.argmax(slow.series["instances:app"].mean > 2))
    assert first_slow - first_fast >= 150
    assert slow.series["booting:app"].mean[first_slow - 60] > 0
    # the slow cold start leaves users with errors and long waits for longer
    lag = slice(120, 400)
    assert _mean(slow, "error_rps", lag) > 2 * _mean(fast, "error_rps", lag)
    assert any(e.kind == "scale_out" for e in slow.events)


# --------------------------------------------------------------------------------------------
# replica lag, stale reads, failover
# --------------------------------------------------------------------------------------------
def _replicated(failover_s: float = 30, replicas: int = 2) -> dict:
    return {
        "components": [
            {
                "id": "app",
                "type": "app_pool",
                "instances": 4,
                "concurrency": 16,
                "service_time_ms": {"read": 5, "write": 5},
            },
            {
                "id": "db",
                "type": "database",
                "size": "xlarge",
                "max_connections": 1000,
                "read_replicas": replicas,
                "failover_s": failover_s,
                "apply_threads": 1,
                "service_time_ms": {"read": 2, "write": 10},
            },  # replicas apply 100 writes/s
        ],
        "routes": {"read": ["app", "db"], "write": ["app", "db"]},
    }


def _mixed(writes_rps: float, incidents=()) -> dict:
    total = 600.0
    return {
        "duration_s": 300,
        "traffic": {
            "curve": {"kind": "constant", "rps": total},
            "mix": {"read": 1 - writes_rps / total, "write": writes_rps / total},
        },
        "incidents": list(incidents),
    }


def test_replica_lag_grows_when_writes_outpace_the_apply_rate():
    (light,) = _run(_mixed(60), [_replicated()])
    (heavy,) = _run(_mixed(150), [_replicated()])
    assert light.series["replica_lag_s:db"].mean[-1] < 0.1
    lag = heavy.series["replica_lag_s:db"].mean
    # 150 writes/s against 100 applied/s: 50 writes/s pile up, i.e. lag grows 0.5 s per second
    slope = (lag[250] - lag[50]) / 200
    assert 0.4 < slope < 0.6
    assert heavy.per_replication["stale_reads"].mean() > 10 * max(
        light.per_replication["stale_reads"].mean(), 1.0
    )


def test_failover_downtime_and_writes_lost():
    failure = [{"kind": "db_primary_failure", "at_s": 100, "component": "db"}]
    replicas, single = _run(
        _mixed(150, failure), [_replicated(failover_s=30), _replicated(replicas=0)]
    )
    errors = replicas.series["errors_dependency_rps"].mean
    assert errors[95] == 0
    assert errors[101:129].min() > 100  # writes (and the primary's reads) fail meanwhile
    assert errors[135:].max() == 0  # a replica was promoted after failover_s
    assert replicas.per_replication["writes_lost"].mean() > 0  # unapplied writes died
    assert any(e.kind == "failover" for e in replicas.events)
    # without a replica the primary is down for the incident's duration (default 300 s)
    assert single.series["errors_dependency_rps"].mean[101:299].min() > 500


def _single_replica_and_its_counterfactual() -> tuple[dict, dict]:
    """One replica in front of a small (2-core) primary, and the same database without
    replicas under another id (so the incident skips it): what the promoted primary becomes."""
    one = _replicated(replicas=1)
    one["components"][1]["size"] = "small"
    alone = copy.deepcopy(one)
    alone["components"][1].update(id="store", read_replicas=0)
    alone["routes"] = {"read": ["app", "store"], "write": ["app", "store"]}
    return one, alone


def test_failover_of_the_only_replica_sends_every_read_to_the_new_primary():
    reads, writes = 540.0, 60.0
    # capacity: 2 cores carry all 540 reads x 2 ms + 60 writes x 10 ms = 1.68 Erlang (rho 0.84)
    failure = [{"kind": "db_primary_failure", "at_s": 100, "component": "db"}]
    one, alone = _single_replica_and_its_counterfactual()
    failed, counterfactual = _run(_mixed(writes, failure), [one, alone])
    assert failed.series["error_rps"].mean[95] == 0
    assert failed.series["errors_dependency_rps"].mean[101:129].min() > writes
    after = slice(135, None)  # failover_s = 30 after t = 100
    # the design split would keep sending reads / 2 to the now empty pool (all refused);
    # the router sends them to the promoted primary instead, which has room for them
    np.testing.assert_allclose(failed.series["load_rps:db"].mean[after], reads + writes)
    assert failed.series["load_rps:db#replicas"].mean[after].max() == 0
    assert failed.series["error_rps"].mean[after].max() == 0
    # from then on the database IS one primary with every request, like the counterfactual:
    # same successes and the same latency law (the primary's path now weighs all reads)
    for key in ("success_rps", "latency_p50_ms", "latency_p99_ms", "latency_mean_ms"):
        np.testing.assert_allclose(
            failed.series[key].mean[after],
            counterfactual.series[key].mean[after],
            rtol=1e-6,
            err_msg=key,
        )
    # ... which differs from the split design before the failure (the test can fail)
    assert (
        failed.series["latency_p99_ms"].mean[50] < 0.8 * failed.series["latency_p99_ms"].mean[200]
    )


def test_reads_split_over_the_live_replicas_after_a_promotion_and_a_replica_loss():
    reads, writes = 540.0, 60.0
    incidents = [
        {"kind": "db_primary_failure", "at_s": 100, "component": "db"},
        {"kind": "instance_failure", "at_s": 200, "duration_s": 40, "component": "db", "count": 1},
    ]
    (variant,) = _run(_mixed(writes, incidents), [_replicated(replicas=2)])
    pool = variant.series["load_rps:db#replicas"].mean
    primary = variant.series["load_rps:db"].mean

    def split(live: int) -> tuple[float, float]:
        """(primary, pool) load when reads spread evenly over the primary and live replicas."""
        return reads / (live + 1) + writes, reads * live / (live + 1)

    phases = [
        (slice(0, 100), split(2)),  # as designed: 2/3 of the reads to the pool
        (slice(130, 200), split(1)),  # one replica promoted: 1/2 to the pool
        (slice(200, 240), split(0)),  # the other one down: every read to the primary
        (slice(240, 300), split(1)),  # back
    ]
    for ticks, (on_primary, on_pool) in phases:
        np.testing.assert_allclose(primary[ticks], on_primary, err_msg=str(ticks))
        np.testing.assert_allclose(pool[ticks], on_pool, err_msg=str(ticks))
    assert variant.series["error_rps"].mean[130:].max() == 0


def test_resuming_across_a_failover_equals_an_uninterrupted_run():
    failure = [{"kind": "db_primary_failure", "at_s": 100, "component": "db"}]
    scenario = parse_scenario(_mixed(60, failure))
    designs = [parse_design(d, scenario) for d in _single_replica_and_its_counterfactual()]
    whole = simulate(scenario, designs, replications=4, seed=5)
    sim = Simulation(scenario, designs, replications=4, seed=5)
    for until in (115, 131, None):  # mid-failover, right after the promotion, the end
        sim.run(until_s=until)
        if until is not None:
            sim = Simulation.resume(Checkpoint.from_bytes(sim.checkpoint().to_bytes()))
    for a, b in zip(whole.variants, sim.result().variants, strict=True):
        for key, band in a.series.items():
            np.testing.assert_allclose(band.mean, b.series[key].mean, rtol=1e-9, err_msg=key)


def test_instance_failure_errors_last_until_the_load_balancer_notices():
    design = {
        "components": [
            {
                "id": "lb",
                "type": "load_balancer",
                "health_check_interval_s": 5,
                "unhealthy_threshold": 2,
            },
            {
                "id": "app",
                "type": "app_pool",
                "instances": 4,
                "concurrency": 8,
                "service_time_ms": {"read": 20},
            },
        ],
        "routes": {"read": ["lb", "app"]},
    }
    bare = copy.deepcopy(design)
    bare["components"] = bare["components"][1:]
    bare["routes"] = {"read": ["app"]}
    scenario = {
        "duration_s": 200,
        "traffic": {"curve": {"kind": "constant", "rps": 400}, "mix": {"read": 1.0}},
        "incidents": [
            {
                "kind": "instance_failure",
                "at_s": 50,
                "duration_s": 100,
                "component": "app",
                "count": 1,
            }
        ],
    }
    behind_lb, no_lb = _run(scenario, [design, bare])
    errors = behind_lb.series["errors_dependency_rps"].mean
    assert 0.2 * 400 < errors[52] < 0.3 * 400  # a quarter of requests hit the dead instance
    assert errors[62:150].max() == 0  # detected after 2 x 5 s
    assert no_lb.series["errors_dependency_rps"].mean[62:150].min() > 0.2 * 400


def _job_design(*, queue: dict, workers: dict) -> dict:
    """app -> queue -> workers for async jobs; workers receive a job up to 3 times."""
    return {
        "components": [
            {
                "id": "app",
                "type": "app_pool",
                "instances": 2,
                "concurrency": 8,
                "service_time_ms": {"async_job": 2},
            },
            {"id": "queue", "type": "queue", **queue},
            {
                "id": "workers",
                "type": "worker_pool",
                "concurrency": 8,
                "max_receives": 3,
                **workers,
            },
        ],
        "routes": {"async_job": ["app", "queue", "workers"]},
    }


def test_failed_jobs_are_received_again_then_dead_lettered():
    design = _job_design(queue={}, workers={"instances": 4, "service_time_ms": {"async_job": 50}})
    # half the jobs fail for 200 s: each is received up to 3 times, after 30 s then 60 s
    scenario = {
        "duration_s": 400,
        "traffic": {"curve": {"kind": "constant", "rps": 100}, "mix": {"async_job": 1.0}},
        "incidents": [
            {
                "kind": "bad_deploy",
                "at_s": 50,
                "duration_s": 200,
                "component": "workers",
                "error_rate": 0.5,
            }
        ],
    }
    (variant,) = _run(scenario, [design])
    # (load_rps counts the work that reaches healthy workers: half of the deliveries)
    first_receives = _mean(variant, "load_rps:workers", slice(55, 75))
    # from 30 s into the incident, redeliveries add the failed half back (no damping) ...
    assert _mean(variant, "load_rps:workers", slice(90, 110)) > 1.4 * first_receives
    # ... and jobs that failed three times (1/8 of those that started it) are dead-lettered
    started = 100 * (200 - 90)  # jobs whose third receive still fell inside the incident
    dead = variant.per_replication["dead_letters"].mean()
    assert 0.9 * started / 8 < dead < 1.1 * started / 8
    assert "queue_delay_s:workers" in variant.series


def test_a_full_queue_refuses_jobs_without_redelivering_them():
    design = _job_design(  # 40 jobs/s
        queue={"max_depth": 500},
        workers={"instances": 2, "service_time_ms": {"async_job": 400}},
    )
    scenario = {
        "duration_s": 300,
        "traffic": {"curve": {"kind": "constant", "rps": 60}, "mix": {"async_job": 1.0}},
    }
    (variant,) = _run(scenario, [design])
    rep = variant.per_replication
    # 60 jobs/s against 40/s: once the 500 places are full, a third of the jobs is refused
    assert rep["errors_dropped"].mean() > 0.25 * 60 * (300 - 500 / 20)
    assert rep["dead_letters"].mean() == 0  # refused jobs were never received
    assert _mean(variant, "load_rps:workers", slice(100, 300)) < 61  # and are not redelivered
    # a job arriving at a full queue waits for the 500 ahead, served at 40 jobs/s
    assert _mean(variant, "queue_delay_s:workers", slice(100, 300)) == pytest.approx(
        500 / 40, rel=0.1
    )
