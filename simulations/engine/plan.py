"""Everything the tick loop needs that does not depend on the state, computed once per run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.engine.cache import Popularity, hit_ratio, zipf_popularity
from simulations.engine.incidents import Timeline, build_timeline
from simulations.engine.network import Network
from simulations.engine.spec import Scenario
from simulations.engine.traffic import draw_arrivals, offered_rates

_WARM_GRID = np.geomspace(1.0, 1e13, 400)  # requests since a flush, for the warm-up curve


@dataclass
class Level:
    """Stations ``[start, stop)`` swept together, with their routing to later stations."""

    start: int
    stop: int
    delay: bool  # every station of the level is a pure delay (no queue)
    svc: np.ndarray  # (V, n, K) mean service times [s]
    svc2: np.ndarray  # (V, n, K) second moments of exponential service times, 2 s^2 [s^2]
    route: np.ndarray | None  # (V, (S - stop) * K, n * K) next-hop distribution
    any_error: np.ndarray  # (n_ticks,) bool: some station of the level fails requests
    pooled: np.ndarray  # (V, n) bool: one shared queue per station
    per_instance: np.ndarray  # (V, n) servers per instance


@dataclass
class Plan:
    scenario: Scenario
    net: Network
    timeline: Timeline
    tick_s: float
    shape: tuple[int, int, int, int]  # (V, S, K, R)
    rates: np.ndarray  # (T, K) expected arrival rate [1/s]
    arrivals: np.ndarray  # (T, K, R) arrival counts [requests]
    ratio: np.ndarray  # (T, K, R) expected / realized count (1 where none arrived)
    entry4: np.ndarray  # (V, S, K, 1)
    cont4: np.ndarray  # (V, S, K, 1)
    levels: list[Level]
    base_servers: np.ndarray  # (V, S) servers per design [-]; inf for pure delays
    qcap_per_instance: np.ndarray  # (V, S)
    hit_steady: np.ndarray  # (T, V, C) steady-state hit ratio [-]
    warm_hit: np.ndarray  # (C_grid,) hit ratio after r requests since a flush, on _WARM_GRID
    popularity: Popularity

    @property
    def n_ticks(self) -> int:
        return self.scenario.n_ticks


def build_plan(scenario: Scenario, net: Network, replications: int, seed: int) -> Plan:
    """Draw the random inputs and precompute state-independent arrays.

    Notes
    -----
    All randomness comes from one ``np.random.Generator(PCG64(SeedSequence(seed)))`` and is
    drawn per replication only, then broadcast over variants, so every variant sees the same
    arrivals (common random numbers). The draws depend on the scenario and ``replications``,
    never on the designs.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    n_v, n_s, n_k = len(net.designs), net.n_stations, len(net.classes)
    rates = offered_rates(scenario, net.classes)
    arrivals = draw_arrivals(rng, rates, scenario.tick_s, scenario.burstiness, replications)
    expected = rates[:, :, None] * scenario.tick_s
    ratio = np.where(arrivals > 0, expected / np.maximum(arrivals, 1.0), 1.0)
    timeline = build_timeline(scenario, net)
    base = net.instances * net.per_instance
    base = np.where(net.delay[None, :], np.inf, base)
    levels = []
    for start, stop in net.levels:
        route = None
        if stop < n_s:
            full = net.route.reshape(n_v, n_s, n_k, n_s, n_k)
            sub = full[:, stop:, :, start:stop, :].reshape(
                n_v, (n_s - stop) * n_k, (stop - start) * n_k
            )
            route = np.ascontiguousarray(sub) if sub.any() else None
        any_error = timeline.error[:, :, start:stop].any(axis=(1, 2))
        levels.append(
            Level(
                start,
                stop,
                bool(net.delay[start:stop].all()),
                net.svc[:, start:stop],
                2.0 * net.svc[:, start:stop] ** 2,
                route,
                any_error,
                net.pooled[:, start:stop],
                net.per_instance[:, start:stop],
            )
        )
    popularity = zipf_popularity(scenario.keys, scenario.zipf_s)
    hit_steady = _steady_hit_ratios(scenario, net, timeline, rates, popularity)
    warm_hit = np.sum(
        popularity.count * popularity.prob * -np.expm1(-popularity.prob * _WARM_GRID[:, None]),
        axis=1,
    )
    return Plan(
        scenario=scenario,
        net=net,
        timeline=timeline,
        tick_s=scenario.tick_s,
        shape=(n_v, n_s, n_k, replications),
        rates=rates,
        arrivals=arrivals,
        ratio=ratio,
        entry4=net.entry[..., None],
        cont4=net.cont[..., None],
        levels=levels,
        base_servers=base,
        qcap_per_instance=net.qcap_per_instance,
        hit_steady=hit_steady,
        warm_hit=warm_hit,
        popularity=popularity,
    )


def warm_hit_ratio(plan: Plan, requests_since_flush: np.ndarray) -> np.ndarray:
    """Hit ratio of a cache that has seen ``r`` requests since it was emptied [-].

    Notes
    -----
    After r requests the cache holds every key requested at least once, so the next request
    hits with probability sum_i p_i (1 - exp(-p_i r)) (Poisson approximation). The warm-up
    curve is capped by the steady-state (Che, TTL) ratio.
    """
    return np.interp(
        np.log(np.maximum(requests_since_flush, 1.0)), np.log(_WARM_GRID), plan.warm_hit
    )


def rewind_warmup(plan: Plan, hit: np.ndarray) -> np.ndarray:
    """Inverse of :func:`warm_hit_ratio`: requests since a flush that give ``hit`` [requests]."""
    return np.exp(np.interp(hit, plan.warm_hit, np.log(_WARM_GRID)))


def _steady_hit_ratios(scenario, net, timeline, rates, popularity) -> np.ndarray:
    n_t, n_v = rates.shape[0], len(net.designs)
    out = np.zeros((n_t, n_v, len(net.caches)))
    visits = _visits(net)  # (V, S, K) expected visits per external request, caches missed
    for c, s in enumerate(net.caches):
        station = net.stations[s]
        for v, design in enumerate(net.designs):
            if not net.present[v, s]:
                continue
            params = design.component(station.component).params
            if station.comp_type == "cache":
                items = params["memory_gb"] * 1e6 / params["item_kb"]
            else:
                items = params["cache_gb"] * 1e6 / params["item_kb"]
            rate = rates @ visits[v, s]  # (T,) requests per second reaching the cache
            capacity = timeline.capacity[:, v, c]
            for level in np.unique(capacity):
                ticks = capacity == level
                out[ticks, v, c] = hit_ratio(
                    popularity, items * level, params["ttl_s"], rate[ticks]
                )
    return out


def _visits(net: Network) -> np.ndarray:
    """Expected visits of each station per external request of each class (no cache hits)."""
    n_v, n_s, n_k = net.entry.shape
    flow = net.entry.reshape(n_v, n_s * n_k).copy()
    total = flow.copy()
    for _ in range(n_s):
        flow = np.einsum("vij,vj->vi", net.route, flow)
        if not flow.any():
            break
        total += flow
    return total.reshape(n_v, n_s, n_k)
