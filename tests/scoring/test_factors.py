"""Contributing factors: detected from evidence, and not detected when the evidence is absent."""

import numpy as np
import pytest

from scoring.analysis.detectors import HOT_UTILIZATION
from scoring.analysis.factors import CATALOGUE, detect_factors
from scoring.analysis.fixes import propose_fixes
from scoring.analysis.postmortem import find_root_cause
from tests.scoring.builders import (
    Event,
    design,
    healthy_series,
    incident,
    outage,
    queue_design,
    view,
)


def codes(v):
    return [f["code"] for f in detect_factors(v)]


def with_series(**overrides):
    series = healthy_series()
    series.update({k: np.asarray(v, dtype=float) for k, v in overrides.items()})
    return series


def ramp(peak, n=600):
    return np.linspace(0.2, peak, n)


def test_catalogue_rows_are_complete_and_codes_unique():
    assert len({f.code for f in CATALOGUE}) == len(CATALOGUE)
    for factor in CATALOGUE:
        assert (
            factor.title and factor.detected_when and factor.lesson_hint and callable(factor.detect)
        )


def test_a_healthy_well_built_design_has_no_factors():
    assert codes(view()) == []


def test_under_provisioned_tier_with_its_peak_and_time():
    [found] = [
        f
        for f in detect_factors(view(series=with_series(**{"utilization:db": ramp(0.93)})))
        if f["code"] == "under_provisioned"
    ]
    assert found["component"] == "db"
    assert found["data"]["peak_utilization"] == pytest.approx(0.93)
    assert found["data"]["at_s"] == 599
    assert "93%" in found["evidence"]


def test_utilization_at_the_threshold_is_not_under_provisioned():
    v = view(series=with_series(**{"utilization:app": np.full(600, HOT_UTILIZATION)}))
    assert "under_provisioned" not in codes(v)


def test_hot_pool_without_autoscaling_but_not_with_it():
    hot = with_series(**{"utilization:app": ramp(0.95)})
    assert "no_autoscaling" in codes(view(series=hot))
    scaled = design(
        autoscaling={
            "min": 3,
            "max": 10,
            "target_utilization": 0.6,
            "cooldown_s": 60,
            "cold_start_s": 10,
        }
    )
    assert "no_autoscaling" not in codes(view(series=hot, doc=scaled))


def test_hot_worker_pool_without_autoscaling():
    hot = with_series(**{"utilization:workers": ramp(1.0)})
    [found] = [
        f
        for f in detect_factors(view(series=hot, doc=queue_design()))
        if f["code"] == "no_autoscaling"
    ]
    assert found["component"] == "workers" and found["evidence"].startswith("Worker pool workers")
    autoscaled = queue_design(worker_autoscaling={"min": 3, "max": 9})
    assert "no_autoscaling" not in codes(view(series=hot, doc=autoscaled))


def scaled(cold_start_s):
    return design(
        autoscaling={
            "min": 3,
            "max": 10,
            "target_utilization": 0.6,
            "cooldown_s": 60,
            "cold_start_s": cold_start_s,
        }
    )


def test_slow_cold_start_needs_a_breach_a_scale_out_and_a_long_boot():
    breached = outage(healthy_series(), 200, 300)
    scale_out = [Event(210, "scale_out", "app")]
    assert "slow_cold_start" in codes(view(series=breached, doc=scaled(90), events=scale_out))
    assert "slow_cold_start" not in codes(view(series=breached, doc=scaled(5), events=scale_out))
    assert "slow_cold_start" not in codes(view(series=breached, doc=scaled(90)))
    assert "slow_cold_start" not in codes(view(doc=scaled(90), events=scale_out))


def test_slow_cold_start_of_an_autoscaled_worker_pool_gets_a_higher_floor():
    doc = queue_design(
        worker_autoscaling={
            "min": 2,
            "max": 8,
            "target_utilization": 0.6,
            "cooldown_s": 60,
            "cold_start_s": 120,
        }
    )
    v = view(
        series=outage(healthy_series(), 200, 300),
        doc=doc,
        events=[Event(210, "scale_out", "workers")],
    )
    [found] = [f for f in detect_factors(v) if f["code"] == "slow_cold_start"]
    assert found["component"] == "workers"
    [floor] = [
        c
        for c in propose_fixes(v, find_root_cause(v), [found])
        if c.code == "raise_autoscaling_floor"
    ]
    assert floor.design_change == "workers: autoscaling floor 2 → 3 warm instances"


