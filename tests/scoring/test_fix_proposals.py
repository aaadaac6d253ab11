"""Candidate fixes: derived from the root cause and factors, valid designs, input untouched."""

import copy

import numpy as np
import pytest

from scoring.analysis import edits
from scoring.analysis.factors import detect_factors
from scoring.analysis.fixes import FIXES, propose_fixes
from scoring.analysis.postmortem import find_root_cause
from simulations.engine.spec import parse_design
from tests.scoring.builders import (
    Event,
    design,
    healthy_series,
    incident,
    outage,
    queue_design,
    slow,
    view,
)


def proposals(v):
    return propose_fixes(v, find_root_cause(v), detect_factors(v))


def component(doc, cid):
    return next(c for c in doc["components"] if c["id"] == cid)


def saturated_app_view(doc=None):
    series = slow(healthy_series(), 300, 600, p99_ms=900.0)
    series["utilization:app"] = series["utilization:app"].copy()
    series["utilization:app"][280:] = 0.97
    return view(series=series, doc=doc, events=[Event(280, "saturation_start", "app")])


def test_saturated_pool_first_gets_more_instances_and_the_input_is_untouched():
    doc = design(instances=4)
    before = copy.deepcopy(doc)
    first = proposals(saturated_app_view(doc))[0]
    assert first.code == "scale_out" and first.answers == "saturation"
    assert component(first.design, "app")["instances"] == 6
    assert first.design_change == "app: instances 4 → 6"
    assert doc == before


def test_every_proposal_is_a_design_the_engine_accepts():
    doc = design(
        instances=1,
        cache=False,
        edges=[
            {
                "from": "app",
                "to": "db",
                "pool_size": 200,
                "retries": {"max_attempts": 3, "backoff_ms": 0, "jitter": False},
            }
        ],
    )
    series = outage(healthy_series(), 305, 400)
    series["utilization:db"] = series["utilization:db"].copy()
    series["utilization:db"][300:360] = 0.9  # the slowed database on the read route runs hot
    v = view(
        series=series,
        doc=doc,
        cost=1800.0,
        incidents=[incident("dependency_slowdown", 300, 60, "db", factor=5)],
        events=[Event(280, "saturation_start", "app")],
    )
    found = proposals(v)
    assert {"scale_out", "add_cache", "jitter_backoff", "circuit_breaker"} <= {
        c.code for c in found
    }
    for candidate in found:
        parse_design(candidate.design)  # raises DesignError if not
    assert len({c.design_change for c in found}) == len(found)  # no duplicates


def test_cache_is_inserted_before_the_database_on_the_read_route():
    hot_db = healthy_series()
    hot_db["utilization:db"] = hot_db["utilization:db"] * 3  # 90 %: reads pile onto it
    v = view(doc=design(cache=False), series=hot_db)
    [fix] = [c for c in proposals(v) if c.code == "add_cache"]
    assert fix.design["routes"]["read"] == ["lb", "app", "cache", "db"]
    assert fix.design["routes"]["write"] == ["lb", "app", "db"]


def test_jitter_fix_turns_on_jitter_and_backoff():
    edge = {
        "from": "app",
        "to": "db",
        "retries": {"max_attempts": 3, "backoff_ms": 0, "jitter": False},
    }
    v = view(series=outage(healthy_series(), 100, 200), doc=design(edges=[edge]))
    [fix] = [c for c in proposals(v) if c.code == "jitter_backoff"]
    assert fix.design["edges"][0]["retries"] == {
        "max_attempts": 3,
        "backoff_ms": 50.0,
        "jitter": True,
    }


def test_circuit_breaker_is_added_on_calls_into_the_slow_dependency():
    v = view(
        series=outage(healthy_series(), 305, 400),
        incidents=[incident("dependency_slowdown", 300, 60, "db", factor=5)],
    )
    [fix] = [c for c in proposals(v) if c.code == "circuit_breaker"]
    breakers = {(e["from"], e["to"]) for e in fix.design["edges"] if e.get("circuit_breaker")}
    assert breakers == {("app", "db"), ("cache", "db")}


def test_over_budget_right_sizes_the_least_busy_tier():
    doc = design(instances=6)
    series = healthy_series()
    series["utilization:app"] = series["utilization:app"] * 0 + 0.2
    [fix] = [
        c for c in proposals(view(series=series, doc=doc, cost=2000.0)) if c.code == "right_size"
    ]
    # cache (5 %) is the least busy tier with a size to shed; the load balancer has none
    assert fix.design_change == "cache: size medium → small (peak utilization 5%)"
    assert component(fix.design, "cache")["size"] == "small"


def test_over_budget_shrinks_an_idle_fixed_pool_by_instances():
    doc = design(instances=6, cache=False)
    series = healthy_series()
    for key in ("utilization:app", "utilization:db", "utilization:lb"):
        series[key] = series[key] * 0 + (0.2 if key == "utilization:app" else 0.7)
    [fix] = [
        c for c in proposals(view(series=series, doc=doc, cost=2000.0)) if c.code == "right_size"
    ]
    assert component(fix.design, "app")["instances"] == 2  # ceil(6 x 0.2 / 0.6)


def test_healthy_design_gets_no_fix():
    assert proposals(view()) == []


# Fixes aimed at one component; the others act on the whole route or edge set.
TARGETED = {
    "scale_out",
    "enable_autoscaling",
    "raise_autoscaling_floor",
    "upsize_database",
    "add_read_replica",
    "circuit_breaker",
    "resize_connection_pool",
    "deepen_queue",
}


