"""Timed incidents turned into per-tick masks for every variant and station (precomputed).

Incidents do not depend on the simulated state, so their effect on capacity, speed and errors
is laid out for all ticks before the tick loop starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.engine.network import POOL_TYPES, Network
from simulations.engine.schema import ZONES
from simulations.engine.spec import Scenario

EventTuple = tuple[float, str, str | None, str]


@dataclass
class Timeline:
    """Incident effects, each shaped ``(n_ticks, n_variants, n_stations)`` unless noted."""

    failed: np.ndarray  # instances (or replicas) out of service [instances]
    down: np.ndarray  # 1 while the station is down (primary failure), else 0
    slow: np.ndarray  # service-time multiplier [-] (>= 1)
    error: np.ndarray  # fraction of arrivals that fail (bad deploy, misrouted by the LB) [-]
    flush: np.ndarray  # (n_ticks, V, n_caches) fraction of cached keys lost at this tick [-]
    capacity: np.ndarray  # (n_ticks, V, n_caches) fraction of cache memory alive [-]
    primary_lost: np.ndarray  # (n_ticks, V, S) 1 at the tick a primary with replicas dies
    events: list[list[EventTuple]]  # per variant


def _window(scenario: Scenario, at_s: float, duration_s: float | None) -> slice:
    tick = scenario.tick_s
    start = int(np.floor(at_s / tick + 1e-9))
    stop = (
        scenario.n_ticks if duration_s is None else int(np.ceil((at_s + duration_s) / tick - 1e-9))
    )
    return slice(start, max(start + 1, min(stop, scenario.n_ticks)))


def build_timeline(scenario: Scenario, net: Network) -> Timeline:
    """Lay out every incident of ``scenario`` over the ticks of every variant of ``net``.

    Notes
    -----
    * instance_failure: ``count`` instances out for ``duration_s``. Behind a load balancer the
      failed share of requests still reaches dead instances until the balancer notices
      (``health_check_interval_s x unhealthy_threshold``); with no load balancer in front
      nothing notices and the share fails for the whole incident.
    * db_primary_failure: with read replicas the primary is down for ``failover_s`` and one
      replica is promoted (the replica pool shrinks by one for the rest of the run, and reads
      follow the live replicas: ``plan.ReadSplit``); writes not yet applied on replicas are
      lost. Without replicas it is down for ``duration_s``.
    * az_outage: components spread over ``zones`` lose the share of the failed zone; a
      database's primary lives in zone ``a``.
    * cache_flush / cache_node_loss: cached keys are lost (all, or the nodes' share);
      node loss also shrinks memory until the end of the run.
    """
    n_t, n_v, n_s = scenario.n_ticks, len(net.designs), net.n_stations
    n_c = len(net.caches)
    tl = Timeline(
        failed=np.zeros((n_t, n_v, n_s)),
        down=np.zeros((n_t, n_v, n_s)),
        slow=np.ones((n_t, n_v, n_s)),
        error=np.zeros((n_t, n_v, n_s)),
        flush=np.zeros((n_t, n_v, n_c)),
        capacity=np.ones((n_t, n_v, n_c)),
        primary_lost=np.zeros((n_t, n_v, n_s)),
        events=[[] for _ in range(n_v)],
    )
    station_of = {(s.component, s.role): i for i, s in enumerate(net.stations)}
    for v, design in enumerate(net.designs):
        fronted = _lb_in_front(design)
        for inc in scenario.incidents:
            win = _window(scenario, inc.at_s, inc.duration_s)
            if inc.kind == "traffic_spike":
                _log(tl, v, scenario, inc, None, win, f"load x{inc.params['multiplier']:g}")
                continue
            if inc.kind == "az_outage":
                targets = [c for c in design.components if c.params.get("zones")]
            else:
                targets = [c for c in design.components if inc.component in (c.id, c.type)]
            if not targets:
                tl.events[v].append(
                    (
                        inc.at_s,
                        "incident_skipped",
                        inc.component,
                        f"{inc.kind}: no component {inc.component!r} here",
                    )
                )
                continue
            for comp in targets:
                main = station_of[(comp.id, "main")]
                if inc.kind == "az_outage":
                    zone = ZONES.index(inc.params["zone"])
                    zones = comp.params["zones"]
                    if zone >= zones:
                        continue
                    if comp.type == "database":
                        rep = station_of.get((comp.id, "replicas"))
                        if zone == 0:  # the primary lives in zone a
                            _primary_failure(tl, v, scenario, comp, station_of, inc, win)
                        elif rep is not None and comp.params["read_replicas"] > 0:
                            lost = int(np.ceil(comp.params["read_replicas"] / zones))
                            tl.failed[win, v, rep] += lost
                            _log(
                                tl,
                                v,
                                scenario,
                                inc,
                                comp.id,
                                win,
                                f"zone {inc.params['zone']} lost: {lost} replica(s)",
                            )
                    elif comp.type in POOL_TYPES:
                        share = int(np.ceil(comp.params["instances"] / zones))
                        tl.failed[win, v, main] += share
                        _log(
                            tl,
                            v,
                            scenario,
                            inc,
                            comp.id,
                            win,
                            f"zone {inc.params['zone']} lost: {share} instances",
                        )
                    elif comp.type == "cache":
                        tl.flush[win.start, v, net.cache_of[main]] = 1.0 / zones
                        _log(tl, v, scenario, inc, comp.id, win, "zone lost")
                elif inc.kind == "instance_failure":
                    count = inc.params["count"]
                    if comp.type == "database":
                        rep = station_of.get((comp.id, "replicas"))
                        if rep is None:
                            _primary_failure(tl, v, scenario, comp, station_of, inc, win)
                            continue
                        tl.failed[win, v, rep] += count
                    else:
                        total = comp.params.get("instances", 1)
                        tl.failed[win, v, main] += count
                        detect = win.stop - win.start
                        lb = fronted.get(comp.id)
                        if lb is not None:
                            delay = lb["health_check_interval_s"] * lb["unhealthy_threshold"]
                            detect = int(np.ceil(delay / scenario.tick_s))
                        misroute = slice(win.start, min(win.stop, win.start + detect))
                        tl.error[misroute, v, main] += min(1.0, count / total)
                    _log(tl, v, scenario, inc, comp.id, win, f"{count} instance(s) down")
                elif inc.kind == "db_primary_failure" and comp.type == "database":
                    _primary_failure(tl, v, scenario, comp, station_of, inc, win)
                elif inc.kind == "dependency_slowdown":
                    tl.slow[win, v, main] *= inc.params["factor"]
                    _log(tl, v, scenario, inc, comp.id, win, f"x{inc.params['factor']:g} slower")
                elif inc.kind == "capacity_loss":
                    tl.slow[win, v, main] /= 1.0 - inc.params["fraction"]
                    _log(
                        tl,
                        v,
                        scenario,
                        inc,
                        comp.id,
                        win,
                        f"{inc.params['fraction']:.0%} capacity lost",
                    )
                elif inc.kind == "bad_deploy":
                    tl.error[win, v, main] += inc.params["error_rate"]
                    _log(
                        tl,
                        v,
                        scenario,
                        inc,
                        comp.id,
                        win,
                        f"{inc.params['error_rate']:.0%} of requests fail",
                    )
                elif inc.kind in ("cache_flush", "cache_node_loss") and net.cache_of[main] >= 0:
                    c = net.cache_of[main]
                    if inc.kind == "cache_flush":
                        tl.flush[win.start, v, c] = 1.0
                    else:
                        nodes = comp.params.get("nodes", 1)
                        lost = min(inc.params["count"], nodes) / nodes
                        tl.flush[win.start, v, c] = max(tl.flush[win.start, v, c], lost)
                        tl.capacity[win.start :, v, c] *= 1.0 - lost
                    tl.events[v].append(
                        (
                            win.start * scenario.tick_s,
                            "cache_flushed",
                            comp.id,
                            inc.kind.replace("_", " "),
                        )
                    )
                else:
                    tl.events[v].append(
                        (
                            inc.at_s,
                            "incident_skipped",
                            comp.id,
                            f"{inc.kind} does not apply to a {comp.type}",
                        )
                    )
    # a down station refuses connections: its arrivals fail at once
    np.clip(tl.error + tl.down, 0.0, 1.0, out=tl.error)
    for v in range(n_v):
        tl.events[v].sort(key=lambda e: e[0])
    return tl


def _primary_failure(tl, v, scenario, comp, station_of, inc, win) -> None:
    main = station_of[(comp.id, "main")]
    rep = station_of.get((comp.id, "replicas"))
    start = win.start
    if rep is not None and comp.params["read_replicas"] > 0:
        stop = min(
            scenario.n_ticks, start + int(np.ceil(comp.params["failover_s"] / scenario.tick_s))
        )
        tl.down[start:stop, v, main] = 1.0
        tl.failed[stop:, v, rep] += 1  # promoted replica leaves the replica pool
        tl.primary_lost[start, v, main] = 1.0
        tl.events[v].append((start * scenario.tick_s, "incident_start", comp.id, "primary down"))
        tl.events[v].append(
            (
                stop * scenario.tick_s,
                "failover",
                comp.id,
                f"replica promoted after {comp.params['failover_s']:g} s",
            )
        )
    else:
        duration = inc.duration_s if inc.duration_s is not None else 300.0
        stop = min(scenario.n_ticks, start + int(np.ceil(duration / scenario.tick_s)))
        tl.down[start:stop, v, main] = 1.0
        tl.events[v].append(
            (
                start * scenario.tick_s,
                "incident_start",
                comp.id,
                "primary down, no replica to fail over to",
            )
        )
        tl.events[v].append((stop * scenario.tick_s, "incident_end", comp.id, "primary back"))


def _log(tl, v, scenario, inc, component, win, detail) -> None:
    tl.events[v].append(
        (win.start * scenario.tick_s, "incident_start", component, f"{inc.kind}: {detail}")
    )
    if win.stop < scenario.n_ticks:
        tl.events[v].append((win.stop * scenario.tick_s, "incident_end", component, inc.kind))


def _lb_in_front(design) -> dict[str, dict]:
    """Map pool id -> params of the load balancer right before it on some route."""
    out: dict[str, dict] = {}
    for route in design.routes.values():
        for a, b in zip(route, route[1:], strict=False):
            comp = design.component(a)
            if comp.type == "load_balancer":
                out[b] = comp.params
    return out
