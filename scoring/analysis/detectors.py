"""Detectors of contributing factors: each reads a :class:`VariantView` and yields evidence.

A detector yields zero or more :class:`Finding` -- a sentence with the numbers that triggered
it, the numbers themselves and the component concerned -- and nothing when the run does not
exhibit the factor (the cache factor lives in :mod:`scoring.analysis.read_route`). The
catalogue that names them, with titles and lesson hints, is
:data:`scoring.analysis.factors.CATALOGUE`. The thresholds below are the rules' constants.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring.analysis.labels import clock_label as _t
from scoring.analysis.view import VariantView

# Utilization above which a tier has no headroom left for a burst (queueing delay grows as
# 1 / (1 - rho), so at 0.8 a small rise in load multiplies waits).
HOT_UTILIZATION = 0.8
# Reads at or above this share of traffic make a cache the first tool to reach for.
READ_HEAVY_SHARE = 0.6
# A backlog holding more than this many seconds of offered traffic is a queue, not jitter.
BACKLOG_SECONDS = 1.0
# Replica lag above this serves visibly stale reads [s].
LAG_S = 1.0
# A cold start this long or longer cannot rescue a sudden peak [s].
SLOW_COLD_START_S = 30.0
# The cache hit ratio dipping below this fraction of its steady (median) value counts as cold.
COLD_CACHE_DIP = 0.8


@dataclass(frozen=True)
class Finding:
    """One detected factor instance: which component, what we saw, the numbers."""

    evidence: str  # a sentence with the numbers
    data: dict[str, Any] = field(default_factory=dict)
    component: str | None = None


def _pools(view: VariantView) -> list[dict]:
    """Request-serving pools: losing their last instance stops the route."""
    return view.components_of_type("app_pool")


def _scalable_pools(view: VariantView) -> list[dict]:
    """Pools that scale by instances and can autoscale: app pools and queue workers."""
    return view.components_of_type("app_pool", "worker_pool")


def _kind(view: VariantView, cid: str | None) -> str:
    """``"App pool"``, ``"Worker pool"``... for evidence sentences."""
    return view.components.get(cid, {}).get("type", "component").replace("_", " ").capitalize()


def _min_instances(pool: dict) -> int:
    autoscaling = pool.get("autoscaling") or {}
    return int(autoscaling.get("min", pool.get("instances", 1)))


# detectors ---------------------------------------------------------------------------------------
def detect_cold_cache(view: VariantView) -> Iterator[Finding]:
    """A cache whose hit ratio dipped well below its warm value (after a flush or not)."""
    flushes = {e.component: e.t_s for e in view.events_of("cache_flushed")}
    for cache in view.components_of_type("cache"):
        hit = view.mean(f"hit_ratio:{cache['id']}")
        if hit is None or not np.any(np.isfinite(hit)):
            continue
        steady = float(np.nanmedian(hit))
        i_min = int(np.nanargmin(hit))
        lowest = float(hit[i_min])
        if steady <= 0 or lowest >= COLD_CACHE_DIP * steady:
            continue
        flushed_at = flushes.get(cache["id"])
        cause = f"was flushed at {_t(flushed_at)} and " if flushed_at is not None else ""
        yield Finding(
            component=cache["id"],
            evidence=(
                f"Cache {cache['id']} {cause}its hit ratio fell to {lowest:.0%} at "
                f"{_t(view.times_s[i_min])} against {steady:.0%} when warm, so misses went to "
                "the next tier."
            ),
            data={
                "hit_ratio_min": lowest,
                "hit_ratio_steady": steady,
                "at_s": float(view.times_s[i_min]),
                "flushed_at_s": flushed_at,
            },
        )


def detect_single_point_of_failure(view: VariantView) -> Iterator[Finding]:
    """Single points of failure on the request path.

    Pools that can run on one instance; failed databases without a replica; single-zone tiers
    when a zone fails.
    """
    for pool in _pools(view):
        if _min_instances(pool) <= 1:
            yield Finding(
                component=pool["id"],
                evidence=(
                    f"App pool {pool['id']} can run on a single instance; "
                    "losing it stops the route."
                ),
                data={
                    "instances": int(pool.get("instances", 1)),
                    "min_instances": _min_instances(pool),
                },
            )
    hit_databases = {
        cid
        for inc in view.incidents
        if inc.kind in {"db_primary_failure", "instance_failure"}
        for cid in view.targets(inc)
    }
    for db in view.components_of_type("database"):
        if db["id"] in hit_databases and int(db.get("read_replicas", 0)) == 0:
            yield Finding(
                component=db["id"],
                evidence=f"Database {db['id']} failed and had no read replica to fail over to.",
                data={"read_replicas": 0},
            )
    zone_outages = [inc for inc in view.incidents if inc.kind == "az_outage"]
    if zone_outages:
        on_path = {cid for cls in view.mix for cid in view.route(cls)}
        for cid in sorted(on_path):
            if int(view.components.get(cid, {}).get("zones", 0)) == 1:
                yield Finding(
                    component=cid,
                    evidence=(
                        f"{cid} runs in a single availability zone and the zone outage at "
                        f"{_t(zone_outages[0].at_s)} could take all of it down."
                    ),
                    data={"zones": 1, "az_outage_at_s": zone_outages[0].at_s},
                )


def detect_retries_without_jitter(view: VariantView) -> Iterator[Finding]:
    """Edges retrying without jitter or backoff, in a run where requests failed."""
    retried_errors = view.total("failed")
    if retried_errors <= 0:
        return
    for edge in view.edges:
        retries = edge.get("retries") or {}
        attempts = int(retries.get("max_attempts", 1))
        backoff_ms = float(retries.get("backoff_ms", 0))
        jitter = bool(retries.get("jitter", False))
        if attempts > 1 and (not jitter or backoff_ms <= 0):
            missing = " and ".join(
                w for w, absent in (("jitter", not jitter), ("backoff", backoff_ms <= 0)) if absent
            )
            yield Finding(
                component=edge["to"],
                evidence=(
                    f"Calls {edge['from']} → {edge['to']} retry up to {attempts} times without "
                    f"{missing}; with {retried_errors:,.0f} failed requests the retries arrived "
                    "in lock-step and added load while the tier was struggling."
                ),
                data={
                    "from": edge["from"],
                    "to": edge["to"],
                    "max_attempts": attempts,
                    "backoff_ms": backoff_ms,
                    "jitter": jitter,
                    "failed_requests": retried_errors,
                },
            )


def detect_pool_exhaustion(view: VariantView) -> Iterator[Finding]:
    """Connection pools oversubscribing the database, or too small for a hot pool's concurrency."""
    for edge in view.edges:
        pool_size = edge.get("pool_size")
        source = view.components.get(edge["from"], {})
        target = view.components.get(edge["to"], {})
        if pool_size is None or source.get("type") != "app_pool":
            continue
        peak_instances = view.peak(f"instances:{source['id']}")
        instances = peak_instances.value if peak_instances else float(source.get("instances", 1))
        concurrency = int(source.get("concurrency", 1))
        max_connections = target.get("max_connections")
        util = view.peak(f"utilization:{source['id']}")
        oversubscribed = max_connections is not None and pool_size * instances > max_connections
        starved = pool_size < concurrency and util is not None and util.value > HOT_UTILIZATION
        if not (oversubscribed or starved):
            continue
        if oversubscribed:
            evidence = (
                f"{instances:.0f} instances of {source['id']} × {pool_size} pooled connections "
                f"= {pool_size * instances:.0f} exceeds {target['id']}'s max_connections "
                f"({max_connections}): at peak the database refuses the extra connections."
            )
        else:
            evidence = (
                f"Each {source['id']} instance runs {concurrency} requests at once but holds only "
                f"{pool_size} connections to {target['id']}; at {util.value:.0%} utilization "
                "requests queued for a connection."
            )
        yield Finding(
            component=source["id"],
            evidence=evidence,
            data={
                "pool_size": pool_size,
                "instances": instances,
                "concurrency": concurrency,
                "max_connections": max_connections,
            },
        )