@pytest.mark.parametrize("fix", [f for f in FIXES if f.code in TARGETED], ids=lambda f: f.code)
def test_targeted_fix_declines_a_component_the_design_lacks(fix):
    assert fix.apply(design(), "no_such_component", view()) is None


def test_zone_outage_gets_one_fix_spreading_the_whole_path():
    v = view(
        incidents=[incident("az_outage", 100, 300, zone="a")],
        series=outage(healthy_series(), 100, 400),
    )
    spreads = [c for c in proposals(v) if c.code == "spread_zones"]
    assert len(spreads) == 1  # root cause and two single-zone factors, one document
    assert {c["id"]: c.get("zones") for c in spreads[0].design["components"] if "zones" in c} == {
        "app": 2,
        "db": 2,
    }
    assert component(spreads[0].design, "db")["read_replicas"] == 1  # a standby in zone b
    assert spreads[0].design_change.endswith("(db with a replica to fail over to)")


def test_single_instance_without_a_zone_outage_is_not_spread_over_zones():
    assert "spread_zones" not in {c.code for c in proposals(view(doc=design(instances=1)))}


def test_duplicate_writes_get_idempotency_keys_on_the_retrying_edge():
    edge = {
        "from": "app",
        "to": "db",
        "retries": {"max_attempts": 3, "backoff_ms": 50, "jitter": True},
    }
    v = view(doc=design(edges=[edge]), counters={"duplicate_writes": 10})
    [fix] = [c for c in proposals(v) if c.code == "idempotency_keys"]
    assert fix.design["edges"][0]["idempotency_keys"] is True
    parse_design(fix.design)


def overflowing_queue_view(max_depth=3000, peak_backlog=3000.0, dropped=8000.0, doc=None):
    """A burst fills the jobs queue in front of the workers; uploads beyond it are dropped."""
    series = healthy_series()
    series["utilization:workers"] = np.where(np.arange(600) >= 200, 1.0, 0.4)
    series["backlog:workers"] = np.clip((np.arange(600) - 200) * 20.0, 0, peak_backlog)
    return view(
        series=series,
        doc=doc or queue_design(max_depth=max_depth),
        mix={"read": 0.8, "async_job": 0.2},
        counters={"errors_dropped": dropped},
    )


def test_overflowing_queue_gets_more_workers_autoscaling_and_a_deeper_queue():
    # given a queue of 3,000 that filled up while uploads were dropped
    doc = queue_design(max_depth=3000)
    before = copy.deepcopy(doc)
    found = {c.code: c for c in proposals(overflowing_queue_view(doc=doc))}
    # then every fix the engine can express for a worker pool and its queue is proposed
    assert {"scale_out", "enable_autoscaling", "deepen_queue"} <= set(found)
    assert component(found["scale_out"].design, "workers")["instances"] == 5  # ceil(3 x 1.5)
    assert component(found["enable_autoscaling"].design, "workers")["autoscaling"]["min"] == 3
    deeper = found["deepen_queue"]
    assert (deeper.answers, deeper.component) == ("queue_backlog", "workers")
    assert component(deeper.design, "jobs")["max_depth"] == 30_000
    assert deeper.design_change.startswith("jobs: max_depth 3,000 → 30,000")
    for candidate in found.values():
        parse_design(candidate.design)  # raises DesignError if not
    assert doc == before


def test_queue_is_deepened_only_when_it_filled_and_requests_were_dropped():
    def deepened(v):
        return "deepen_queue" in {c.code for c in proposals(v)}

    assert deepened(overflowing_queue_view())
    # a long backlog that stayed well under the cap: the queue did its job
    assert not deepened(overflowing_queue_view(max_depth=100_000, peak_backlog=3000.0))
    # full, but nothing was refused
    assert not deepened(overflowing_queue_view(dropped=0.0))


def _cache_doc(**params):
    doc = design()
    component(doc, "cache").update(params)
    return doc


@pytest.mark.parametrize(
    ("params", "after", "change"),
    [
        # a medium node holds 6.4 GB: room to double in place
        ({"size": "medium", "memory_gb": 1.0}, {"size": "medium", "nodes": 1}, ""),
        # a small node holds 1.5 GB: 2 GB needs the next size up (billed by size)
        (
            {"size": "small", "memory_gb": 1.0},
            {"size": "medium", "nodes": 1},
            ", node size small → medium",
        ),
        # past the largest node (26 GB), more nodes of it
        ({"size": "xlarge", "memory_gb": 20.0}, {"size": "xlarge", "nodes": 2}, ", nodes 1 → 2"),
    ],
)
def test_doubling_cache_memory_moves_to_nodes_that_hold_it(params, after, change):
    doc = _cache_doc(**params)
    before = params["memory_gb"]
    new, description = edits.enlarge_cache(doc, "cache", view(doc=doc))
    cache = component(new, "cache")
    assert cache["memory_gb"] == 2 * before
    assert {k: cache[k] for k in after} == after
    assert description == f"cache: memory {before:g} GB → {2 * before:g} GB{change}"
    parse_design(new)  # raises DesignError if the nodes could not hold it


def test_right_sizing_never_shrinks_a_cache_below_the_nodes_its_memory_needs():
    doc = _cache_doc(size="medium", memory_gb=2.0)  # a small node holds 1.5 GB
    series = healthy_series()
    series["utilization:app"] = series["utilization:app"] * 0 + 0.2
    for fix in proposals(view(series=series, doc=doc, cost=2000.0)):
        assert component(fix.design, "cache")["size"] == "medium", fix.design_change
        parse_design(fix.design)
