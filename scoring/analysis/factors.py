"""The catalogue of contributing factors and how each is detected from a run.

Each entry of :data:`CATALOGUE` is one row of a data table: a stable ``code``, the ``title`` a
learner reads, ``detected_when`` (the rule, in words, shown to authors and tested), a
``lesson_hint`` pointing at what to study, and the ``detect`` function that returns the
evidence -- zero or more :class:`Finding` with the numbers that triggered it. A factor is only
reported with evidence; a design that does not exhibit it yields nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from scoring.analysis import detectors, read_route
from scoring.analysis.detectors import (
    BACKLOG_SECONDS,
    COLD_CACHE_DIP,
    HOT_UTILIZATION,
    LAG_S,
    READ_HEAVY_SHARE,
    SLOW_COLD_START_S,
    Finding,
)
from scoring.analysis.view import VariantView


@dataclass(frozen=True)
class Factor:
    """One row of the catalogue."""

    code: str
    title: str
    detected_when: str
    lesson_hint: str
    detect: Callable[[VariantView], Iterator[Finding]]


CATALOGUE: tuple[Factor, ...] = (
    Factor(
        "under_provisioned",
        "Under-provisioned tier",
        f"a component's mean utilization exceeded {HOT_UTILIZATION:.0%} at peak",
        "Size a tier for the peak with headroom: waits grow like 1/(1 − utilization).",
        detectors.detect_under_provisioned,
    ),
    Factor(
        "no_autoscaling",
        "No autoscaling on a hot pool",
        f"an app or worker pool without autoscaling exceeded {HOT_UTILIZATION:.0%} utilization",
        "Autoscaling adds instances when utilization crosses a target; pair it with a floor.",
        detectors.detect_hot_pools_without_autoscaling,
    ),
    Factor(
        "slow_cold_start",
        "Slow cold start",
        f"autoscaling scaled out during a breach with cold_start_s ≥ {SLOW_COLD_START_S:.0f}",
        "Scale-out only helps after the new instance is warm; keep a higher floor or warm pool.",
        detectors.detect_slow_cold_start,
    ),
    Factor(
        "cold_cache",
        "Cold cache / cache flush",
        f"a cache's hit ratio fell below {COLD_CACHE_DIP:.0%} of its steady value",
        "After a flush every read misses at once; warm caches gradually and protect the database.",
        detectors.detect_cold_cache,
    ),
    Factor(
        "no_cache_read_heavy",
        "No cache on a read-heavy route",
        f"reads are ≥ {READ_HEAVY_SHARE:.0%} of traffic, the read route has no cache, and the "
        f"database it ends at ran above {HOT_UTILIZATION:.0%} utilization, queued more than "
        f"{BACKLOG_SECONDS:.0f} s of traffic or failed",
        "Cache-aside in front of the database absorbs repeated reads of popular keys.",
        read_route.detect_no_cache_on_read_route,
    ),
    Factor(
        "single_point_of_failure",
        "Single point of failure",
        "an app pool can shrink to one instance, a failed database had no replica, or a "
        "component on a route sits in one zone when a zone fails",
        "Run at least two of everything on the request path, spread across failure domains.",
        detectors.detect_single_point_of_failure,
    ),
    Factor(
        "retries_without_jitter",
        "Retries without jitter or backoff",
        "an edge retries more than once without jitter or backoff and requests failed",
        "Exponential backoff with jitter spreads retries out so they do not amplify an outage.",
        detectors.detect_retries_without_jitter,
    ),
    Factor(
        "pool_exhaustion",
        "Connection pool exhaustion",
        "pooled connections exceed the database's max_connections, or a hot pool holds fewer "
        "connections than its concurrency",
        "Size connection pools from the database's limit divided by the number of instances.",
        detectors.detect_pool_exhaustion,
    ),
    Factor(
        "queue_backlog",
        "Queue backlog",
        f"a component's backlog exceeded {BACKLOG_SECONDS:.0f} s of average traffic",
        "A backlog drains only at (capacity − arrivals); add capacity, or a queue deep enough "
        "to hold (arrivals − throughput) × burst length.",
        detectors.detect_queue_backlog,
    ),
    Factor(
        "replica_lag",
        "Replica lag",
        f"a database's replica lag exceeded {LAG_S:.0f} s",
        "Replicas trade freshness for read capacity; route read-your-writes to the primary.",
        detectors.detect_replica_lag,
    ),
    Factor(
        "duplicate_writes",
        "Retried writes without idempotency keys",
        "the engine counted writes applied twice",
        "Send an idempotency key with every retried write so the server can drop the repeat.",
        detectors.detect_duplicate_writes,
    ),
    Factor(
        "writes_lost",
        "Writes lost on failover",
        "the engine counted acknowledged writes lost when a replica was promoted",
        "Asynchronous replicas trail the primary; failover drops what they had not received.",
        detectors.detect_writes_lost,
    ),
    Factor(
        "over_budget",
        "Over budget",
        "the design's monthly cost exceeds the scenario's budget",
        "Cost is part of the contract: right-size idle tiers before adding more.",
        detectors.detect_over_budget,
    ),
)


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
