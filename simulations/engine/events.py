"""Event-log entries derived from the recorded state of replication 0."""

from __future__ import annotations

import numpy as np

from simulations.engine.network import POOL_TYPES
from simulations.engine.result import Event

SATURATED = 0.999  # busy fraction at which a station counts as saturated [-]
MIN_TICKS = 3  # a change must hold this many ticks to be logged (no flicker)


def state_events(
    plan, v: int, util: np.ndarray, instances: np.ndarray, breaker: np.ndarray
) -> list[Event]:
    """Saturation, scaling and circuit-breaker events of variant ``v``.

    Parameters
    ----------
    util : ndarray, shape (n_ticks, S)
        Busy fraction of each station in replication 0 [-].
    instances : ndarray, shape (n_ticks, S)
        Instances in service in replication 0 [instances].
    breaker : ndarray, shape (n_ticks, S)
        1 while a breaker in front of the station is open, replication 0.
    """
    net, tau = plan.net, plan.tick_s
    events: list[Event] = []
    for s, station in enumerate(net.stations):
        if not net.present[v, s]:
            continue
        if not net.delay[s]:
            for start, on in _steady_changes(util[:, s] >= SATURATED):
                kind = "saturation_start" if on else "saturation_end"
                detail = "demand reached capacity" if on else "back under capacity"
                events.append(Event(float(start * tau), kind, station.key, detail))
        state = breaker[:, s]  # 1 open, 0.5 half-open, 0 closed
        before = np.concatenate([[0.0], state[:-1]])
        for t in np.flatnonzero((state == 1.0) & (before != 1.0)):
            events.append(Event(float(t * tau), "breaker_open", station.key, "failing fast"))
        for t in np.flatnonzero((state == 0.0) & (before != 0.0)):
            events.append(Event(float(t * tau), "breaker_close", station.key, "probes succeeded"))
        if station.comp_type in POOL_TYPES and station.role == "main":
            counts = instances[:, s]
            for t in np.flatnonzero(np.diff(counts) != 0) + 1:
                kind = "scale_out" if counts[t] > counts[t - 1] else "scale_in"
                events.append(
                    Event(
                        t * tau, kind, station.key, f"{counts[t - 1]:g} -> {counts[t]:g} instances"
                    )
                )
    return events


def _steady_changes(flags: np.ndarray) -> list[tuple[int, bool]]:
    """Ticks where ``flags`` switches and then holds for ``MIN_TICKS`` (starts False)."""
    changes = []
    current = False
    edges = np.flatnonzero(np.diff(flags.astype(np.int8)) != 0) + 1
    candidates = ([0] if flags[:1].any() else []) + edges.tolist()
    for t in candidates:
        if bool(flags[t]) != current and np.all(flags[t : t + MIN_TICKS] == flags[t]):
            current = bool(flags[t])
            changes.append((t, current))
    return changes