def detect_hot_pools_without_autoscaling(view: VariantView) -> Iterator[Finding]:
    """App or worker pools above the hot utilization with a fixed instance count."""
    for pool in _scalable_pools(view):
        util = view.peak(f"utilization:{pool['id']}")
        if pool.get("autoscaling") or util is None or util.value <= HOT_UTILIZATION:
            continue
        yield Finding(
            component=pool["id"],
            evidence=(
                f"{_kind(view, pool['id'])} {pool['id']} ran at {util.value:.0%} utilization "
                f"at {_t(util.t_s)} with a fixed {pool.get('instances', 1)} instances and no "
                "autoscaling to add capacity."
            ),
            data={
                "peak_utilization": util.value,
                "at_s": util.t_s,
                "instances": pool.get("instances", 1),
            },
        )


def detect_slow_cold_start(view: VariantView) -> Iterator[Finding]:
    """Autoscaling that scaled out during a breach but boots instances slowly."""
    breach = view.breach.first
    if breach is None:
        return
    for pool in _scalable_pools(view):
        autoscaling = pool.get("autoscaling") or {}
        cold_start_s = float(autoscaling.get("cold_start_s", 0))
        scale_outs = [e for e in view.events_of("scale_out") if e.component == pool["id"]]
        if not autoscaling or cold_start_s < SLOW_COLD_START_S or not scale_outs:
            continue
        yield Finding(
            component=pool["id"],
            evidence=(
                f"Autoscaling on {pool['id']} reacted ({len(scale_outs)} scale-outs, the first at "
                f"{_t(scale_outs[0].t_s)}) but each new instance took {cold_start_s:.0f} s "
                f"to start; the SLA was breached for {view.breach.minutes:.1f} min meanwhile."
            ),
            data={
                "cold_start_s": cold_start_s,
                "scale_outs": len(scale_outs),
                "first_scale_out_s": scale_outs[0].t_s,
                "minutes_in_breach": view.breach.minutes,
            },
        )


