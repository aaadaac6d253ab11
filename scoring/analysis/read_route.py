"""The "no cache on a read-heavy route" factor: read-heavy traffic *and* evidence reads hurt.

A read-heavy mix alone is not a reason for a cache: when the bottleneck is elsewhere (the app
tier saturates while the database idles) a cache changes nothing the learner was graded on.
The detector therefore also asks for evidence at the component the reads end at; the numbers
go into the finding like every other detector's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scoring.analysis.detectors import BACKLOG_SECONDS, HOT_UTILIZATION, READ_HEAVY_SHARE, Finding
from scoring.analysis.labels import clock_label as _t
from scoring.analysis.view import VariantView

# Incidents that take a component down: while it is away only cache hits are served.
DOWN_INCIDENTS = frozenset({"db_primary_failure", "instance_failure"})


def _read_store(view: VariantView) -> str | None:
    """Where reads end: the first database on the read route (a cache goes in front of it),
    else the route's last hop; None without a read route."""
    route = view.route("read")
    databases = [c for c in route if view.components.get(c, {}).get("type") == "database"]
    return databases[0] if databases else (route[-1] if route else None)


def _reads_hurt(view: VariantView, store: str) -> tuple[str, dict[str, Any]] | None:
    """Evidence that the reads' last stop struggled: ``(clause, numbers)``, or None.

    Any of: a station of ``store`` ran above ``HOT_UTILIZATION``; its backlog held more than
    ``BACKLOG_SECONDS`` of average traffic; an incident took it down (a cache serves hits while
    it is away). Without one, the read route was not where the run hurt and a cache is not the
    lesson. (The engine does not split failures by request class, so "reads dominated the
    failures" cannot be checked directly.)
    """
    hot = view.hottest("utilization", store)
    if hot and hot[1].value > HOT_UTILIZATION:
        station, util = hot
        return (
            f"{station} peaked at {util.value:.0%} utilization at {_t(util.t_s)}",
            {"station": station, "peak_utilization": util.value, "at_s": util.t_s},
        )
    mean_rps = view.mean_offered_rps
    queued = view.hottest("backlog", store)
    if queued and mean_rps > 0 and queued[1].value >= BACKLOG_SECONDS * mean_rps:
        station, backlog = queued
        return (
            f"{backlog.value:,.0f} requests were waiting at {station} at {_t(backlog.t_s)} "
            f"({backlog.value / mean_rps:.1f} s of average traffic)",
            {"station": station, "peak_backlog": backlog.value, "at_s": backlog.t_s},
        )
    failure = next(
        (
            inc
            for inc in view.incidents
            if inc.kind in DOWN_INCIDENTS and store in view.targets(inc)
        ),
        None,
    )
    if failure is not None:
        return (
            f"{store} failed at {_t(failure.at_s)} and every read went down with it",
            {"station": store, "failed_at_s": failure.at_s},
        )
    return None


def detect_no_cache_on_read_route(view: VariantView) -> Iterator[Finding]:
    """Read-heavy traffic without a cache or CDN, whose last stop on the read route struggled.

    Struggled: see :func:`_reads_hurt`; a read-heavy mix alone is not evidence.
    """
    read_share = float(view.mix.get("read", 0.0))
    route = view.route("read")
    store = _read_store(view)
    if read_share < READ_HEAVY_SHARE or store is None:
        return
    types = {view.components.get(cid, {}).get("type") for cid in route}
    if types & {"cache", "cdn"}:
        return
    hurt = _reads_hurt(view, store)
    if hurt is None:
        return
    clause, numbers = hurt
    yield Finding(
        component=store,
        evidence=(
            f"{read_share:.0%} of requests are reads and the read route "
            f"({' → '.join(route)}) has no cache, so every read reached {store}: {clause}."
        ),
        data={"read_share": read_share, "route": route, **numbers},
    )
