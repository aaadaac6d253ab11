"""What would have helped: candidate fixes derived from the post-mortem, as modified designs.

Each fix in :data:`FIXES` is a row: a ``code``, the factor codes / root-cause kinds it answers
(``answers``), and ``apply(doc, component, view)`` that returns a *new* design document (the
input is never mutated) with a one-line description of the change, or None when the fix does
not apply to that component. :func:`propose_fixes` orders the candidates -- fixes for the root
cause first, then for contributing factors in catalogue order -- and drops duplicates; the
caller validates each with the engine, keeps the first ``MAX_FIXES`` it accepts (to bound
compute) and simulates them on the run's seed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scoring.analysis import edits
from scoring.analysis.edits import Change
from scoring.analysis.view import VariantView

MAX_FIXES = 4


@dataclass(frozen=True)
class Candidate:
    """A fix applied to one design: what it is, what it changes, the resulting document."""

    code: str
    title: str
    component: str | None
    answers: str  # the factor code or root-cause kind it was proposed for
    design_change: str
    design: dict[str, Any]


@dataclass(frozen=True)
class Fix:
    """One row of the fix table."""

    code: str
    title: str
    answers: frozenset[str]  # factor codes and root-cause kinds
    apply: Callable[[dict, str | None, VariantView], Change | None]


FIXES: tuple[Fix, ...] = (
    Fix(
        "scale_out",
        "Add 50 % more instances",
        frozenset(
            {
                "saturation",
                "capacity_loss",
                "under_provisioned",
                "no_autoscaling",
                "single_point_of_failure",
                "instance_failure",
                "traffic_spike",
                "queue_backlog",
            }
        ),
        edits.scale_out,
    ),
    Fix(
        "enable_autoscaling",
        "Turn on autoscaling",
        frozenset({"no_autoscaling", "traffic_spike"}),
        edits.enable_autoscaling,
    ),
    Fix(
        "raise_autoscaling_floor",
        "Keep more warm instances",
        frozenset({"slow_cold_start"}),
        edits.raise_floor,
    ),
    Fix(
        "deepen_queue",
        "Deepen the queue",
        frozenset({"queue_backlog"}),
        edits.deepen_queue,
    ),
    Fix(
        "add_cache",
        "Add a cache on the read route",
        frozenset({"no_cache_read_heavy", "saturation", "under_provisioned"}),
        edits.add_cache,
    ),
    Fix(
        "coalesce_misses",
        "Coalesce cache misses",
        frozenset({"cold_cache", "cache_flush", "cache_node_loss"}),
        edits.coalesce_misses,
    ),
    Fix(
        "enlarge_cache",
        "Double the cache memory (on larger nodes where needed)",
        frozenset({"cold_cache", "cache_flush"}),
        edits.enlarge_cache,
    ),
    Fix(
        "spread_zones",
        "Spread over two availability zones",
        frozenset({"az_outage", "single_point_of_failure"}),
        edits.spread_zones,
    ),
    Fix(
        "add_read_replica",
        "Add a read replica",
        frozenset(
            {
                "saturation",
                "under_provisioned",
                "single_point_of_failure",
                "db_primary_failure",
                "queue_backlog",
            }
        ),
        edits.add_read_replica,
    ),
    Fix(
        "upsize_database",
        "Move the database one size up",
        frozenset(
            {
                "saturation",
                "under_provisioned",
                "replica_lag",
                "dependency_slowdown",
                "capacity_loss",
            }
        ),
        edits.upsize_database,
    ),
    Fix(
        "jitter_backoff",
        "Back off retries with jitter",
        frozenset({"retries_without_jitter"}),
        edits.jitter_backoff,
    ),
    Fix(
        "idempotency_keys",
        "Send idempotency keys with retried writes",
        frozenset({"duplicate_writes"}),
        edits.add_idempotency_keys,
    ),
    Fix(
        "circuit_breaker",
        "Add a circuit breaker",
        frozenset({"dependency_slowdown", "db_primary_failure", "retries_without_jitter"}),
        edits.circuit_breaker,
    ),
    Fix(
        "resize_connection_pool",
        "Size the connection pool to the database",
        frozenset({"pool_exhaustion"}),
        edits.resize_pool_connections,
    ),
    Fix(
        "right_size",
        "Right-size the least busy tier",
        frozenset({"over_budget"}),
        edits.right_size,
    ),
)


def propose_fixes(view: VariantView, root_cause: dict, factors: list[dict]) -> list[Candidate]:
    """Candidate fixes for this run, most relevant first, not yet validated by the engine.

    Parameters
    ----------
    view : VariantView of the learner's design
    root_cause : the dict from :func:`scoring.analysis.postmortem.find_root_cause`
    factors : the dicts from :func:`scoring.analysis.factors.detect_factors`

    Returns
    -------
    list of Candidate, each with a new design document; the caller must still validate them.
    """
    reasons = [(root_cause["kind"], root_cause.get("component"))]
    reasons += [(f["code"], f.get("component")) for f in factors]
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for reason, component in reasons:
        for fix in FIXES:
            if reason not in fix.answers:
                continue
            change = fix.apply(view.design_doc, component, view)
            if change is None:
                continue
            design, description = change
            key = json.dumps(design, sort_keys=True)  # the same document, reached twice
            if key in seen:
                continue
            seen.add(key)
            candidates.append(
                Candidate(
                    code=fix.code,
                    title=fix.title,
                    component=component,
                    answers=reason,
                    design_change=description,
                    design=design,
                )
            )
    return candidates