def detect_queue_backlog(view: VariantView) -> Iterator[Finding]:
    """Stations whose backlog held more than a second of average traffic."""
    mean_rps = view.mean_offered_rps
    for station in view.stations("backlog"):
        backlog = view.peak(f"backlog:{station}")
        if backlog is None or mean_rps <= 0 or backlog.value < BACKLOG_SECONDS * mean_rps:
            continue
        yield Finding(
            component=view.component_of(station),
            evidence=(
                f"{backlog.value:,.0f} requests were waiting at {station} at {_t(backlog.t_s)}, "
                f"{backlog.value / mean_rps:.1f} s of average traffic."
            ),
            data={
                "peak_backlog": backlog.value,
                "at_s": backlog.t_s,
                "seconds_of_traffic": backlog.value / mean_rps,
            },
        )


def detect_replica_lag(view: VariantView) -> Iterator[Finding]:
    """Databases whose replicas fell more than ``LAG_S`` behind."""
    for db in view.components_of_type("database"):
        lag = view.peak(f"replica_lag_s:{db['id']}")
        if lag is None or lag.value <= LAG_S:
            continue
        stale = view.total("stale_reads")
        served = f"; about {stale:,.0f} reads returned stale data" if stale > 0 else ""
        yield Finding(
            component=db["id"],
            evidence=(
                f"Read replicas of {db['id']} lagged {lag.value:.1f} s behind the primary "
                f"at {_t(lag.t_s)}{served}."
            ),
            data={"peak_lag_s": lag.value, "at_s": lag.t_s, "stale_reads": stale},
        )


def detect_duplicate_writes(view: VariantView) -> Iterator[Finding]:
    """Writes applied twice because retries carried no idempotency key (engine counter)."""
    duplicates = view.total("duplicate_writes")
    if duplicates <= 0:
        return
    edges = [
        e
        for e in view.edges
        if int((e.get("retries") or {}).get("max_attempts", 1)) > 1
        and not e.get("idempotency_keys")
    ]
    where = ", ".join(f"{e['from']} → {e['to']}" for e in edges) or "the write path"
    yield Finding(
        component=edges[0]["to"] if edges else None,
        evidence=(
            f"About {duplicates:,.0f} writes were applied twice: retries on {where} carry no "
            "idempotency key, so a retry after a timeout repeats a write that had succeeded."
        ),
        data={"duplicate_writes": duplicates, "edges": [[e["from"], e["to"]] for e in edges]},
    )


def detect_writes_lost(view: VariantView) -> Iterator[Finding]:
    """Acknowledged writes lost in a failover (engine counter)."""
    lost = view.total("writes_lost")
    if lost <= 0:
        return
    failover = next(iter(view.events_of("failover")), None)
    db = view.component_of(failover.component) if failover else None
    when = f" when {db} failed over at {_t(failover.t_s)}" if failover else ""
    yield Finding(
        component=db,
        evidence=(
            f"About {lost:,.0f} acknowledged writes were lost{when}: the promoted replica had "
            "not received them yet (asynchronous replication)."
        ),
        data={"writes_lost": lost, "failover_at_s": failover.t_s if failover else None},
    )


def detect_over_budget(view: VariantView) -> Iterator[Finding]:
    """A design that costs more per month than the scenario's budget."""
    cost, budget = view.monthly_cost_usd, view.contract.budget_usd_per_month
    if cost <= budget:
        return
    yield Finding(
        evidence=(
            f"The design costs ${cost:,.0f}/month against a budget of ${budget:,.0f} "
            f"({cost / budget - 1:+.0%})."
        ),
        data={"monthly_cost_usd": cost, "budget_usd_per_month": budget},
    )


def detect_under_provisioned(view: VariantView) -> Iterator[Finding]:
    """Stations whose mean utilization exceeded the hot threshold at peak."""
    for station in view.stations("utilization"):
        util = view.peak(f"utilization:{station}")
        if util is None or util.value <= HOT_UTILIZATION:
            continue
        cid = view.component_of(station)
        yield Finding(
            component=cid,
            evidence=(
                f"{_kind(view, cid)} {station} peaked at {util.value:.0%} utilization "
                f"at {_t(util.t_s)}."
            ),
            data={"station": station, "peak_utilization": util.value, "at_s": util.t_s},
        )