def test_cold_cache_after_a_flush_cites_the_flush_and_the_dip():
    hit = np.full(600, 0.9)
    hit[300:360] = np.linspace(0.0, 0.9, 60)
    v = view(
        series=with_series(**{"hit_ratio:cache": hit}),
        events=[Event(300, "cache_flushed", "cache")],
    )
    [found] = [f for f in detect_factors(v) if f["code"] == "cold_cache"]
    assert found["data"]["flushed_at_s"] == 300
    assert found["data"]["hit_ratio_min"] == 0.0 and found["data"][
        "hit_ratio_steady"
    ] == pytest.approx(0.9)
    assert "flushed at T+05:00" in found["evidence"]


def test_steady_hit_ratio_is_not_a_cold_cache():
    assert "cold_cache" not in codes(
        view(series=with_series(**{"hit_ratio:cache": np.full(600, 0.85)}))
    )


def test_no_cache_on_a_read_heavy_route_when_its_database_saturates():
    # given reads at 90 % of traffic, no cache, and the database on the read route at 93 %
    hot_db = with_series(**{"utilization:db": ramp(0.93)})
    # when / then: the factor names the database and cites its peak
    [found] = [
        f
        for f in detect_factors(view(doc=design(cache=False), series=hot_db))
        if f["code"] == "no_cache_read_heavy"
    ]
    assert found["component"] == "db"
    assert found["data"]["peak_utilization"] == pytest.approx(0.93)
    assert found["data"]["at_s"] == 599
    assert "93%" in found["evidence"] and "lb → app → db" in found["evidence"]
    # not for a write-heavy mix, nor when a cache is already there
    write_heavy = view(doc=design(cache=False), series=hot_db, mix={"read": 0.3, "write": 0.7})
    assert "no_cache_read_heavy" not in codes(write_heavy)
    assert "no_cache_read_heavy" not in codes(view(series=hot_db))


def test_no_cache_factor_needs_the_read_route_to_hurt_not_just_a_read_heavy_mix():
    no_cache = design(cache=False)
    assert "no_cache_read_heavy" not in codes(view(doc=no_cache))  # nothing struggled
    # only the app tier saturates: the database idles at 30 %, a cache would not help
    hot_app = with_series(**{"utilization:app": ramp(0.97)})
    found = codes(view(doc=no_cache, series=hot_app))
    assert "under_provisioned" in found and "no_cache_read_heavy" not in found


def test_no_cache_factor_cites_the_hottest_part_of_the_database():
    # reads served by replicas: the replica pool is what ran hot, not the primary
    series = with_series(**{"utilization:db#replicas": ramp(0.91)})
    [found] = [
        f
        for f in detect_factors(view(doc=design(cache=False, read_replicas=2), series=series))
        if f["code"] == "no_cache_read_heavy"
    ]
    assert (found["component"], found["data"]["station"]) == ("db", "db#replicas")
    assert found["data"]["peak_utilization"] == pytest.approx(0.91)


def test_no_cache_factor_on_a_database_backlog_or_failure():
    no_cache = design(cache=False)
    backlog = np.zeros(600)
    backlog[400] = 300.0  # 3 s of 100 rps queued at the database, utilization still 30 %
    [queued] = [
        f
        for f in detect_factors(view(doc=no_cache, series=with_series(**{"backlog:db": backlog})))
        if f["code"] == "no_cache_read_heavy"
    ]
    assert queued["data"]["peak_backlog"] == 300.0 and queued["data"]["at_s"] == 400
    failed = view(doc=no_cache, incidents=[incident("db_primary_failure", 200, 120, "db")])
    [down] = [f for f in detect_factors(failed) if f["code"] == "no_cache_read_heavy"]
    assert down["data"]["failed_at_s"] == 200 and "T+03:20" in down["evidence"]


def test_single_instance_pool_is_a_single_point_of_failure():
    assert "single_point_of_failure" in codes(view(doc=design(instances=1)))
    assert "single_point_of_failure" not in codes(view(doc=design(instances=2)))


def test_failed_database_without_replica_is_a_single_point_of_failure():
    failure = [incident("db_primary_failure", 100, 300, "db")]
    assert "single_point_of_failure" in codes(view(incidents=failure))
    assert "single_point_of_failure" not in codes(
        view(incidents=failure, doc=design(read_replicas=1))
    )


