"""The catalogue of contributing factors and how each is detected from a run.

Each entry of :data:`CATALOGUE` is one row of a data table: a stable ``code``, the ``title`` a
learner reads, ``detected_when`` (the rule, in words, shown to authors and tested), a
``lesson_hint`` pointing at what to study, and the ``detect`` function that returns the
evidence -- zero or more :class:`Finding` with the numbers that triggered it. A factor is only
reported with evidence; a design that does not exhibit it yields nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


@dataclass(frozen=True)
class Factor:
    """One row of the catalogue."""

    code: str
    title: str
    detected_when: str
    lesson_hint: str
    detect: Callable[[VariantView], Iterator[Finding]]


def _pools(view: VariantView) -> list[dict]:
    return view.components_of_type("app_pool")


def _min_instances(pool: dict) -> int:
    autoscaling = pool.get("autoscaling") or {}
    return int(autoscaling.get("min", pool.get("instances", 1)))


# detectors ---------------------------------------------------------------------------------------
def _cold_cache(view: VariantView) -> Iterator[Finding]:
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


def _single_point_of_failure(view: VariantView) -> Iterator[Finding]:
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


def _retries_without_jitter(view: VariantView) -> Iterator[Finding]:
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


def _pool_exhaustion(view: VariantView) -> Iterator[Finding]:
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


def _hot_pools_without_autoscaling(view: VariantView) -> Iterator[Finding]:
    for pool in _pools(view):
        util = view.peak(f"utilization:{pool['id']}")
        if pool.get("autoscaling") or util is None or util.value <= HOT_UTILIZATION:
            continue
        yield Finding(
            component=pool["id"],
            evidence=(
                f"App pool {pool['id']} ran at {util.value:.0%} utilization at {_t(util.t_s)} with "
                f"a fixed {pool.get('instances', 1)} instances and no autoscaling to add capacity."
            ),
            data={
                "peak_utilization": util.value,
                "at_s": util.t_s,
                "instances": pool.get("instances", 1),
            },
        )


def _slow_cold_start(view: VariantView) -> Iterator[Finding]:
    breach = view.breach.first
    if breach is None:
        return
    for pool in _pools(view):
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


def _queue_backlog(view: VariantView) -> Iterator[Finding]:
    offered = view.mean("offered_rps")
    mean_rps = float(offered.mean()) if offered is not None and len(offered) else 0.0
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


def _replica_lag(view: VariantView) -> Iterator[Finding]:
    for db in view.components_of_type("database"):
        lag = view.peak(f"replica_lag_s:{db['id']}")
        if lag is None or lag.value <= LAG_S:
            continue
        yield Finding(
            component=db["id"],
            evidence=(
                f"Read replicas of {db['id']} lagged {lag.value:.1f} s behind the primary "
                f"at {_t(lag.t_s)}."
            ),
            data={"peak_lag_s": lag.value, "at_s": lag.t_s},
        )


def _over_budget(view: VariantView) -> Iterator[Finding]:
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


def _under_provisioned(view: VariantView) -> Iterator[Finding]:
    for station in view.stations("utilization"):
        util = view.peak(f"utilization:{station}")
        if util is None or util.value <= HOT_UTILIZATION:
            continue
        cid = view.component_of(station)
        kind = view.components.get(cid, {}).get("type", "component").replace("_", " ")
        yield Finding(
            component=cid,
            evidence=(
                f"{kind.capitalize()} {station} peaked at {util.value:.0%} utilization "
                f"at {_t(util.t_s)}."
            ),
            data={"station": station, "peak_utilization": util.value, "at_s": util.t_s},
        )


def _no_cache_on_read_route(view: VariantView) -> Iterator[Finding]:
    read_share = float(view.mix.get("read", 0.0))
    route = view.route("read")
    if read_share < READ_HEAVY_SHARE or not route:
        return
    types = {view.components.get(cid, {}).get("type") for cid in route}
    if types & {"cache", "cdn"}:
        return
    yield Finding(
        evidence=(
            f"{read_share:.0%} of requests are reads, yet the read route "
            f"({' → '.join(route)}) has no cache."
        ),
        data={"read_share": read_share, "route": route},
    )


CATALOGUE: tuple[Factor, ...] = (
    Factor(
        "under_provisioned",
        "Under-provisioned tier",
        f"a component's mean utilization exceeded {HOT_UTILIZATION:.0%} at peak",
        "Size a tier for the peak with headroom: waits grow like 1/(1 − utilization).",
        _under_provisioned,
    ),
    Factor(
        "no_autoscaling",
        "No autoscaling on a hot pool",
        f"an app pool without autoscaling exceeded {HOT_UTILIZATION:.0%} utilization",
        "Autoscaling adds instances when utilization crosses a target; pair it with a floor.",
        _hot_pools_without_autoscaling,
    ),
    Factor(
        "slow_cold_start",
        "Slow cold start",
        f"autoscaling scaled out during a breach with cold_start_s ≥ {SLOW_COLD_START_S:.0f}",
        "Scale-out only helps after the new instance is warm; keep a higher floor or warm pool.",
        _slow_cold_start,
    ),
    Factor(
        "cold_cache",
        "Cold cache / cache flush",
        f"a cache's hit ratio fell below {COLD_CACHE_DIP:.0%} of its steady value",
        "After a flush every read misses at once; warm caches gradually and protect the database.",
        _cold_cache,
    ),
    Factor(
        "no_cache_read_heavy",
        "No cache on a read-heavy route",
        f"reads are ≥ {READ_HEAVY_SHARE:.0%} of traffic and the read route has no cache",
        "Cache-aside in front of the database absorbs repeated reads of popular keys.",
        _no_cache_on_read_route,
    ),
    Factor(
        "single_point_of_failure",
        "Single point of failure",
        "an app pool can shrink to one instance, a failed database had no replica, or a "
        "component on a route sits in one zone when a zone fails",
        "Run at least two of everything on the request path, spread across failure domains.",
        _single_point_of_failure,
    ),
    Factor(
        "retries_without_jitter",
        "Retries without jitter or backoff",
        "an edge retries more than once without jitter or backoff and requests failed",
        "Exponential backoff with jitter spreads retries out so they do not amplify an outage.",
        _retries_without_jitter,
    ),
    Factor(
        "pool_exhaustion",
        "Connection pool exhaustion",
        "pooled connections exceed the database's max_connections, or a hot pool holds fewer "
        "connections than its concurrency",
        "Size connection pools from the database's limit divided by the number of instances.",
        _pool_exhaustion,
    ),
    Factor(
        "queue_backlog",
        "Queue backlog",
        f"a component's backlog exceeded {BACKLOG_SECONDS:.0f} s of average traffic",
        "A backlog drains only at (capacity − arrivals); shed or add capacity before it grows.",
        _queue_backlog,
    ),
    Factor(
        "replica_lag",
        "Replica lag",
        f"a database's replica lag exceeded {LAG_S:.0f} s",
        "Replicas trade freshness for read capacity; route read-your-writes to the primary.",
        _replica_lag,
    ),
    Factor(
        "over_budget",
        "Over budget",
        "the design's monthly cost exceeds the scenario's budget",
        "Cost is part of the contract: right-size idle tiers before adding more.",
        _over_budget,
    ),
)
BY_CODE: dict[str, Factor] = {f.code: f for f in CATALOGUE}


def detect_factors(view: VariantView) -> list[dict[str, Any]]:
    """Every catalogue factor with evidence in ``view``, in catalogue order.

    Returns
    -------
    list of dict
        ``{code, title, component, evidence, data, lesson_hint}``, JSON-safe.
    """
    return [
        {
            "code": factor.code,
            "title": factor.title,
            "component": finding.component,
            "evidence": finding.evidence,
            "data": finding.data,
            "lesson_hint": factor.lesson_hint,
        }
        for factor in CATALOGUE
        for finding in factor.detect(view)
    ]
