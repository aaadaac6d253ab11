"""Call-edge policies compiled to per-station arrays: timeouts, retries, breakers, limiters.

A policy on the edge ``X -> Y`` governs calls into Y's stations (the model routes every call
into Y through its route predecessors, so "calls from X" are Y's arrivals). Each array below is
shaped ``(V, S)`` (variants, stations) unless noted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_RETRY_TICKS = 600  # retry delays are capped at this many ticks
VISIBILITY_TIMEOUT_S = 30.0  # a failed job reappears in its queue after this long [s]


@dataclass
class Policies:
    timeout_s: np.ndarray  # caller gives up after [s]; inf = no timeout
    attempts: np.ndarray  # max attempts including the first [-] (1 = no retries)
    idempotent: np.ndarray  # bool: retried writes carry an idempotency key
    kernel: np.ndarray  # (A-1, 2, H, V, S) share of attempt a's retries sent h ticks later,
    #                     for timeouts (0) and fast failures (1)
    breaker: np.ndarray  # bool: a circuit breaker guards the station
    breaker_rate: np.ndarray  # error fraction that opens it [-]
    breaker_open_ticks: np.ndarray  # ticks it stays open
    breaker_probes: np.ndarray  # requests let through when half-open
    breaker_min: np.ndarray  # arrivals per tick before the error rate counts
    pool_of: list[list[tuple[int, int, float]]]  # [v] -> (callee station, caller station, size)
    bulkhead_of: list[list[tuple[int, int, float]]]  # same, for bulkheads
    limiter_rate: np.ndarray  # token refill [1/s]; nan = not a limiter
    limiter_burst: np.ndarray  # bucket size [requests]
    budget: np.ndarray  # retries allowed per first attempt [-]; inf = unlimited
    dead_letter: np.ndarray  # bool: a worker pool whose jobs end in a dead-letter queue

    @property
    def horizon(self) -> int:
        return self.kernel.shape[2]

    @property
    def max_attempts(self) -> int:
        return int(self.attempts.max()) if self.attempts.size else 1


def compile_policies(net, tick_s: float) -> Policies:
    """Collect edge policies and rate limiters of every variant into station arrays."""
    n_v, n_s = len(net.designs), net.n_stations
    timeout = np.full((n_v, n_s), np.inf)
    attempts = np.ones((n_v, n_s), dtype=np.int64)
    idempotent = np.zeros((n_v, n_s), bool)
    backoff = np.zeros((n_v, n_s))
    jitter = np.zeros((n_v, n_s), bool)
    breaker = np.zeros((n_v, n_s), bool)
    b_rate, b_ticks = np.ones((n_v, n_s)), np.ones((n_v, n_s))
    b_probes, b_min = np.ones((n_v, n_s)), np.ones((n_v, n_s))
    lim_rate, lim_burst = np.full((n_v, n_s), np.nan), np.full((n_v, n_s), np.nan)
    budget = np.full((n_v, n_s), np.inf)
    dead_letter = np.zeros((n_v, n_s), bool)
    pools: list[list[tuple[int, int, float]]] = [[] for _ in range(n_v)]
    bulkheads: list[list[tuple[int, int, float]]] = [[] for _ in range(n_v)]
    stations_of: dict[str, list[int]] = {}
    for i, st in enumerate(net.stations):
        stations_of.setdefault(st.component, []).append(i)
    for v, design in enumerate(net.designs):
        for comp in design.components:
            if comp.type == "rate_limiter":
                s = stations_of[comp.id][0]
                lim_rate[v, s] = comp.params["rate_rps"]
                burst = comp.params.get("burst")
                lim_burst[v, s] = burst if burst is not None else comp.params["rate_rps"]
            if comp.type == "worker_pool":
                # a failed job goes back to the queue and is received again after the
                # visibility timeout (doubled per receive, like a backing-off consumer), up to
                # max_receives times; then it is dead-lettered
                s = stations_of[comp.id][0]
                attempts[v, s] = comp.params["max_receives"]
                backoff[v, s] = VISIBILITY_TIMEOUT_S
                dead_letter[v, s] = True
        for edge in design.edges:
            caller = stations_of[edge.source][0]
            for s in stations_of[edge.target]:
                if edge.timeout_ms is not None:
                    timeout[v, s] = edge.timeout_ms / 1000.0
                if edge.retries:
                    attempts[v, s] = edge.retries["max_attempts"]
                    backoff[v, s] = edge.retries["backoff_ms"] / 1000.0
                    jitter[v, s] = edge.retries["jitter"]
                    if edge.retries.get("budget") is not None:
                        budget[v, s] = edge.retries["budget"]
                idempotent[v, s] = edge.idempotency_keys
                if edge.circuit_breaker:
                    cb = edge.circuit_breaker
                    breaker[v, s] = True
                    b_rate[v, s] = cb["error_rate"]
                    b_ticks[v, s] = max(1, int(np.ceil(cb["open_s"] / tick_s)))
                    b_probes[v, s] = cb["half_open_probes"]
                    b_min[v, s] = cb["min_calls"]
                if edge.pool_size is not None:
                    pools[v].append((s, caller, float(edge.pool_size)))
                if edge.bulkhead is not None:
                    bulkheads[v].append((s, caller, float(edge.bulkhead)))
    kernel = retry_kernel(timeout, attempts, backoff, jitter, tick_s)
    return Policies(
        timeout,
        attempts,
        idempotent,
        kernel,
        breaker,
        b_rate,
        b_ticks,
        b_probes,
        b_min,
        pools,
        bulkheads,
        lim_rate,
        lim_burst,
        budget,
        dead_letter,
    )


def retry_kernel(timeout, attempts, backoff, jitter, tick_s: float) -> np.ndarray:
    """When the retries of failed attempts are sent, as shares per tick offset.

    Returns
    -------
    ndarray, shape (A - 1, 2, H, V, S)
        For attempt a (0-based) failing by timeout (index 0, noticed after the timeout) or
        fast (index 1, noticed at once), the share of its retry sent h ticks later [-].

    Notes
    -----
    Retry a + 1 waits backoff_ms x 2^a after the failure is noticed; with full jitter it waits
    a uniform time in [0, backoff_ms x 2^a] (Brooker, "Exponential backoff and jitter", AWS
    Architecture Blog, 2015). A retry is sent at least one tick later (the tick of the failure
    is already decided).
    """
    n_a = max(1, int(attempts.max()) - 1)
    finite_timeout = np.where(np.isfinite(timeout), timeout, 0.0)
    longest = (finite_timeout + backoff * 2.0 ** (n_a - 1)).max() if timeout.size else 0.0
    horizon = int(min(MAX_RETRY_TICKS, np.ceil(longest / tick_s) + 2))
    kernel = np.zeros((n_a, 2, horizon, *timeout.shape))
    edges = np.arange(horizon + 1) - 0.5  # tick h covers offsets [h - 0.5, h + 0.5) [ticks]
    for a in range(n_a):
        wait = backoff * 2.0**a / tick_s
        for kind, noticed in enumerate((finite_timeout / tick_s, np.zeros_like(timeout))):
            lo = np.minimum(noticed, horizon - 1)
            hi = np.minimum(noticed + np.where(jitter, wait, 0.0), horizon - 1)
            fixed = np.minimum(noticed + wait, horizon - 1)
            spread = np.clip(
                (np.minimum(edges[1:, None, None], hi) - np.maximum(edges[:-1, None, None], lo))
                / np.maximum(hi - lo, 1e-12),
                0.0,
                1.0,
            )
            point = np.abs(np.arange(horizon)[:, None, None] - np.round(fixed)) < 0.5
            share = np.where(jitter & (hi > lo), spread, point.astype(float))
            share[1] += share[0]  # nothing is re-sent in the tick that failed
            share[0] = 0.0
            share /= np.maximum(share.sum(axis=0, keepdims=True), 1e-12)
            kernel[a, kind] = share
    return kernel