def test_zone_outage_flags_single_zone_components_on_the_path():
    outage_ = [incident("az_outage", 100, 300, zone="a")]
    found = [
        f["component"]
        for f in detect_factors(view(incidents=outage_))
        if f["code"] == "single_point_of_failure"
    ]
    assert found == ["app", "db"]
    assert "single_point_of_failure" not in codes(view(incidents=outage_, doc=design(zones=2)))


RETRY_EDGE = {
    "from": "app",
    "to": "db",
    "retries": {"max_attempts": 3, "backoff_ms": 0, "jitter": False},
}


def test_retries_without_jitter_when_requests_failed():
    failing = outage(healthy_series(), 100, 200)
    [found] = [
        f
        for f in detect_factors(view(series=failing, doc=design(edges=[RETRY_EDGE])))
        if f["code"] == "retries_without_jitter"
    ]
    assert found["data"]["max_attempts"] == 3 and found["data"]["failed_requests"] == 10_000
    assert "jitter and backoff" in found["evidence"]


def test_retries_with_jitter_and_backoff_or_without_failures_are_fine():
    good = {**RETRY_EDGE, "retries": {"max_attempts": 3, "backoff_ms": 50, "jitter": True}}
    failing = outage(healthy_series(), 100, 200)
    assert "retries_without_jitter" not in codes(view(series=failing, doc=design(edges=[good])))
    assert "retries_without_jitter" not in codes(view(doc=design(edges=[RETRY_EDGE])))


def test_connection_pool_oversubscribing_the_database():
    edge = {"from": "app", "to": "db", "pool_size": 40}
    [found] = [
        f for f in detect_factors(view(doc=design(edges=[edge]))) if f["code"] == "pool_exhaustion"
    ]
    assert "120" in found["evidence"]  # 3 instances x 40 > 100 max_connections
    assert "pool_exhaustion" not in codes(view(doc=design(edges=[{**edge, "pool_size": 30}])))


def test_queue_backlog_above_one_second_of_traffic():
    backlog = np.zeros(600)
    backlog[300] = 250.0  # 2.5 s of 100 rps
    [found] = [
        f
        for f in detect_factors(view(series=with_series(**{"backlog:app": backlog})))
        if f["code"] == "queue_backlog"
    ]
    assert found["data"]["seconds_of_traffic"] == pytest.approx(2.5)
    backlog[300] = 80.0
    assert "queue_backlog" not in codes(view(series=with_series(**{"backlog:app": backlog})))


def test_replica_lag():
    assert "replica_lag" in codes(view(series=with_series(**{"replica_lag_s:db": ramp(4.0)})))
    assert "replica_lag" not in codes(
        view(series=with_series(**{"replica_lag_s:db": np.full(600, 0.2)}))
    )


def test_over_budget_with_the_overspend():
    [found] = [f for f in detect_factors(view(cost=1800.0)) if f["code"] == "over_budget"]
    assert "+20%" in found["evidence"]
    assert "over_budget" not in codes(view(cost=1500.0))


def test_duplicate_writes_name_the_retrying_edge_without_idempotency_keys():
    doc = design(edges=[RETRY_EDGE])
    [found] = [
        f
        for f in detect_factors(view(doc=doc, counters={"duplicate_writes": 42}))
        if f["code"] == "duplicate_writes"
    ]
    assert found["component"] == "db" and found["data"]["edges"] == [["app", "db"]]
    assert "About 42 writes were applied twice" in found["evidence"]
    assert "duplicate_writes" not in codes(view(doc=doc, counters={"duplicate_writes": 0}))
    assert "duplicate_writes" not in codes(view(doc=doc))  # counter absent (older engine)


def test_writes_lost_on_failover_cite_the_failover():
    v = view(
        counters={"writes_lost": 17}, events=[Event(430, "failover", "db", "replica promoted")]
    )
    [found] = [f for f in detect_factors(v) if f["code"] == "writes_lost"]
    assert found["component"] == "db" and "failed over at T+07:10" in found["evidence"]
    assert "writes_lost" not in codes(view(events=[Event(430, "failover", "db")]))


def test_replica_lag_evidence_counts_stale_reads():
    v = view(series=with_series(**{"replica_lag_s:db": ramp(4.0)}), counters={"stale_reads": 1234})
    [found] = [f for f in detect_factors(v) if f["code"] == "replica_lag"]
    assert (
        found["data"]["stale_reads"] == 1234
        and "1,234 reads returned stale data" in found["evidence"]
    )
