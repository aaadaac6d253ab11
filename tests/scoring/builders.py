"""Hand-built runs for the post-mortem tests: per-tick series shaped like the engine's output.

The analysis reads a :class:`~scoring.analysis.view.VariantView`; these helpers fill one with
simple, readable shapes (a flat healthy run, an outage between two times, a utilization ramp) so
each test states the evidence it expects the analysis to find.
"""

from __future__ import annotations

import numpy as np

from scoring.analysis.rules import Contract
from scoring.analysis.view import VariantView
from simulations import engine
from simulations.engine.spec import Incident

CONTRACT = Contract(
    availability=0.995,
    latency_percentile=99,
    latency_ms=300.0,
    budget_usd_per_month=1500.0,
    duration_s=600.0,
)
RPS = 100.0
N_TICKS = 600  # one tick per second for ten minutes


def Event(t_s: float, kind: str, component: str | None = None, detail: str = "") -> engine.Event:
    """An engine event; component and detail optional for brevity (capitalised like the type)."""
    return engine.Event(t_s=float(t_s), kind=kind, component=component, detail=detail)


def design(*, instances=3, autoscaling=None, cache=True, read_replicas=0, edges=(), zones=1):
    """A normalised three- or four-tier design document."""
    app = {
        "id": "app",
        "type": "app_pool",
        "size": "medium",
        "instances": instances,
        "concurrency": 8,
        "service_time_ms": {"read": 25.0, "write": 40.0},
        "max_queue_per_instance": 200,
        "zones": zones,
    }
    if autoscaling:
        app["autoscaling"] = autoscaling
    components = [{"id": "lb", "type": "load_balancer"}, app]
    read = ["lb", "app", "db"]
    if cache:
        components.append(
            {
                "id": "cache",
                "type": "cache",
                "size": "medium",
                "memory_gb": 1.0,  # fits a small node too (right-sizing may shrink it)
                "item_kb": 4,
                "ttl_s": 300,
                "nodes": 1,
                "coalescing": False,
            }
        )
        read = ["lb", "app", "cache", "db"]
    components.append(
        {
            "id": "db",
            "type": "database",
            "size": "medium",
            "max_connections": 100,
            "service_time_ms": {"read": 4.0, "write": 10.0},
            "read_replicas": read_replicas,
            "zones": zones,
        }
    )
    return {
        "components": components,
        "routes": {"read": read, "write": ["lb", "app", "db"]},
        "edges": [dict(e) for e in edges],
    }


def queue_design(*, max_depth=3000, worker_autoscaling=None):
    """Uploads enqueue jobs for a worker pool; reads go straight to the database."""
    workers = {
        "id": "workers",
        "type": "worker_pool",
        "size": "medium",
        "instances": 3,
        "concurrency": 4,
        "service_time_ms": {"async_job": 400.0},
        "max_queue_per_instance": 200,
        "max_receives": 3,
        "zones": 1,
    }
    if worker_autoscaling:
        workers["autoscaling"] = worker_autoscaling
    doc = design(cache=False)
    for comp in doc["components"]:  # app enqueues uploads, workers write their results
        if comp["type"] in ("app_pool", "database"):
            comp["service_time_ms"]["async_job"] = 10.0
    doc["components"][1:1] = [{"id": "jobs", "type": "queue", "max_depth": max_depth}, workers]
    doc["routes"] = {
        "read": ["lb", "app", "db"],
        "async_job": ["lb", "app", "jobs", "workers", "db"],
    }
    return doc


def healthy_series(n=N_TICKS):
    """Flat load, everything succeeds, p99 at 120 ms, utilization 50 %, warm cache."""
    return {
        "offered_rps": np.full(n, RPS),
        "success_rps": np.full(n, RPS),
        "error_rps": np.zeros(n),
        "latency_p50_ms": np.full(n, 40.0),
        "latency_p95_ms": np.full(n, 90.0),
        "latency_p99_ms": np.full(n, 120.0),
        "utilization:app": np.full(n, 0.5),
        "utilization:db": np.full(n, 0.3),
        "utilization:cache": np.full(n, 0.05),
        "utilization:lb": np.full(n, 0.1),
        "backlog:app": np.zeros(n),
        "backlog:db": np.zeros(n),
        "hit_ratio:cache": np.full(n, 0.9),
        "instances:app": np.full(n, 3.0),
        "spend_usd": np.linspace(0, 1.0, n),
    }


def outage(series, start_s, end_s, availability=0.0):
    """Make ``[start_s, end_s)`` fail: success drops to ``availability`` of the offered load."""
    s = dict(series)
    lost = np.zeros(N_TICKS, dtype=bool)
    lost[int(start_s) : int(end_s)] = True
    s["success_rps"] = np.where(lost, s["offered_rps"] * availability, s["offered_rps"])
    s["error_rps"] = s["offered_rps"] - s["success_rps"]
    return s


def slow(series, start_s, end_s, p99_ms):
    s = dict(series)
    s["latency_p99_ms"] = s["latency_p99_ms"].copy()
    s["latency_p99_ms"][int(start_s) : int(end_s)] = p99_ms
    return s


def totals(series, replications=4):
    """Per-replication totals consistent with the series (every replication alike)."""
    offered = float(series["offered_rps"].sum())
    succeeded = float(series["success_rps"].sum())
    ones = np.ones(replications)
    return {
        "offered": offered * ones,
        "succeeded": succeeded * ones,
        "failed": (offered - succeeded) * ones,
        "latency_p99_ms": float(np.max(series["latency_p99_ms"])) * ones,
        "spend_usd": float(series["spend_usd"][-1]) * ones,
    }


def view(
    *,
    series=None,
    events=(),
    incidents=(),
    doc=None,
    cost=1000.0,
    mix=None,
    contract=CONTRACT,
    counters=None,
):
    """A view of a hand-built run; ``counters`` adds per-replication totals (same in each)."""
    series = healthy_series() if series is None else series
    per_replication = totals(series)
    for key, value in (counters or {}).items():
        per_replication[key] = np.full(len(per_replication["offered"]), float(value))
    return VariantView(
        contract=contract,
        mix=mix or {"read": 0.9, "write": 0.1},
        incidents=list(incidents),
        design_doc=doc or design(),
        times_s=np.arange(N_TICKS, dtype=float),
        tick_s=1.0,
        series=series,
        per_replication=per_replication,
        events=sorted(events, key=lambda e: e.t_s),
        monthly_cost_usd=cost,
    )


def incident(kind, at_s, duration_s=None, component=None, **params):
    return Incident(
        kind=kind, at_s=float(at_s), duration_s=duration_s, component=component, params=params
    )
